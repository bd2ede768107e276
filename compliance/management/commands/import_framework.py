from django.core.management.base import CommandError

from audit.commands import AuditedCommand
from compliance.services import (
    framework_file_import,
    shipped_crosswalk_load,
    shipped_frameworks_load,
)
from core.errors import InvalidInput

from ._agency import agency_named


class Command(AuditedCommand):
    help = (
        "Import a framework from a CSV or YAML file (docs/compliance-import.md), the format told "
        "by the extension or the content. With --agency it is that agency's licensed framework, "
        "seen by it alone; without, reference data every agency sees. All or nothing; importing "
        "again updates, never duplicates. --shipped reloads Docket's own skeletons and crosswalk."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", metavar="FILE")
        parser.add_argument("--agency", metavar="ABBR", help="the licensing agency")
        parser.add_argument(
            "--shipped", action="store_true", help="(re)load the skeletons Docket ships"
        )

    def handle(self, *args, files, agency, shipped, **options):
        if not files and not shipped:
            raise CommandError("Name a FILE to import, or --shipped.")
        owner = None
        if agency:
            owner = agency_named(agency)
        if shipped:
            for result in shipped_frameworks_load():
                self.stdout.write(f"shipped: {result}")
            self.stdout.write(f"shipped crosswalk: {shipped_crosswalk_load()}")
        for file in files:
            try:
                result = framework_file_import(source=file, agency=owner)
            except (InvalidInput, OSError) as exc:
                raise CommandError(f"{file}: {exc}") from exc
            self.stdout.write(f"{file}: {result}")
