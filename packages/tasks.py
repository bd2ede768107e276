"""Celery tasks of the packages app. They only call services."""

from celery import shared_task

from .services import package_build_run


@shared_task(name="packages.tasks.build_package", ignore_result=True)
def build_package(job_id: int) -> str | None:
    """Build the package a job row asks for (``package_build_run``): queued when the request
    commits, and again by the job sweep if the message was lost. Idempotent."""
    package = package_build_run(job_id=job_id)
    return package.state if package is not None else None
