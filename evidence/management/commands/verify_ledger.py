"""``manage.py verify_ledger [--checkpoints FILE]``: walk every evidence item's custody chain
(sequence, links, entry hashes) and check it against the signed checkpoints — those kept in
the database, or those of a copy ``export_checkpoints`` wrote (what an Inspector General holds).
Prints OK or FAILED per chain; exits non-zero when any is broken."""

from django.core.management.base import CommandError

from audit.commands import ChainCheckCommand
from evidence.services import ledger_verify


class Command(ChainCheckCommand):
    help = "Walk every custody chain, check it against its signed checkpoints (exit 1 on a break)."

    def handle(self, *args, **options):
        copy = self.checkpoints_copy(options)
        results = ledger_verify(copy)
        for result in results:
            style = self.style.SUCCESS if result.ok else self.style.ERROR
            self.stdout.write(style(result.line()))
        failed = sum(1 for r in results if not r.ok)
        if failed:
            raise CommandError(f"{failed} of {len(results)} custody chain(s) are broken.")
        self.stdout.write(f"{len(results)} custody chain(s) hold.")
