from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        # Importing core.signing registers its deploy check (a key in production).
        from core import signing  # noqa: F401 (Django app loading: checks are registered here)
