"""Celery tasks of the reporting app. They only call services."""

from celery import shared_task

from . import integrity, reminders, reports


@shared_task(name="reporting.tasks.send_due_reminders", ignore_result=True, expires=300)
def send_due_reminders() -> int:
    """Email every deadline reminder that has come due (``reporting.reminders``).

    Beat runs it every minute (``CELERY_BEAT_SCHEDULE``). Overlapping runs and several workers
    are safe: each (obligation, threshold) goes out once. A run still queued after five
    minutes is dropped, since a later one does the same work. Returns how many were sent.
    """
    return reminders.send_due_reminders()


@shared_task(name="reporting.tasks.make_checkpoints", ignore_result=True, expires=1800)
def make_checkpoints() -> int:
    """Sign the head of every audit and custody chain that moved (``reporting.integrity``).
    Beat runs it every hour; a run that finds nothing moved signs nothing. Returns how many
    checkpoints were made."""
    return len(integrity.checkpoint_all().made)


@shared_task(name="reporting.tasks.verify_integrity", ignore_result=True)
def verify_integrity() -> int:
    """Verify every chain against its checkpoints and every due time; mail each agency's
    administrators the breaks found (beat: daily). Returns how many breaks were found."""
    return len(integrity.alert_breaks().failures)


@shared_task(
    name="reporting.tasks.render_report_version",
    ignore_result=True,
    soft_time_limit=120,
    time_limit=150,
)
def render_report_version(job_id: int) -> int | None:
    """Render the report a job row asks for (``reports.report_render_job_run``): queued when
    the act commits, and again by the job sweep if the message was lost or the worker died
    mid-render (no half version is left behind). Idempotent. Returns the version's pk."""
    version = reports.report_render_job_run(job_id)
    return version.pk if version is not None else None
