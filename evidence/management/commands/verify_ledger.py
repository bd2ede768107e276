"""``manage.py verify_ledger``: walk every evidence item's custody chain (sequence, links,
entry hashes). Prints OK or FAILED per item; exits non-zero when any chain is broken."""

from django.core.management.base import CommandError

from audit.commands import AuditedCommand
from evidence.services import ledger_verify


class Command(AuditedCommand):
    help = "Walk every custody chain and report breaks (exit 1 on any)."

    def handle(self, *args, **options):
        results = ledger_verify()
        for result in results:
            style = self.style.SUCCESS if result.ok else self.style.ERROR
            self.stdout.write(style(result.line()))
        failed = sum(1 for r in results if not r.ok)
        if failed:
            raise CommandError(f"{failed} of {len(results)} custody chain(s) are broken.")
        self.stdout.write(f"{len(results)} custody chain(s) hold.")
