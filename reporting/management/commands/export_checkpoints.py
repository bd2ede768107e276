"""``manage.py export_checkpoints --out FILE``: every signed checkpoint as JSON lines, after a
header holding the public keys that verify them — the copy to send where the database's
administrators cannot write (an Inspector General, a write-once bucket). ``verify_audit
--checkpoints FILE`` and ``verify_ledger --checkpoints FILE`` check the database against it."""

import os

from django.core.management.base import CommandError

from audit.checkpoints import export_lines
from audit.commands import AuditedCommand
from audit.models import Checkpoint
from audit.trail import record


class Command(AuditedCommand):
    help = "Write every signed checkpoint, with the public keys, to FILE as JSON lines."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, metavar="FILE")

    def handle(self, *args, **options):
        path = options["out"]
        tmp = f"{path}.partial"
        count = 0
        try:
            with open(tmp, "w", encoding="utf-8") as out:
                for n, line in enumerate(
                    export_lines(Checkpoint.objects.order_by("pk").iterator())
                ):
                    out.write(line + "\n")
                    count = n
            os.replace(tmp, path)
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror or exc}") from exc
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        record(
            "export_checkpoints",
            agency=None,
            subject_type="audit.Checkpoint",
            subject_ref=f"{count} checkpoint(s) to {os.path.abspath(path)}",
        )
        self.stdout.write(f"{count} checkpoint(s) written to {path}.")
