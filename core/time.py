"""How Docket shows and reads times: the one place.

Every instant is stored in UTC and shown on the agency's wall clock with its zone printed
(``format_local``). A wall time is read in a named zone (``local_to_utc``; ``parse_instant``
for text with an offset or a zone name): one the zone skips (spring forward) or repeats (fall
back) is refused, because a guess would move a statutory deadline by an hour.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"  # the value of an HTML ``datetime-local`` input
LOCAL_FORMATS = (LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")


def require_aware(name: str, value: datetime) -> None:
    """Refuse a naive ``value`` (``ValueError`` naming ``name``): every instant is aware."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")


def format_local(instant: datetime, tz: ZoneInfo) -> str:
    """``2026-11-03 23:59 EST (America/New_York)``: the zone is always printed."""
    require_aware("instant", instant)
    local = instant.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({tz.key})"


def time_left(due: datetime, now: datetime) -> str:
    """``in 3 h 10 min`` / ``overdue by 1 d 2 h 0 min``: the countdown as docket.js keeps it up
    to date, for pages read without JavaScript."""
    minutes = int(abs((due - now).total_seconds()) // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    if hours or days:
        parts.append(f"{hours} h")
    parts.append(f"{mins} min")
    span = " ".join(parts)
    return f"in {span}" if due >= now else f"overdue by {span}"


def utc_offset(value: datetime) -> str:
    """``UTC−05:00``: the offset of an aware local time."""
    minutes = int(value.utcoffset().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def to_local_input(value: datetime | None, tz: ZoneInfo) -> str:
    """An aware instant as the ``datetime-local`` value of the agency's wall clock."""
    if value is None:
        return ""
    return value.astimezone(tz).strftime(LOCAL_FORMAT)


def local_to_utc(naive: datetime, tz: ZoneInfo, label: str = "") -> datetime:
    """The UTC instant of wall-clock time ``naive`` in ``tz``.

    Raises ``ValidationError`` (prefixed with ``label`` when given) when the wall time does
    not exist there (the clocks skip it when daylight saving time starts) or exists twice
    (the clocks go back): a guess would move a legal deadline by an hour."""
    earlier = naive.replace(tzinfo=tz, fold=0)
    later = naive.replace(tzinfo=tz, fold=1)
    shown = f"{naive:%Y-%m-%d %H:%M}"
    prefix = f"{label}: " if label else ""
    round_trip = earlier.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if round_trip != naive:
        raise ValidationError(
            f"{prefix}{shown} does not exist in {tz.key}: the clocks skip that hour when "
            f"daylight saving time starts. Check the time (perhaps {round_trip:%H:%M}?), or "
            "enter a time before or after the gap.",
            code="nonexistent",
        )
    if earlier.utcoffset() != later.utcoffset():
        raise ValidationError(
            f"{prefix}{shown} occurs twice in {tz.key}: the clocks went back, so it happened "
            f"twice in {tz.key} ({earlier.tzname()}, {utc_offset(earlier)}, then "
            f"{later.tzname()}, {utc_offset(later)}) and Docket cannot tell which one you "
            "mean. Enter a time outside the repeated hour and give the exact time in a note.",
            code="ambiguous",
        )
    return earlier.astimezone(UTC)


def parse_instant(text: str) -> datetime | None:
    """An instant written with its offset (ISO 8601: ``2025-03-01T09:00:00-05:00``, ``…Z``) or
    with a zone name after it (``2025-03-01 09:00 America/New_York``, read DST-safely: a wall
    time that zone skips or repeats is refused); ``None`` without either. ``ValueError``
    names what is wrong."""
    value = text.strip()
    zone = None
    if (" " in value and "/" in value.rsplit(" ", 1)[1]) or value.endswith((" UTC", " Z")):
        value, zone_name = value.rsplit(" ", 1)
        try:
            zone = ZoneInfo("UTC" if zone_name == "Z" else zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone_name!r}") from None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time (ISO 8601)") from None
    if zone is not None:
        if instant.tzinfo is not None:
            raise ValueError(f"{text!r} gives both an offset and a zone")
        try:
            return local_to_utc(instant, zone)
        except ValidationError as exc:
            raise ValueError(exc.messages[0]) from None
    if instant.tzinfo is None or instant.utcoffset() is None:
        return None
    return instant
