"""Pure tests of ``reporting.clock``: no database, no reading of the time.

Every expected instant is written out by hand in UTC, with the local arithmetic in a comment,
so a bug in the clock cannot hide behind the same bug in the test.

Offsets used below (from the tz database):
  America/New_York     EST UTC-5, EDT UTC-4; 2026: DST from 03-08 02:00 EST to 11-01 02:00 EDT
  America/Los_Angeles  PST UTC-8, PDT UTC-7; same dates at 02:00 local
  Pacific/Honolulu     HST UTC-10, no DST
  America/Phoenix      MST UTC-7, no DST
  Pacific/Guam         ChST UTC+10, no DST
  America/Havana       CST UTC-5, CDT UTC-4; 2026-03-08 00:00 CST -> 01:00 CDT (no midnight),
                       2026-11-01 01:00 CDT -> 00:00 CST (midnight twice)
  America/Santiago     UTC-4 / UTC-3; 2026-09-06 00:00 -04 -> 01:00 -03 (no midnight),
                       2026-04-05 00:00 -03 -> 2026-04-04 23:00 -04 (last hour of 04-04 twice)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.time import format_local
from reporting.clock import (
    ONE_MICROSECOND,
    OPEN_STATUSES,
    Counting,
    Status,
    Unit,
    due_at,
    end_of_local_day,
    obligation_status,
    start_of_local_day,
)

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
HONOLULU = ZoneInfo("Pacific/Honolulu")
PHOENIX = ZoneInfo("America/Phoenix")
GUAM = ZoneInfo("Pacific/Guam")
HAVANA = ZoneInfo("America/Havana")
SANTIAGO = ZoneInfo("America/Santiago")

END = time(23, 59, 59, 999999)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def seven_days(anchor: datetime, tz: ZoneInfo) -> datetime:
    """The congressional / IG rule: 7 calendar days, to the end of the local day."""
    return due_at(anchor, amount=7, unit=Unit.DAYS, counting=Counting.END_OF_LOCAL_DAY, tz=tz)


def one_hour(anchor: datetime, tz: ZoneInfo = NY) -> datetime:
    """CISA's rule: one elapsed hour."""
    return due_at(anchor, amount=1, unit=Unit.HOURS, counting=Counting.ELAPSED, tz=tz)


def assert_utc(value: datetime, expected: datetime) -> None:
    """Equal as instants, and expressed in UTC (the clock promises UTC results)."""
    assert value == expected
    assert value.utcoffset() == timedelta(0)


