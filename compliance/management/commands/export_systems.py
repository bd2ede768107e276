from audit.commands import AuditedCommand
from compliance.services import operator_context, systems_export_csv

from ._agency import agency_named


class Command(AuditedCommand):
    help = "Write the agency's system inventory as CSV (what import_systems reads) to stdout."

    def add_arguments(self, parser):
        parser.add_argument("--agency", metavar="ABBR", required=True)
        parser.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")

    def handle(self, *args, agency, out, **options):
        body = systems_export_csv(ctx=operator_context(agency_named(agency)))
        if out:
            with open(out, "w", encoding="utf-8", newline="") as fh:
                fh.write(body)
        else:
            self.stdout.write(body, ending="")
