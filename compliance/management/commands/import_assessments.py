from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from accounts.context import AgencyContextError
from audit.commands import AuditedCommand
from compliance.services import assessments_file_import, operator_context
from core.errors import DocketError

from ._agency import agency_named


class Command(AuditedCommand):
    help = (
        "Record control assessments in bulk from CSV or OSCAL assessment results (JSON); see "
        "docs/compliance-import.md. All or nothing; rows already recorded are not repeated."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--agency", metavar="ABBR", required=True)
        parser.add_argument(
            "--user", metavar="USERNAME", help="record as this user (default: the operator)"
        )
        parser.add_argument("--system", metavar="ACRONYM", help="OSCAL: the system assessed")
        parser.add_argument("--framework", metavar="NAME", help="OSCAL: the framework")

    def handle(self, *args, file, agency, user, system, framework, **options):
        owner = agency_named(agency)
        account = None
        if user:
            account = get_user_model().objects.filter(username=user).first()
            if account is None:
                raise CommandError(f"No user {user!r}.")
        try:
            ctx = operator_context(owner, account)
            result = assessments_file_import(
                source=file, ctx=ctx, system=system, framework=framework
            )
        except (DocketError, AgencyContextError, OSError) as exc:
            raise CommandError(f"{file}: {exc}") from exc
        self.stdout.write(f"{file}: {result}")
