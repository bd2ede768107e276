"""``manage.py verify_ledger [--checkpoints FILE]``: walk every evidence item's custody chain
(sequence, links, entry hashes) and check it against the signed checkpoints — those kept in
the database, or those of a copy ``export_checkpoints`` wrote (what an Inspector General holds).
Prints OK or FAILED per chain; exits non-zero when any is broken."""

from django.core.management.base import CommandError

from audit.checkpoints import ExportError, read_export
from audit.commands import AuditedCommand
from evidence.services import ledger_verify


class Command(AuditedCommand):
    help = "Walk every custody chain, check it against its signed checkpoints (exit 1 on a break)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoints",
            metavar="FILE",
            help="Check against this exported copy of the checkpoints instead of the database's.",
        )

    def handle(self, *args, **options):
        copy = None
        if options["checkpoints"]:
            try:
                copy = read_export(options["checkpoints"])
            except ExportError as exc:
                raise CommandError(str(exc)) from exc
        results = ledger_verify(copy)
        for result in results:
            style = self.style.SUCCESS if result.ok else self.style.ERROR
            self.stdout.write(style(result.line()))
        failed = sum(1 for r in results if not r.ok)
        if failed:
            raise CommandError(f"{failed} of {len(results)} custody chain(s) are broken.")
        self.stdout.write(f"{len(results)} custody chain(s) hold.")
