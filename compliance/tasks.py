"""Celery tasks of the compliance app. They only call services."""

from celery import shared_task

from .risk.services import snapshot_job_run


@shared_task(name="compliance.tasks.take_snapshot", ignore_result=True)
def take_snapshot(job_id: int) -> str | None:
    """Take the compliance snapshot a job row asks for (``snapshot_job_run``): queued when
    the act commits, and again by the job sweep if the message was lost. Idempotent."""
    job = snapshot_job_run(job_id=job_id)
    return job.state if job is not None else None
