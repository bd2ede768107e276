"""``manage.py verify_evidence``: re-hash every stored evidence file against the SHA-256
recorded at upload. Prints OK or FAILED per item; exits non-zero when any failed."""

from django.core.management.base import CommandError

from audit.commands import AuditedCommand
from evidence.services import evidence_verify_all


class Command(AuditedCommand):
    help = "Re-hash every stored evidence file and report mismatches (exit 1 on any)."

    def handle(self, *args, **options):
        results = evidence_verify_all()
        for result in results:
            style = self.style.SUCCESS if result.ok else self.style.ERROR
            self.stdout.write(style(result.line()))
        failed = sum(1 for r in results if not r.ok)
        if failed:
            raise CommandError(f"{failed} of {len(results)} evidence item(s) FAILED verification.")
        self.stdout.write(f"{len(results)} evidence item(s) verified.")
