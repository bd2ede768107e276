"""Durable background work: a job row written in the act's transaction, a Celery task that
does the work, and a periodic sweep that re-queues what a lost broker message left behind (an
outbox; docs/adr/0013-domain-events.md).

Each kind of job registers a ``requeue(now) -> int`` function with ``register_sweep``: it
finds its rows still waiting longer than it allows and queues their task again (the tasks are
idempotent, so a message delivered twice does no harm). The ``core.jobs.sweep`` task, run by
beat, calls every one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from celery import current_app, shared_task
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

log = logging.getLogger(__name__)

Requeue = Callable[[datetime], int]
_sweeps: dict[str, Requeue] = {}


def register_sweep(name: str, requeue: Requeue) -> None:
    _sweeps[name] = requeue


def stale_after() -> timedelta:
    """How long a queued job may wait before the sweep queues it again."""
    return timedelta(seconds=getattr(settings, "DOCKET_JOB_STALE_SECONDS", 300))


def enqueue_on_commit(task_name: str, *args) -> None:
    """Queue the Celery task named ``task_name`` with ``args`` once the current transaction
    commits (by name, so a service need not import its app's tasks module, which imports the
    service). A broker that is down is logged, not raised: the job row is already committed
    and the sweep will queue it."""

    def send() -> None:
        try:
            current_app.tasks[task_name].delay(*args)
        except Exception:
            log.exception("Could not queue %s%r; the job sweep will", task_name, args)

    transaction.on_commit(send)


def sweep_now(now: datetime | None = None) -> dict[str, int]:
    """Re-queue every registered kind's stale jobs; how many of each."""
    now = now or timezone.now()
    return {name: requeue(now) for name, requeue in sorted(_sweeps.items())}


@shared_task(name="core.jobs.sweep", ignore_result=True)
def sweep() -> dict[str, int]:
    """The periodic sweep (beat, every few minutes)."""
    return sweep_now()


# --- job rows ----------------------------------------------------------------------------------
# An abstract base (like the append-only base): each kind of job is a concrete model of the
# app that owns the work.


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Job(models.Model):
    """A unit of durable work: written ``QUEUED`` in the act's transaction; the worker marks
    it ``DONE`` or, after ``MAX_ATTEMPTS`` failures, ``FAILED`` with the error. While it is
    queued the sweep queues it again whenever ``queued_at`` is older than ``stale_after()``."""

    MAX_ATTEMPTS = 3

    state = models.CharField(max_length=8, choices=JobState.choices, default=JobState.QUEUED)
    requested_at = models.DateTimeField(help_text="When the act that asked for it happened.")
    queued_at = models.DateTimeField(help_text="When its task was last sent to the broker.")
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        abstract = True


def requeue_stale(
    waiting: models.QuerySet, task_name: str, now: datetime, *, key: str = "pk"
) -> int:
    """Queue task ``task_name(<key>)`` again for every row of ``waiting`` (the rows of one
    kind of job still waiting) whose ``queued_at`` is older than ``now - stale_after()``, and
    mark them queued now; how many."""
    stale = list(waiting.filter(queued_at__lt=now - stale_after()).values_list(key, flat=True))
    if not stale:
        return 0
    waiting.filter(**{f"{key}__in": stale}).update(queued_at=now)
    for value in stale:
        enqueue_on_commit(task_name, value)
    log.warning("Re-queued %d stale %s job(s)", len(stale), waiting.model.__name__)
    return len(stale)
