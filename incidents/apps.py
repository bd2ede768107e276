from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        # Its tasks, so services can queue them by name (incidents.ingest.GROUP_TASK).
        from . import tasks  # noqa: F401 (Django app loading: models are ready)
