"""``manage.py checkpoint``: sign the head of every audit chain and every custody chain that
moved since its last checkpoint (beat does it every hour). A chain whose new entries do not
verify from its last checkpoint is not signed; it is named and the command exits non-zero."""

from django.core.management.base import CommandError

from audit.commands import AuditedCommand
from core.signing import SigningKeyMissing
from reporting.integrity import checkpoint_all


class Command(AuditedCommand):
    help = "Sign the head of every audit and custody chain that moved (exit 1 if one is broken)."

    def handle(self, *args, **options):
        try:
            run = checkpoint_all()
        except SigningKeyMissing as exc:
            raise CommandError(str(exc)) from exc
        for cp in run.made:
            self.stdout.write(f"signed {cp.kind} {cp.chain} at {cp.length} entries ({cp.key_id})")
        for chain, problems in run.refused.items():
            self.stdout.write(self.style.ERROR(f"NOT SIGNED {chain}: {'; '.join(problems)}"))
        self.stdout.write(
            f"{len(run.made)} checkpoint(s) made, {run.unchanged} chain(s) unchanged."
        )
        if run.refused:
            raise CommandError(f"{len(run.refused)} chain(s) are broken and were not signed.")
