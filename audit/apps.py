from django.apps import AppConfig
from django.db.models.signals import post_migrate

# Importing core.signing registers its deploy check (a signing key in production).
from core import signing  # noqa: F401
from core.errors import observe

from .context import note_error


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        # Imported here: the task hooks write entries, whose models load after the apps;
        # core.append_only defines an abstract model, importable only once apps are loaded.
        from celery.signals import task_postrun, task_prerun

        from core.append_only import install_triggers

        from . import tasks_context

        observe(note_error)
        task_prerun.connect(tasks_context.task_started, weak=False)
        task_postrun.connect(tasks_context.task_finished, weak=False)
        # After every migrate, once: the append-only tables of every app refuse UPDATE, DELETE
        # and TRUNCATE in the database itself (PostgreSQL and SQLite).
        post_migrate.connect(
            install_triggers, sender=self, dispatch_uid="docket-append-only-triggers"
        )
