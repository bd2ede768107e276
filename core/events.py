"""Domain events: how a lower layer tells a higher one that something happened, without
importing it (docs/adr/0013-domain-events.md).

An app publishes a frozen event class defined here; apps above it subscribe in their
``AppConfig.ready()``. Three phases:

- ``GUARD`` — before the act, inside its transaction and under its row lock: a subscriber may
  refuse the act by raising a ``DocketError`` (reporting: no closing while an obligation is
  open). Published with ``guard(event)``.
- ``IN_TRANSACTION`` — right after the act, in its transaction: an exception rolls the whole
  act back (reporting recomputes the clocks; the audit trail appends its entry).
- ``ON_COMMIT`` — after the act's transaction commits (a snapshot, capture decoding, mail). A
  failure is logged and never undoes the act; work that must not be lost writes a job row in
  the ``IN_TRANSACTION`` phase instead (``core.jobs``).

``publish(event)`` runs the ``IN_TRANSACTION`` subscribers at once and schedules the
``ON_COMMIT`` ones. Subscribers run in the order they subscribed (app order in
``INSTALLED_APPS``).
"""

from __future__ import annotations

import enum
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

log = logging.getLogger(__name__)


class Phase(enum.StrEnum):
    GUARD = "guard"
    IN_TRANSACTION = "in_transaction"
    ON_COMMIT = "on_commit"


@dataclass(frozen=True)
class Event:
    """What every event carries: the acting ``AgencyContext`` (``None`` for a system act) and
    the instant of the act."""

    ctx: Any
    at: datetime


# --- incidents ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentOpened(Event):
    incident: Any


@dataclass(frozen=True)
class IncidentUpdated(Event):
    incident: Any
    changed: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class IncidentTransitioning(Event):
    """Published with ``guard`` before a lifecycle transition; ``allowed`` are the
    transitions the caller may take, for a refusal to name."""

    incident: Any
    transition: str
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class IncidentTransitioned(Event):
    incident: Any
    transition: str
    from_state: str
    to_state: str


@dataclass(frozen=True)
class DeterminationRecorded(Event):
    incident: Any
    determination: Any
    corrects: Any = None


@dataclass(frozen=True)
class AdditionalInformationRecorded(Event):
    incident: Any
    information: Any


# --- accounts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgencyCreated(Event):
    """``ruleset``: the rule set the agency adopts (``None``: the installation's default)."""

    agency: Any
    ruleset: Any = None


# --- evidence ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceStored(Event):
    evidence: Any


Handler = Callable[[Event], None]
_subscribers: dict[tuple[type[Event], Phase], list[Handler]] = defaultdict(list)


def subscribe(event_type: type[Event], *, phase: Phase) -> Callable[[Handler], Handler]:
    """Decorator: call the function with each ``event_type`` event in ``phase``. Subscribing
    the same function twice (an app's ``ready()`` run again) has no effect."""

    def register(handler: Handler) -> Handler:
        handlers = _subscribers[(event_type, phase)]
        if handler not in handlers:
            handlers.append(handler)
        return handler

    return register


def unsubscribe(event_type: type[Event], *, phase: Phase, handler: Handler) -> None:
    """Remove a subscription (tests)."""
    handlers = _subscribers.get((event_type, phase), [])
    if handler in handlers:
        handlers.remove(handler)


def subscribers(event_type: type[Event], phase: Phase) -> list[Handler]:
    return list(_subscribers.get((event_type, phase), ()))


def guard(event: Event) -> None:
    """Ask the ``GUARD`` subscribers; the first that raises refuses the act."""
    for handler in subscribers(type(event), Phase.GUARD):
        handler(event)


def publish(event: Event) -> None:
    """Run the ``IN_TRANSACTION`` subscribers now (their errors propagate and roll the act
    back) and schedule the ``ON_COMMIT`` ones for when the transaction commits."""
    for handler in subscribers(type(event), Phase.IN_TRANSACTION):
        handler(event)
    for handler in subscribers(type(event), Phase.ON_COMMIT):
        transaction.on_commit(_logged(handler, event), robust=True)


def _logged(handler: Handler, event: Event) -> Callable[[], None]:
    def run() -> None:
        try:
            handler(event)
        except Exception:
            log.exception("%s failed on %s", handler.__qualname__, type(event).__name__)

    return run
