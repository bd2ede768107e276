"""``manage.py extract_commands EVIDENCE_ID [...]``: (re)decode the commands executed in scap
evidence items with sysdig, now, and print the outcome of each. Idempotent: a second run
replaces the item's commands with the same ones. Exits non-zero when an extraction failed."""

from __future__ import annotations

from django.core.management.base import CommandError

from audit.commands import AuditedCommand
from core.errors import DocketError
from evidence.captures import capture_commands_extract
from incidents.models import ExtractionStatus


class Command(AuditedCommand):
    help = "Decode the commands executed in scap evidence items with sysdig and store them."

    def add_arguments(self, parser):
        parser.add_argument("evidence_ids", nargs="+", type=int, metavar="EVIDENCE_ID")

    def handle(self, *args, evidence_ids, **options):
        failed = 0
        for pk in evidence_ids:
            try:
                extraction = capture_commands_extract(evidence_id=pk)
            except DocketError as exc:
                self.stderr.write(f"evidence {pk}: {exc.message}")
                failed += 1
                continue
            if extraction.status == ExtractionStatus.SUCCEEDED:
                self.stdout.write(
                    f"evidence {pk}: {extraction.commands} command(s) ({extraction.tool})."
                )
            else:
                self.stderr.write(f"evidence {pk}: FAILED: {extraction.error}")
                failed += 1
        if failed:
            raise CommandError(f"{failed} of {len(evidence_ids)} extraction(s) failed.")