# --- start_of_local_day / end_of_local_day ------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "tz", "start", "end", "hours"),
    [
        # NY spring forward: 00:00 EST = 05:00Z; next day 00:00 EDT = 04:00Z. 23 hours.
        (date(2026, 3, 8), NY, utc(2026, 3, 8, 5), utc(2026, 3, 9, 3, 59, 59, 999999), 23),
        # NY fall back: 00:00 EDT = 04:00Z; next day 00:00 EST = 05:00Z. 25 hours.
        (date(2026, 11, 1), NY, utc(2026, 11, 1, 4), utc(2026, 11, 2, 4, 59, 59, 999999), 25),
        # LA spring forward: 00:00 PST = 08:00Z; next 00:00 PDT = 07:00Z.
        (date(2026, 3, 8), LA, utc(2026, 3, 8, 8), utc(2026, 3, 9, 6, 59, 59, 999999), 23),
        # LA fall back: 00:00 PDT = 07:00Z; next 00:00 PST = 08:00Z.
        (date(2026, 11, 1), LA, utc(2026, 11, 1, 7), utc(2026, 11, 2, 7, 59, 59, 999999), 25),
        # An ordinary NY summer day: 00:00 EDT = 04:00Z.
        (date(2026, 7, 4), NY, utc(2026, 7, 4, 4), utc(2026, 7, 5, 3, 59, 59, 999999), 24),
        # No DST: the same nights are 24 hours long.
        (date(2026, 3, 8), HONOLULU, utc(2026, 3, 8, 10), utc(2026, 3, 9, 9, 59, 59, 999999), 24),
        (
            date(2026, 11, 1),
            HONOLULU,
            utc(2026, 11, 1, 10),
            utc(2026, 11, 2, 9, 59, 59, 999999),
            24,
        ),
        (date(2026, 3, 8), PHOENIX, utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 59, 59, 999999), 24),
        (date(2026, 11, 1), PHOENIX, utc(2026, 11, 1, 7), utc(2026, 11, 2, 6, 59, 59, 999999), 24),
        # Guam is ahead of UTC: local 2026-06-11 starts at 2026-06-10 14:00Z.
        (date(2026, 6, 11), GUAM, utc(2026, 6, 10, 14), utc(2026, 6, 11, 13, 59, 59, 999999), 24),
        # Havana: midnight of 2026-03-08 does not exist; the day starts at the jump (00:00 CST
        # = 05:00Z, shown as 01:00 CDT) and ends at 03-09 00:00 CDT = 04:00Z. 23 hours.
        (date(2026, 3, 8), HAVANA, utc(2026, 3, 8, 5), utc(2026, 3, 9, 3, 59, 59, 999999), 23),
        # Havana: the day before ends one microsecond before the jump (23:59:59.999999 CST).
        (date(2026, 3, 7), HAVANA, utc(2026, 3, 7, 5), utc(2026, 3, 8, 4, 59, 59, 999999), 24),
        # Havana fall back at 01:00 CDT -> 00:00 CST: the day starts at the first midnight
        # (00:00 CDT = 04:00Z) and ends at 11-02 00:00 CST = 05:00Z. 25 hours.
        (date(2026, 11, 1), HAVANA, utc(2026, 11, 1, 4), utc(2026, 11, 2, 4, 59, 59, 999999), 25),
        # Santiago: no midnight on 2026-09-06; the day starts at the jump, 00:00 -04 = 04:00Z,
        # and ends at 09-07 00:00 -03 = 03:00Z. 23 hours.
        (date(2026, 9, 6), SANTIAGO, utc(2026, 9, 6, 4), utc(2026, 9, 7, 2, 59, 59, 999999), 23),
        # Santiago fall back: 2026-04-04 starts 00:00 -03 = 03:00Z and, its last hour repeated,
        # ends at 04-05 00:00 -04 = 04:00Z. 25 hours.
        (date(2026, 4, 4), SANTIAGO, utc(2026, 4, 4, 3), utc(2026, 4, 5, 3, 59, 59, 999999), 25),
    ],
)
def test_local_day_bounds(day, tz, start, end, hours):
    assert_utc(start_of_local_day(day, tz), start)
    assert_utc(end_of_local_day(day, tz), end)
    assert (end + ONE_MICROSECOND) - start == timedelta(hours=hours)
    # The end belongs to the day, the next microsecond to the next day.
    assert end.astimezone(tz).date() == day
    assert (end + ONE_MICROSECOND).astimezone(tz).date() == day + timedelta(days=1)
    assert start.astimezone(tz).date() == day
    assert (start - ONE_MICROSECOND).astimezone(tz).date() == day - timedelta(days=1)


def test_day_without_midnight_starts_at_the_transition_instant():
    # Havana 2026-03-08: the wall clock goes from 23:59:59.999999 CST on 03-07 straight to
    # 01:00 CDT on 03-08, at 05:00Z. That instant is the first of 03-08.
    start = start_of_local_day(date(2026, 3, 8), HAVANA)
    assert_utc(start, utc(2026, 3, 8, 5))
    local = start.astimezone(HAVANA)
    assert (local.date(), local.time(), local.tzname()) == (date(2026, 3, 8), time(1), "CDT")
    before = (start - ONE_MICROSECOND).astimezone(HAVANA)
    assert (before.date(), before.time(), before.tzname()) == (date(2026, 3, 7), END, "CST")
    # The offset really changes at that instant (the test would be vacuous otherwise).
    assert (start - ONE_MICROSECOND).astimezone(HAVANA).utcoffset() == timedelta(hours=-5)
    assert start.astimezone(HAVANA).utcoffset() == timedelta(hours=-4)

    # Santiago 2026-09-06, same shape: 00:00 -04 becomes 01:00 -03 at 04:00Z.
    start = start_of_local_day(date(2026, 9, 6), SANTIAGO)
    assert_utc(start, utc(2026, 9, 6, 4))
    assert start.astimezone(SANTIAGO).time() == time(1)
    assert (start - ONE_MICROSECOND).astimezone(SANTIAGO).date() == date(2026, 9, 5)


