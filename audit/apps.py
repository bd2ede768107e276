from django.apps import AppConfig

# Importing core.signing registers its deploy check (a signing key in production).
from core import signing  # noqa: F401
from core.errors import observe

from .context import note_error


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        # Imported here: the task hooks write entries, whose models load after the apps.
        from celery.signals import task_postrun, task_prerun

        from . import tasks_context

        observe(note_error)
        task_prerun.connect(tasks_context.task_started, weak=False)
        task_postrun.connect(tasks_context.task_finished, weak=False)
