"""``manage.py create_ingest_token --agency FTA [--name falco-prod]``: issue an ingest token.

The plain token is printed once, alone on the last line (so ``| tail -n 1`` captures it), and
cannot be read back: only its sha256 is stored."""

from django.core.management.base import CommandError
from django.db import transaction

from accounts.models import Agency, IngestToken
from audit.commands import AuditedCommand
from audit.trail import record


class Command(AuditedCommand):
    help = "Issue an ingest token for an agency; prints the token alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--agency", required=True, help="Agency abbreviation, e.g. FTA.")
        parser.add_argument(
            "--name", default="falco", help="What will post with it (default: falco)."
        )

    def handle(self, *args, agency, name, **options):
        found = Agency.objects.filter(abbreviation=agency.strip().upper()).first()
        if found is None:
            raise CommandError(f"No agency with abbreviation {agency!r}.")
        name = name.strip()
        if not name:
            raise CommandError("--name cannot be empty.")
        with transaction.atomic():
            row, plain = IngestToken.issue(agency=found, name=name)
            record("ingest_token_issue", agency=found, subject=row)
        self.stdout.write(
            f"Ingest token {row.name!r} (id {row.pk}) for {found.abbreviation}. "
            "It is shown once; send it as 'Authorization: Bearer <token>' to "
            "/api/v1/ingest/falco:"
        )
        self.stdout.write(plain)