# --- due_at: calendar days to the end of the local day ----------------------------------------


@pytest.mark.parametrize(
    ("anchor", "tz", "expected"),
    [
        # NY, due date is the spring-forward day: 03-01 12:00 EST -> end of 03-08, which is in
        # EDT: 03-08 23:59:59.999999 EDT = 03-09 03:59:59.999999Z.
        (utc(2026, 3, 1, 17), NY, utc(2026, 3, 9, 3, 59, 59, 999999)),
        # NY, due date is the fall-back day: 10-25 10:00 EDT -> end of 11-01 (EST) = 11-02 04:59Z.
        (utc(2026, 10, 25, 14), NY, utc(2026, 11, 2, 4, 59, 59, 999999)),
        # NY, determined in the skipped hour's neighbourhood: 03-08 01:30 EST (06:30Z) and
        # 03-08 03:30 EDT (07:30Z) are both local 03-08 -> end of 03-15 EDT = 03-16 03:59Z.
        (utc(2026, 3, 8, 6, 30), NY, utc(2026, 3, 16, 3, 59, 59, 999999)),
        (utc(2026, 3, 8, 7, 30), NY, utc(2026, 3, 16, 3, 59, 59, 999999)),
        # NY, the repeated hour: 01:30 EDT (05:30Z) and 01:30 EST (06:30Z) on 11-01 are both
        # local 11-01 -> end of 11-08 EST = 11-09 04:59:59.999999Z.
        (utc(2026, 11, 1, 5, 30), NY, utc(2026, 11, 9, 4, 59, 59, 999999)),
        (utc(2026, 11, 1, 6, 30), NY, utc(2026, 11, 9, 4, 59, 59, 999999)),
        # LA: 03-08 01:30 PST (09:30Z) -> end of 03-15 PDT = 03-16 06:59:59.999999Z.
        (utc(2026, 3, 8, 9, 30), LA, utc(2026, 3, 16, 6, 59, 59, 999999)),
        # LA: 03-01 12:00 PST (20:00Z) -> end of 03-08 PDT = 03-09 06:59:59.999999Z.
        (utc(2026, 3, 1, 20), LA, utc(2026, 3, 9, 6, 59, 59, 999999)),
        # LA: 11-01 01:30 PDT (08:30Z) -> end of 11-08 PST = 11-09 07:59:59.999999Z.
        (utc(2026, 11, 1, 8, 30), LA, utc(2026, 11, 9, 7, 59, 59, 999999)),
        # LA: 10-25 09:00 PDT (16:00Z) -> end of 11-01 PST = 11-02 07:59:59.999999Z.
        (utc(2026, 10, 25, 16), LA, utc(2026, 11, 2, 7, 59, 59, 999999)),
        # Honolulu: 03-08 01:30 HST (11:30Z) -> end of 03-15 HST = 03-16 09:59:59.999999Z.
        (utc(2026, 3, 8, 11, 30), HONOLULU, utc(2026, 3, 16, 9, 59, 59, 999999)),
        # Honolulu: 2026-03-09 05:00Z is still 03-08 19:00 HST -> end of 03-15 HST.
        (utc(2026, 3, 9, 5), HONOLULU, utc(2026, 3, 16, 9, 59, 59, 999999)),
        # Phoenix: 11-01 01:30 MST (08:30Z) -> end of 11-08 MST = 11-09 06:59:59.999999Z.
        (utc(2026, 11, 1, 8, 30), PHOENIX, utc(2026, 11, 9, 6, 59, 59, 999999)),
        # Phoenix: 03-01 12:00 MST (19:00Z) -> end of 03-08 MST = 03-09 06:59:59.999999Z.
        (utc(2026, 3, 1, 19), PHOENIX, utc(2026, 3, 9, 6, 59, 59, 999999)),
        # Guam: 06-10 20:00Z is already 06-11 06:00 ChST -> end of 06-18 ChST = 06-18 13:59Z.
        # (Counting from the UTC date would give a day less.)
        (utc(2026, 6, 10, 20), GUAM, utc(2026, 6, 18, 13, 59, 59, 999999)),
        # Guam: 06-10 13:00Z is 06-10 23:00 ChST -> end of 06-17 ChST = 06-17 13:59:59.999999Z.
        (utc(2026, 6, 10, 13), GUAM, utc(2026, 6, 17, 13, 59, 59, 999999)),
        # Havana: 03-01 12:00 CST (17:00Z) -> end of 03-08, the day without midnight:
        # 03-08 23:59:59.999999 CDT = 03-09 03:59:59.999999Z.
        (utc(2026, 3, 1, 17), HAVANA, utc(2026, 3, 9, 3, 59, 59, 999999)),
        # Havana: at the jump itself (05:00Z = 03-08 01:00 CDT) -> end of 03-15 CDT = 03-16 03:59Z.
        (utc(2026, 3, 8, 5), HAVANA, utc(2026, 3, 16, 3, 59, 59, 999999)),
        # Havana: a microsecond before the jump is still 03-07 -> end of 03-14 CDT = 03-15 03:59Z.
        (utc(2026, 3, 8, 4, 59, 59, 999999), HAVANA, utc(2026, 3, 15, 3, 59, 59, 999999)),
        # Santiago: 04-05 03:30Z is 04-04 23:30 -04 (the repeated hour) -> end of 04-11 -04
        # = 04-12 03:59:59.999999Z.
        (utc(2026, 4, 5, 3, 30), SANTIAGO, utc(2026, 4, 12, 3, 59, 59, 999999)),
    ],
)
def test_seven_day_due_across_zones_and_dst(anchor, tz, expected):
    assert_utc(seven_days(anchor, tz), expected)


