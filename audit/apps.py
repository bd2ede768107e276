from django.apps import AppConfig
from django.db.models.signals import post_migrate

# Importing core.signing registers its deploy check (a signing key in production).
from core import signing  # noqa: F401


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        # core.append_only defines an abstract model: importable only once apps are loaded.
        from core.append_only import install_triggers

        # After every migrate, once: the append-only tables of every app refuse UPDATE, DELETE
        # and TRUNCATE in the database itself (PostgreSQL and SQLite).
        post_migrate.connect(
            install_triggers, sender=self, dispatch_uid="docket-append-only-triggers"
        )
