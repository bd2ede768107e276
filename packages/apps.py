from django.apps import AppConfig


class PackagesConfig(AppConfig):
    name = "packages"
    verbose_name = "Evidence packages"

    def ready(self) -> None:
        # Importing the services registers the build job's sweep; the tasks module registers
        # the Celery task the services queue by name (core.jobs.enqueue_on_commit).
        from . import services, tasks  # noqa: F401 (Django app loading: models are ready)