@pytest.mark.parametrize(
    ("anchor", "tz", "expected"),
    [
        # NY one minute before local midnight: 04-14 23:59 EDT = 04-15 03:59Z -> end of 04-21.
        (utc(2026, 4, 15, 3, 59), NY, utc(2026, 4, 22, 3, 59, 59, 999999)),
        # ...and one minute after: 04-15 00:01 EDT = 04-15 04:01Z -> end of 04-22. Same UTC
        # date as the anchor above, a due date one day later.
        (utc(2026, 4, 15, 4, 1), NY, utc(2026, 4, 23, 3, 59, 59, 999999)),
        # Winter: 01-14 23:59 EST = 01-15 04:59Z -> end of 01-21 EST = 01-22 04:59:59.999999Z.
        (utc(2026, 1, 15, 4, 59), NY, utc(2026, 1, 22, 4, 59, 59, 999999)),
        (utc(2026, 1, 15, 5, 1), NY, utc(2026, 1, 23, 4, 59, 59, 999999)),
        # Guam: 06-10 23:59 ChST = 06-10 13:59Z -> end of 06-17; 06-11 00:01 ChST = 14:01Z ->
        # end of 06-18.
        (utc(2026, 6, 10, 13, 59), GUAM, utc(2026, 6, 17, 13, 59, 59, 999999)),
        (utc(2026, 6, 10, 14, 1), GUAM, utc(2026, 6, 18, 13, 59, 59, 999999)),
    ],
)
def test_minute_before_and_after_local_midnight(anchor, tz, expected):
    assert_utc(seven_days(anchor, tz), expected)


def test_midnight_pair_differs_by_exactly_one_local_day():
    before = seven_days(utc(2026, 4, 15, 3, 59), NY)
    after = seven_days(utc(2026, 4, 15, 4, 1), NY)
    assert after - before == timedelta(days=1)
    # The exact first instant of the local day counts for that day.
    assert_utc(seven_days(utc(2026, 4, 15, 4), NY), utc(2026, 4, 23, 3, 59, 59, 999999))
    assert_utc(
        seven_days(utc(2026, 4, 15, 3, 59, 59, 999999), NY), utc(2026, 4, 22, 3, 59, 59, 999999)
    )


