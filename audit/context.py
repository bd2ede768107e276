"""Who is acting, and from where: the act context every audit entry takes its "who" and
"where from" from (PCI DSS 10.2.2).

A contextvar, set once per unit of work by the layer that starts it:

- web requests: ``audit.middleware.AuditContextMiddleware`` (the signed-in user, the client
  address, the user agent, the request id from ``X-Request-ID`` or a new one). A token caller
  authenticated by DRF later in the request is read from the request when the entry is
  written (``request.user``/``request.auth``), so the token is named too.
- management commands: ``audit.commands.AuditedCommand`` ("command <name>");
- Celery tasks: the ``task_prerun`` signal (``audit.apps``: "task <name>").

Refusals noted during the act (``audit.trail.note_refusal``) wait here until the unit of work
is over and its transaction rolled back; the layer that set the context then writes them
(``audit.trail.flush_refusals``).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class ActContext:
    actor: Any = None
    actor_label: str = ""
    address: str = ""
    user_agent: str = ""
    request_id: str = ""
    # The web request, when there is one: its user (and DRF token) are read when an entry is
    # written, since authentication may come after the context was set.
    request: Any = field(default=None, repr=False, compare=False)
    # Refusals noted during the act, written once it is over (audit.trail.flush_refusals).
    pending: list = field(default_factory=list, repr=False, compare=False)
    # The acts refused in this unit of work (written or pending), so a boundary that sees a
    # refusal answer knows whether it was recorded already.
    refused: list = field(default_factory=list, repr=False, compare=False)
    # The service errors raised in this unit of work (core.errors.observe), newest last.
    errors: list = field(default_factory=list, repr=False, compare=False)

    def resolved(self) -> ActContext:
        """This context with the actor read from its request (if any)."""
        if self.request is None:
            return self
        user = getattr(self.request, "user", None)
        if user is None or not getattr(user, "is_authenticated", False):
            return self
        label = user_label(user)
        token = getattr(self.request, "auth", None)
        if token is not None and not isinstance(token, (str, bytes)):
            name = getattr(token, "name", None)
            label += f" (API token {name!r})" if name else " (API token)"
        return replace(self, actor=user, actor_label=label)


def user_label(user) -> str:
    """How a user is named in an entry: the username, with the full name when there is one."""
    if user is None:
        return ""
    name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    username = getattr(user, "username", "") or str(user)
    return f"{username} ({name})" if name else username


SYSTEM = ActContext(actor_label="system")
_current: contextvars.ContextVar[ActContext | None] = contextvars.ContextVar(
    "docket_act_context", default=None
)


@contextmanager
def acting_as(*, actor=None, actor_label: str) -> Iterator[ActContext]:
    """Within the block, the current context (where from, request id) with another actor: a
    credential that is no user, such as an ingest token."""
    base = _current.get() or SYSTEM
    ctx = replace(base, actor=actor, actor_label=actor_label[:300], request=None)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def note_error(error) -> None:
    """Keep a service error raised during the current unit of work (``core.errors``)."""
    ctx = _current.get()
    if ctx is not None and len(ctx.errors) < 20:
        ctx.errors.append(error)


def current_act() -> ActContext:
    """The act context in force (with the request's actor resolved), else ``SYSTEM``."""
    ctx = _current.get()
    return SYSTEM if ctx is None else ctx.resolved()


def active() -> ActContext | None:
    """The raw context in force, or ``None`` outside any unit of work."""
    return _current.get()


@contextmanager
def act_context(
    *,
    actor=None,
    actor_label: str = "",
    address: str = "",
    user_agent: str = "",
    request_id: str = "",
    request=None,
) -> Iterator[ActContext]:
    """Act as ``actor``/``actor_label`` from ``address`` within the block. The refusals noted
    in it are on ``ctx.pending`` when it ends: the caller writes them then, once the act's
    transaction is over (``audit.trail.flush_refusals(ctx)``)."""
    if actor is not None and not actor_label:
        actor_label = user_label(actor)
    ctx = ActContext(
        actor=actor,
        actor_label=actor_label[:300],
        address=address[:64],
        user_agent=user_agent[:500],
        request_id=request_id[:64],
        request=request,
    )
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
