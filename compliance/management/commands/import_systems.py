from django.core.management.base import CommandError

from audit.commands import AuditedCommand
from compliance.services import systems_file_import
from core.errors import InvalidInput

from ._agency import agency_named


class Command(AuditedCommand):
    help = (
        "Import the agency's system inventory from CSV (the columns export_systems writes; see "
        "docs/compliance-import.md). Systems are matched by acronym; all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--agency", metavar="ABBR", required=True)

    def handle(self, *args, file, agency, **options):
        owner = agency_named(agency)
        try:
            result = systems_file_import(source=file, agency=owner)
        except (InvalidInput, OSError) as exc:
            raise CommandError(f"{file}: {exc}") from exc
        self.stdout.write(f"{file}: {result}")