@pytest.mark.parametrize(
    ("anchor", "amount", "expected"),
    [
        # Year end: 2026-12-28 10:00 EST -> end of 2027-01-04 EST = 2027-01-05 04:59:59.999999Z.
        (utc(2026, 12, 28, 15), 7, utc(2027, 1, 5, 4, 59, 59, 999999)),
        # New Year's Eve 23:30 EST is 2027-01-01 04:30Z, but locally still 2026-12-31
        # -> end of 2027-01-07 EST = 2027-01-08 04:59:59.999999Z.
        (utc(2027, 1, 1, 4, 30), 7, utc(2027, 1, 8, 4, 59, 59, 999999)),
        # January into February: 01-25 -> end of 02-01 EST = 02-02 04:59:59.999999Z.
        (utc(2026, 1, 25, 15), 7, utc(2026, 2, 2, 4, 59, 59, 999999)),
        # Non-leap February: 2026-02-22 -> end of 2026-03-01 EST = 03-02 04:59:59.999999Z.
        (utc(2026, 2, 22, 15), 7, utc(2026, 3, 2, 4, 59, 59, 999999)),
        # April into May (EDT): 04-30 -> end of 05-07 EDT = 05-08 03:59:59.999999Z.
        (utc(2026, 4, 30, 15), 7, utc(2026, 5, 8, 3, 59, 59, 999999)),
        # Leap day as due date: 2028-02-22 09:00 EST -> end of 2028-02-29 EST
        # = 2028-03-01 04:59:59.999999Z.
        (utc(2028, 2, 22, 14), 7, utc(2028, 3, 1, 4, 59, 59, 999999)),
        # Leap day as anchor: 2028-02-29 12:00 EST -> end of 2028-03-07 EST (DST starts only
        # 2028-03-12) = 2028-03-08 04:59:59.999999Z.
        (utc(2028, 2, 29, 17), 7, utc(2028, 3, 8, 4, 59, 59, 999999)),
        # Leap day late evening, already 03-01 in UTC: 2028-02-29 23:00 EST = 03-01 04:00Z
        # -> end of 2028-03-07 EST.
        (utc(2028, 3, 1, 4), 7, utc(2028, 3, 8, 4, 59, 59, 999999)),
        # The 14-day supplemental onto the leap day: 2028-02-15 -> end of 2028-02-29.
        (utc(2028, 2, 15, 17), 14, utc(2028, 3, 1, 4, 59, 59, 999999)),
        # The 30-day breach report: 2028-01-30 -> end of 2028-02-29 (2027: would be 03-01).
        (utc(2028, 1, 30, 17), 30, utc(2028, 3, 1, 4, 59, 59, 999999)),
        (utc(2027, 1, 30, 17), 30, utc(2027, 3, 2, 4, 59, 59, 999999)),
        # Zero days: the end of the anchor's own local day (2026-07-04 EDT -> 07-05 03:59Z).
        (utc(2026, 7, 4, 16), 0, utc(2026, 7, 5, 3, 59, 59, 999999)),
    ],
)
def test_calendar_days_over_month_year_and_leap_day(anchor, amount, expected):
    result = due_at(anchor, amount=amount, unit="days", counting="end_of_local_day", tz=NY)
    assert_utc(result, expected)


def test_end_of_leap_day_itself():
    # 2028-02-29 00:00 EST = 05:00Z; 2028-03-01 00:00 EST = 05:00Z.
    assert_utc(start_of_local_day(date(2028, 2, 29), NY), utc(2028, 2, 29, 5))
    assert_utc(end_of_local_day(date(2028, 2, 29), NY), utc(2028, 3, 1, 4, 59, 59, 999999))


def test_anchor_in_any_zone_gives_the_same_due():
    """The anchor's own tzinfo does not matter, only the instant and the agency's zone."""
    instant = utc(2026, 4, 15, 3, 59)  # 04-14 23:59 EDT
    expected = utc(2026, 4, 22, 3, 59, 59, 999999)
    for shown_in in (UTC, NY, GUAM, LA, timezone(timedelta(hours=5, minutes=30))):
        assert_utc(seven_days(instant.astimezone(shown_in), NY), expected)


