"""Management commands act as "command <name>" in the audit trail (PCI DSS 10.2.2's "who"
for acts not done through a page): every Docket command derives from ``AuditedCommand``."""

from __future__ import annotations

import getpass
import os
import socket

from django.core.management.base import BaseCommand, CommandError

from .checkpoints import ExportError, read_export
from .context import act_context
from .trail import flush_refusals


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "")


class AuditedCommand(BaseCommand):
    """A command whose acts are entries by "command <name>", from this host, as the
    operating-system user who ran it."""

    def execute(self, *args, **options):
        name = self.__module__.rsplit(".", 1)[-1]
        operator = _operator()
        label = f"command {name}" + (f" (run by {operator})" if operator else "")
        with act_context(
            actor_label=label, address="", user_agent=f"manage.py on {socket.gethostname()}"
        ) as ctx:
            try:
                return super().execute(*args, **options)
            finally:
                flush_refusals(ctx)


class ChainCheckCommand(AuditedCommand):
    """A command that checks hash chains against the signed checkpoints: those kept in the
    database, or with ``--checkpoints FILE`` those of a copy ``export_checkpoints`` wrote."""

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoints",
            metavar="FILE",
            help="Check against this exported copy of the checkpoints instead of the database's.",
        )

    def checkpoints_copy(self, options):
        """The exported copy named by ``--checkpoints`` (None: the database's own)."""
        if not options["checkpoints"]:
            return None
        try:
            return read_export(options["checkpoints"])
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
