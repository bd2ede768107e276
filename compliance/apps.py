from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance state"

    def ready(self) -> None:
        # Importing the module registers its domain-event subscriber and job sweep.
        # Its tasks too, so services can queue them by name (core.jobs.enqueue_on_commit).
        from . import tasks  # noqa: F401 (Django app loading: models are ready)
        from .risk import services  # noqa: F401 (Django app loading: models are ready)
