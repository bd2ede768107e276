"""``manage.py verify_audit [--checkpoints FILE]``: check every agency's audit chain (links,
entry hashes, its head) against the signed checkpoints — the database's, or those of a copy
``export_checkpoints`` wrote — and every obligation's due time against the clock service.
Prints OK or FAILED per chain and each broken due time; exits non-zero on any break."""

from django.core.management.base import CommandError

from audit.checkpoints import verify_audit_chains
from audit.commands import ChainCheckCommand
from reporting.integrity import due_time_problems


class Command(ChainCheckCommand):
    help = "Check every audit chain against its checkpoints and every due time (exit 1 on a break)."

    def handle(self, *args, **options):
        copy = self.checkpoints_copy(options)
        reports = verify_audit_chains(copy)
        for report in reports:
            style = self.style.SUCCESS if report.ok else self.style.ERROR
            self.stdout.write(style(report.line()))
        due = due_time_problems()
        for problem in due:
            self.stdout.write(self.style.ERROR(problem.line()))
        failed = [r for r in reports if not r.ok]
        if failed or due:
            raise CommandError(
                f"{len(failed)} of {len(reports)} audit chain(s) are broken; "
                f"{len(due)} obligation due time(s) were changed outside the clock service."
            )
        self.stdout.write(f"{len(reports)} audit chain(s) hold; every due time matches its rule.")