# --- due_at: elapsed time -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "expected"),
    [
        # NY spring forward: identified 01:30 EST (06:30Z); an hour later is 07:30Z, which the
        # wall clock shows as 03:30 EDT.
        (utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 30)),
        (datetime(2026, 3, 8, 1, 30, tzinfo=NY), utc(2026, 3, 8, 7, 30)),
        # NY fall back: identified 01:30 EDT (05:30Z, the first 01:30); an hour later is 06:30Z,
        # the second 01:30 (EST) — not 02:30 EST (07:30Z).
        (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)),
        (datetime(2026, 11, 1, 1, 30, tzinfo=NY), utc(2026, 11, 1, 6, 30)),
        # ...and from the second 01:30 (EST, 06:30Z) an hour later is 02:30 EST = 07:30Z.
        (datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NY), utc(2026, 11, 1, 7, 30)),
        # NY fall back: 00:45 EDT (04:45Z) + 1 h = 05:45Z = 01:45 EDT.
        (datetime(2026, 11, 1, 0, 45, tzinfo=NY), utc(2026, 11, 1, 5, 45)),
        # LA fall back: 01:45 PDT (08:45Z) + 1 h = 09:45Z = 01:45 PST.
        (datetime(2026, 11, 1, 1, 45, tzinfo=LA), utc(2026, 11, 1, 9, 45)),
        # LA spring forward: 01:45 PST (09:45Z) + 1 h = 10:45Z = 03:45 PDT.
        (datetime(2026, 3, 8, 1, 45, tzinfo=LA), utc(2026, 3, 8, 10, 45)),
    ],
)
def test_elapsed_hour_straddling_dst_is_3600_real_seconds(anchor, expected):
    due = one_hour(anchor)
    assert_utc(due, expected)
    # Aware datetimes in different zones subtract as instants, exactly (no float timestamps).
    assert due - anchor.astimezone(UTC) == timedelta(seconds=3600)


def test_elapsed_hour_on_the_wall_clock():
    # What the clerk sees: spring forward shows two wall hours, fall back zero.
    spring = one_hour(utc(2026, 3, 8, 6, 30)).astimezone(NY)
    assert (spring.hour, spring.minute, spring.tzname()) == (3, 30, "EDT")
    fall = one_hour(utc(2026, 11, 1, 5, 30)).astimezone(NY)
    assert (fall.hour, fall.minute, fall.tzname()) == (1, 30, "EST")


def test_elapsed_days_and_minutes_are_real_time_not_wall_time():
    # 1 elapsed day from 03-07 12:00 EST (17:00Z) is 03-08 17:00Z (13:00 EDT), 24 real hours,
    # not 12:00 EDT (16:00Z, 23 hours).
    anchor = datetime(2026, 3, 7, 12, tzinfo=NY)
    due = due_at(anchor, amount=1, unit=Unit.DAYS, counting=Counting.ELAPSED, tz=NY)
    assert_utc(due, utc(2026, 3, 8, 17))
    # 90 minutes from the first 01:00 EDT (05:00Z) on 11-01 is 06:30Z (01:30 EST).
    anchor = datetime(2026, 11, 1, 1, tzinfo=NY)
    due = due_at(anchor, amount=90, unit=Unit.MINUTES, counting=Counting.ELAPSED, tz=NY)
    assert_utc(due, utc(2026, 11, 1, 6, 30))
    # The agency zone plays no part in elapsed counting.
    for tz in (NY, GUAM, HAVANA):
        assert_utc(one_hour(utc(2026, 3, 8, 4, 30), tz), utc(2026, 3, 8, 5, 30))


# --- due_at: refusals ------------------------------------------------------------------------


def test_naive_anchor_rejected():
    with pytest.raises(ValueError, match="aware"):
        due_at(datetime(2026, 3, 8, 1, 30), amount=1, unit="hours", counting="elapsed", tz=NY)
    with pytest.raises(ValueError, match="aware"):
        seven_days(datetime(2026, 3, 8, 1, 30), NY)


@pytest.mark.parametrize("unit", [Unit.HOURS, Unit.MINUTES, "hours", "minutes"])
def test_calendar_counting_needs_days(unit):
    with pytest.raises(ValueError, match="days"):
        due_at(utc(2026, 3, 8), amount=7, unit=unit, counting=Counting.END_OF_LOCAL_DAY, tz=NY)


def test_negative_offset_and_unknown_names_rejected():
    with pytest.raises(ValueError, match="negative"):
        due_at(utc(2026, 3, 8), amount=-1, unit="days", counting="end_of_local_day", tz=NY)
    with pytest.raises(ValueError):
        due_at(utc(2026, 3, 8), amount=1, unit="weeks", counting="elapsed", tz=NY)
    with pytest.raises(ValueError):
        due_at(utc(2026, 3, 8), amount=1, unit="days", counting="business_days", tz=NY)


# --- obligation_status -----------------------------------------------------------------------

DUE = utc(2026, 3, 16, 3, 59, 59, 999999)  # end of 2026-03-15 EDT


