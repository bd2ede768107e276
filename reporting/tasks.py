"""Celery tasks of the reporting app. They only call services."""

from celery import shared_task

from . import reminders


@shared_task(name="reporting.tasks.send_due_reminders", ignore_result=True, expires=300)
def send_due_reminders() -> int:
    """Email every deadline reminder that has come due (``reporting.reminders``).

    Beat runs it every minute (``CELERY_BEAT_SCHEDULE``). Overlapping runs and several workers
    are safe: each (obligation, threshold) goes out once. A run still queued after five
    minutes is dropped, since a later one does the same work. Returns how many were sent.
    """
    return reminders.send_due_reminders()
