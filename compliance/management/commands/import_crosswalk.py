from django.core.management.base import CommandError

from audit.commands import AuditedCommand
from compliance.services import crosswalk_file_import
from core.errors import InvalidInput

from ._agency import agency_named


class Command(AuditedCommand):
    help = (
        "Import crosswalk rows (control ↔ control) from a CSV or YAML file "
        "(docs/compliance-import.md). With --agency they are that agency's own; without, "
        "reference rows. All or nothing; importing again updates, never duplicates."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--agency", metavar="ABBR")

    def handle(self, *args, files, agency, **options):
        owner = None
        if agency:
            owner = agency_named(agency)
        for file in files:
            try:
                result = crosswalk_file_import(source=file, agency=owner)
            except (InvalidInput, OSError) as exc:
                raise CommandError(f"{file}: {exc}") from exc
            self.stdout.write(f"{file}: {result}")