@pytest.mark.parametrize(
    ("met_at", "expected"),
    [
        (DUE, Status.MET_ON_TIME),
        (DUE - ONE_MICROSECOND, Status.MET_ON_TIME),
        (DUE + ONE_MICROSECOND, Status.MET_LATE),
        (utc(2026, 3, 16, 4), Status.MET_LATE),
        # The same instants given in local time: 23:59:59.999999 EDT is on time.
        (datetime(2026, 3, 15, 23, 59, 59, 999999, tzinfo=NY), Status.MET_ON_TIME),
        (datetime(2026, 3, 16, 0, 0, tzinfo=NY), Status.MET_LATE),
    ],
)
def test_met_on_time_up_to_the_microsecond(met_at, expected):
    # Whatever "now" is, a met obligation's status depends only on met_at versus due.
    for now in (DUE - timedelta(days=3), DUE, DUE + timedelta(days=30)):
        assert obligation_status(due=DUE, now=now, met_at=met_at) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (DUE - timedelta(hours=24) - ONE_MICROSECOND, Status.UPCOMING),
        (DUE - timedelta(hours=24), Status.DUE_SOON),
        (DUE - ONE_MICROSECOND, Status.DUE_SOON),
        (DUE, Status.DUE_SOON),  # the due instant itself is still on time
        (DUE + ONE_MICROSECOND, Status.OVERDUE),
        (DUE + timedelta(days=400), Status.OVERDUE),
    ],
)
def test_open_status_boundaries(now, expected):
    assert obligation_status(due=DUE, now=now) is expected


def test_due_soon_window_is_a_parameter():
    window = timedelta(hours=2)
    before = DUE - window
    assert obligation_status(due=DUE, now=before - ONE_MICROSECOND, due_soon=window) is (
        Status.UPCOMING
    )
    assert obligation_status(due=DUE, now=before, due_soon=window) is Status.DUE_SOON
    assert obligation_status(due=DUE, now=DUE - timedelta(hours=3)) is Status.DUE_SOON


def test_status_precedence():
    late = DUE + timedelta(days=2)
    # Withdrawn beats everything.
    assert obligation_status(due=DUE, now=late, met_at=DUE, withdrawn=True) is Status.WITHDRAWN
    assert obligation_status(due=DUE, now=late, waived=True, withdrawn=True) is Status.WITHDRAWN
    # A submission beats a waiver.
    assert obligation_status(due=DUE, now=late, met_at=late, waived=True) is Status.MET_LATE
    # A waiver is not overdue, however late it is.
    assert obligation_status(due=DUE, now=late, waived=True) is Status.WAIVED
    assert obligation_status(due=DUE, now=DUE - timedelta(days=5), waived=True) is Status.WAIVED
    assert {Status.UPCOMING, Status.DUE_SOON, Status.OVERDUE} == OPEN_STATUSES


def test_status_compares_instants_across_zones():
    # now given in Guam time, one microsecond past the NY due instant.
    now = (DUE + ONE_MICROSECOND).astimezone(GUAM)
    assert obligation_status(due=DUE, now=now) is Status.OVERDUE
    assert obligation_status(due=DUE.astimezone(NY), now=DUE.astimezone(GUAM)) is Status.DUE_SOON


def test_naive_datetimes_rejected_by_status():
    naive = datetime(2026, 3, 16, 3, 59)
    with pytest.raises(ValueError, match="due"):
        obligation_status(due=naive, now=DUE)
    with pytest.raises(ValueError, match="now"):
        obligation_status(due=DUE, now=naive)
    with pytest.raises(ValueError, match="met_at"):
        obligation_status(due=DUE, now=DUE, met_at=naive)


