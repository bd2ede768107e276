from django.core.management.base import CommandError

from audit.commands import AuditedCommand
from compliance.services import oscal_import, shipped_crosswalk_load
from core.errors import InvalidInput


class Command(AuditedCommand):
    help = (
        "Import OSCAL JSON: a catalog (its framework and every control and enhancement) or a "
        "profile (a baseline of an imported framework). Importing again updates, never "
        "duplicates; a malformed file changes nothing and the error names the JSON path."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="OSCAL catalog or profile")
        parser.add_argument(
            "--framework", help="framework name (default: the title, less any baseline level)"
        )
        parser.add_argument(
            "--framework-version", help="framework version (default: metadata.version)"
        )
        parser.add_argument(
            "--licence-note", help="what of the framework's text may be shown (catalogs only)"
        )

    def handle(self, *args, files, framework, framework_version, licence_note, **options):
        # Each file is all-or-nothing on its own; give catalogs before the profiles using them.
        for file in files:
            try:
                result = oscal_import(
                    path_or_file=file,
                    framework_name=framework,
                    framework_version=framework_version,
                    licence_note=licence_note,
                )
            except (InvalidInput, OSError) as exc:
                raise CommandError(f"{file}: {exc}") from exc
            self.stdout.write(f"{file}: {result}")
        # The shipped crosswalk's rows to NIST SP 800-53 can be stored once its catalog is.
        crosswalk = shipped_crosswalk_load()
        if crosswalk.created or crosswalk.updated:
            self.stdout.write(f"Shipped crosswalk: {crosswalk}")
