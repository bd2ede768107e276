from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = "Evidence"

    def ready(self) -> None:
        # Importing the module registers capture decoding's event subscriber and job sweep.
        # Its tasks too, so services can queue them by name (core.jobs.enqueue_on_commit).
        from . import captures, tasks  # noqa: F401 (Django app loading: models are ready)