# --- format_local ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "tz", "expected"),
    [
        (utc(2026, 11, 4, 4, 59), NY, "2026-11-03 23:59 EST (America/New_York)"),
        (utc(2026, 7, 1, 16), NY, "2026-07-01 12:00 EDT (America/New_York)"),
        # The two 01:30s of the NY fall-back night are told apart by the abbreviation.
        (utc(2026, 11, 1, 5, 30), NY, "2026-11-01 01:30 EDT (America/New_York)"),
        (utc(2026, 11, 1, 6, 30), NY, "2026-11-01 01:30 EST (America/New_York)"),
        # The end-of-day due of a DST night prints as 23:59 local.
        (utc(2026, 3, 16, 3, 59, 59, 999999), NY, "2026-03-15 23:59 EDT (America/New_York)"),
        (utc(2026, 3, 16, 6, 59, 59, 999999), LA, "2026-03-15 23:59 PDT (America/Los_Angeles)"),
        (utc(2026, 3, 8, 11, 30), HONOLULU, "2026-03-08 01:30 HST (Pacific/Honolulu)"),
        (utc(2026, 7, 1, 19), PHOENIX, "2026-07-01 12:00 MST (America/Phoenix)"),
        (utc(2026, 6, 10, 20), GUAM, "2026-06-11 06:00 ChST (Pacific/Guam)"),
        (utc(2026, 3, 8, 5), HAVANA, "2026-03-08 01:00 CDT (America/Havana)"),
        # Input in another zone: only the instant matters.
        (datetime(2026, 6, 11, 6, tzinfo=GUAM), NY, "2026-06-10 16:00 EDT (America/New_York)"),
    ],
)
def test_format_local(instant, tz, expected):
    assert format_local(instant, tz) == expected


def test_format_local_rejects_naive():
    with pytest.raises(ValueError, match="aware"):
        format_local(datetime(2026, 7, 1, 12), NY)


# --- properties ------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "America/Chicago",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Phoenix",
    "Pacific/Guam",
    "America/Puerto_Rico",
    "Pacific/Pago_Pago",
    "America/Havana",
    "America/Santiago",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
    "Europe/London",
]

utc_instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=500, deadline=None, database=None)
@given(anchor=utc_instants, zone=st.sampled_from(ZONES))
def test_property_seven_day_due(anchor, zone):
    tz = ZoneInfo(zone)
    due = seven_days(anchor, tz)
    assert due.utcoffset() == timedelta(0)
    assert due > anchor
    local = due.astimezone(tz)
    assert local.date() == anchor.astimezone(tz).date() + timedelta(days=7)
    assert local.time() == END
    # The next microsecond is the following local day: due is the day's very last instant.
    assert (due + ONE_MICROSECOND).astimezone(tz).date() == local.date() + timedelta(days=1)
    # Seven to eight days of real time away, give or take the DST shifts in between.
    assert timedelta(days=7, hours=-2) < due - anchor < timedelta(days=8, hours=2)
    # The status boundary is exactly the due instant.
    assert obligation_status(due=due, now=due, met_at=due) is Status.MET_ON_TIME
    assert obligation_status(due=due, now=due, met_at=due + ONE_MICROSECOND) is Status.MET_LATE
    assert obligation_status(due=due, now=due) is Status.DUE_SOON
    assert obligation_status(due=due, now=due + ONE_MICROSECOND) is Status.OVERDUE
    assert obligation_status(due=due, now=anchor) in OPEN_STATUSES - {Status.OVERDUE}


@settings(max_examples=300, deadline=None, database=None)
@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 30)),
    zone=st.sampled_from(ZONES),
)
def test_property_local_days_tile_the_timeline(day, zone):
    tz = ZoneInfo(zone)
    start, end = start_of_local_day(day, tz), end_of_local_day(day, tz)
    assert end + ONE_MICROSECOND == start_of_local_day(day + timedelta(days=1), tz)
    assert start.astimezone(tz).date() == day
    assert (start - ONE_MICROSECOND).astimezone(tz).date() == day - timedelta(days=1)
    assert timedelta(hours=22) <= end + ONE_MICROSECOND - start <= timedelta(hours=26)


@settings(max_examples=300, deadline=None, database=None)
@given(
    anchor=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2099, 12, 31),
        timezones=st.sampled_from([ZoneInfo(z) for z in ZONES]),
        allow_imaginary=False,
    ),
    hours=st.integers(min_value=0, max_value=72),
)
def test_property_elapsed_hours_are_real_seconds(anchor, hours):
    due = due_at(anchor, amount=hours, unit="hours", counting="elapsed", tz=NY)
    assert due.utcoffset() == timedelta(0)
    # Exact instant arithmetic: float timestamps would lose the microseconds.
    assert due - anchor.astimezone(UTC) == timedelta(seconds=hours * 3600)
    assert due - anchor == timedelta(hours=hours)
