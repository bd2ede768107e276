from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "Reporting clocks"

    def ready(self) -> None:
        # Importing the modules registers their domain-event subscribers (core.events) and the
        # render jobs' sweep (reporting.reports, through the tasks module).
        from . import rules, subscribers, tasks  # noqa: F401 (Django app loading: models are ready)
