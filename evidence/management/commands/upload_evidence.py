"""``manage.py upload_evidence INCIDENT FILE --kind KIND --user USERNAME``: the same upload as
the API (streamed, hashed, validated, custody recorded), acting as USERNAME."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from accounts.context import AgencyContextError, resolve
from audit.commands import AuditedCommand
from core.errors import DocketError, NotFound
from core.time import parse_instant
from evidence.models import Kind
from evidence.services import evidence_upload
from incidents.models import Incident
from incidents.selectors import visible_incident


class Command(AuditedCommand):
    help = "Upload a file as evidence of an incident, acting as a user."

    def add_arguments(self, parser):
        parser.add_argument("incident", help="Incident number, e.g. FTA-2026-0001.")
        parser.add_argument("file", type=Path)
        parser.add_argument("--kind", required=True, choices=Kind.values)
        parser.add_argument("--user", required=True, help="Username of the uploader.")
        parser.add_argument("--agency", help="Agency abbreviation, when the user has several.")
        parser.add_argument("--collected-at", help="ISO 8601 with offset.")
        parser.add_argument("--source", default="", help="Where it came from (host, container…).")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user {options['user']!r}.")
        try:
            ctx = resolve(user, abbreviation=options["agency"])
        except AgencyContextError as exc:
            raise CommandError(str(exc)) from exc
        try:
            incident = visible_incident(
                ctx, options["incident"], Incident.objects.select_related("agency")
            )
        except NotFound:
            raise CommandError(f"No incident {options['incident']} visible to {user}.") from None
        collected_at = None
        if options["collected_at"]:
            # As the API reads times: an offset, or a zone name (DST-safe); never a guess.
            try:
                collected_at = parse_instant(options["collected_at"])
            except ValueError as exc:  # an impossible date, a skipped or repeated wall time
                raise CommandError(f"--collected-at: {exc}.") from exc
            if collected_at is None:
                raise CommandError(
                    "--collected-at must be ISO 8601 with a UTC offset, or a time followed by "
                    "a zone name (2026-06-01 08:00 America/New_York)."
                )
        path: Path = options["file"]
        try:
            with path.open("rb") as fh:
                evidence = evidence_upload(
                    ctx=ctx,
                    incident=incident,
                    fileobj=fh,
                    filename=path.name,
                    kind=options["kind"],
                    declared_size=path.stat().st_size,
                    collected_at=collected_at,
                    source=options["source"],
                )
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        except DocketError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Evidence {evidence.pk}: {evidence.detected_format} {evidence.size} bytes "
            f"sha256 {evidence.sha256}"
        )
