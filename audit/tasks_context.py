"""Celery tasks act as "task <name>" in the audit trail: the act context is set when a task
starts (``task_prerun``) and its noted refusals written when it ends (``task_postrun``)."""

from __future__ import annotations

import socket

from .context import act_context
from .trail import flush_refusals

_open: dict[str, tuple] = {}


def task_started(sender=None, task_id=None, task=None, **kwargs) -> None:
    name = getattr(task, "name", None) or getattr(sender, "name", "") or "unknown"
    manager = act_context(
        actor_label=f"task {name}",
        user_agent=f"celery worker on {socket.gethostname()}",
        request_id=str(task_id or "")[:64],
    )
    ctx = manager.__enter__()
    _open[str(task_id)] = (manager, ctx)


def task_finished(sender=None, task_id=None, **kwargs) -> None:
    opened = _open.pop(str(task_id), None)
    if opened is None:
        return
    manager, ctx = opened
    try:
        flush_refusals(ctx)  # while the task is still the actor
    finally:
        manager.__exit__(None, None, None)
