"""Clock arithmetic for reporting obligations. Pure: no Django, no reading of the time.

Every instant here is an aware ``datetime``; results are in UTC. The agency's zone matters
only where the rule counts calendar days, because "the seventh day after the date" is a local
date, and a local day is 23, 24 or 25 hours long depending on the daylight-saving calendar.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ONE_MICROSECOND = timedelta(microseconds=1)


class Counting(enum.StrEnum):
    ELAPSED = "elapsed"
    """The offset is a span of real time: 1 hour is 3,600 seconds, whatever the wall clock does."""
    END_OF_LOCAL_DAY = "end_of_local_day"
    """Whole calendar days in the agency's zone: due at the last instant of the local date that
    lies the offset's number of days after the anchor's local date."""


class Unit(enum.StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"


class Status(enum.StrEnum):
    UPCOMING = "upcoming"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    MET_ON_TIME = "met_on_time"
    MET_LATE = "met_late"
    WAIVED = "waived"
    WITHDRAWN = "withdrawn"


OPEN_STATUSES = frozenset({Status.UPCOMING, Status.DUE_SOON, Status.OVERDUE})


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value!r}")


def start_of_local_day(day: date, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) of ``day`` on the wall clocks of ``tz``.

    Where midnight does not exist (a zone that springs forward at 00:00), the day begins at the
    transition: zoneinfo maps the missing wall time with the earlier offset, which is exactly
    the transition instant.
    """
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def end_of_local_day(day: date, tz: ZoneInfo) -> datetime:
    """The last representable instant (UTC) of ``day`` in ``tz``: one microsecond before the
    next local day begins. A submission at this instant is on time; one microsecond later is
    late."""
    return start_of_local_day(day + timedelta(days=1), tz) - ONE_MICROSECOND


def due_at(
    anchor: datetime,
    *,
    amount: int,
    unit: Unit | str,
    counting: Counting | str,
    tz: ZoneInfo,
) -> datetime:
    """When an obligation anchored at ``anchor`` falls due, in UTC."""
    _require_aware("anchor", anchor)
    unit, counting = Unit(unit), Counting(counting)
    if amount < 0:
        raise ValueError("an offset cannot be negative")
    if counting is Counting.END_OF_LOCAL_DAY:
        if unit is not Unit.DAYS:
            raise ValueError("calendar-day counting needs an offset in days")
        local_date = anchor.astimezone(tz).date()
        return end_of_local_day(local_date + timedelta(days=amount), tz)
    span = {
        Unit.MINUTES: timedelta(minutes=amount),
        Unit.HOURS: timedelta(hours=amount),
        Unit.DAYS: timedelta(days=amount),
    }[unit]
    # Add in UTC: adding a timedelta to a datetime carrying a zone is wall-clock arithmetic
    # (01:30 EDT + 1 h on a fall-back night would be 02:30 EST, two real hours later).
    return anchor.astimezone(UTC) + span


def obligation_status(
    *,
    due: datetime,
    now: datetime,
    met_at: datetime | None = None,
    waived: bool = False,
    withdrawn: bool = False,
    due_soon: timedelta = timedelta(hours=24),
) -> Status:
    """The one definition of an obligation's status. The due instant itself is on time."""
    _require_aware("due", due)
    _require_aware("now", now)
    if withdrawn:
        return Status.WITHDRAWN
    if met_at is not None:
        _require_aware("met_at", met_at)
        return Status.MET_ON_TIME if met_at <= due else Status.MET_LATE
    if waived:
        return Status.WAIVED
    if now > due:
        return Status.OVERDUE
    if due - now <= due_soon:
        return Status.DUE_SOON
    return Status.UPCOMING
