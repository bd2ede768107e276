"""Deadline reminders: the threshold arithmetic (pure) and the service that emails each
(obligation, threshold) once, with injected ``now`` and Django's in-memory outbox."""

import smtplib
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from accounts.context import context_for
from accounts.models import Role
from accounts.services import membership_grant
from incidents.services import determination_record
from reporting import reminders, tasks
from reporting.models import Obligation, ReminderDispatch
from reporting.reminders import latest_threshold, send_due_reminders
from reporting.services import obligation_waive, submission_record

from .support.factories import UserFactory

H = timedelta(hours=1)
DAY = timedelta(days=1)
THRESHOLDS = [72, 24, 4, 1, 0]
DUE = datetime(2026, 3, 14, 23, 59, tzinfo=UTC)
PREFIX = "2026-03-14T23:59Z/"


def latest(now, due=DUE, thresholds=THRESHOLDS, every=24):
    return latest_threshold(due, now, thresholds, every)


# --- latest_threshold ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "label"),
    [
        (-72 * H, "T-72h"),
        (-24 * H, "T-24h"),
        (-4 * H, "T-4h"),
        (-1 * H, "T-1h"),
        (timedelta(0), "due"),
        (DAY, "overdue-1"),
        (2 * DAY, "overdue-2"),
        (30 * DAY, "overdue-30"),
    ],
)
def test_each_threshold_fires_at_its_instant_exactly(offset, label):
    assert latest(DUE + offset) == (PREFIX + label, DUE + offset)


@pytest.mark.parametrize(
    ("offset", "previous"),
    [
        (-72 * H, None),
        (-24 * H, "T-72h"),
        (-4 * H, "T-24h"),
        (-1 * H, "T-4h"),
        (timedelta(0), "T-1h"),
        (DAY, "due"),
        (2 * DAY, "overdue-1"),
    ],
)
def test_one_microsecond_before_a_threshold_the_previous_one_is_latest(offset, previous):
    result = latest(DUE + offset - timedelta(microseconds=1))
    assert (result.key if result else None) == (PREFIX + previous if previous else None)


def test_key_example_and_the_due_instant_in_utc():
    assert latest(DUE - 23 * H).key == "2026-03-14T23:59Z/T-24h"
    # A due time given in another zone is keyed by its UTC instant.
    local_due = DUE.astimezone(ZoneInfo("America/New_York"))
    assert latest(local_due - 23 * H, due=local_due).key == "2026-03-14T23:59Z/T-24h"


def test_a_recomputed_due_time_starts_a_fresh_schedule():
    moved = DUE + 2 * H
    now = DUE - 20 * H
    assert latest(now).key != latest(now, due=moved).key
    assert latest(now, due=moved) == ("2026-03-15T01:59Z/T-24h", moved - 24 * H)


def test_after_downtime_only_the_latest_threshold():
    # The workers were down from before T-72h until 2 h before the due time.
    assert latest(DUE - 2 * H) == (PREFIX + "T-4h", DUE - 4 * H)
    # … or until five days and three hours after it.
    assert latest(DUE + 5 * DAY + 3 * H) == (PREFIX + "overdue-5", DUE + 5 * DAY)


def test_before_every_threshold_nothing():
    assert latest(DUE - 100 * H) is None
    assert latest(DUE - H, thresholds=[]) is None


def test_thresholds_in_any_order_duplicated_and_fractional():
    thresholds = [1, 0.5, 24, 1, 72]
    assert latest(DUE - 45 * timedelta(minutes=1), thresholds=thresholds) == (
        PREFIX + "T-1h",
        DUE - H,
    )
    assert latest(DUE - 10 * timedelta(minutes=1), thresholds=thresholds) == (
        PREFIX + "T-30m",
        DUE - timedelta(minutes=30),
    )
    # Without a 0 threshold nothing new fires at the due time; overdue-1 still does.
    assert latest(DUE + H, thresholds=thresholds).key == PREFIX + "T-30m"
    assert latest(DUE + DAY, thresholds=thresholds).key == PREFIX + "overdue-1"


def test_other_overdue_intervals_and_turning_them_off():
    assert latest(DUE + 13 * H, every=6) == (PREFIX + "overdue-2", DUE + 12 * H)
    assert latest(DUE + 400 * DAY, every=0) == (PREFIX + "due", DUE)
    assert latest(DUE + 400 * DAY, every=None) == (PREFIX + "due", DUE)


def test_end_of_local_day_due_times_are_keyed_to_the_minute_and_fit_the_column():
    due = datetime(2026, 3, 18, 3, 59, 59, 999999, tzinfo=UTC)
    result = latest(due + 100_000 * DAY, due=due)
    assert result.key == "2026-03-18T03:59Z/overdue-100000"
    assert len(result.key) <= ReminderDispatch._meta.get_field("threshold").max_length


def test_refuses_naive_instants_and_negative_thresholds():
    with pytest.raises(ValueError, match="aware"):
        latest(datetime(2026, 3, 14, 12, 0))
    with pytest.raises(ValueError, match="aware"):
        latest(DUE, due=datetime(2026, 3, 14, 12, 0))
    with pytest.raises(ValueError, match="before the due time"):
        latest(DUE, thresholds=[24, -1])
    with pytest.raises(ValueError, match="negative"):
        latest(DUE, every=-24)


@given(
    due=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    offset=st.timedeltas(min_value=-10 * DAY, max_value=20 * DAY),
    thresholds=st.lists(st.sampled_from([0, 0.25, 1, 4, 24, 72, 100]), max_size=5),
    every=st.sampled_from([None, 0, 1, 6, 24, 48]),
)
def test_latest_threshold_agrees_with_listing_every_fire_time(due, offset, thresholds, every):
    now = due + offset
    fire_times = [due - timedelta(hours=h) for h in thresholds]
    if every:
        fire_times += [due + k * timedelta(hours=every) for k in range(1, 20 * 24 // every + 2)]
    passed = [t for t in fire_times if t <= now]
    result = latest_threshold(due, now, thresholds, every)
    if not passed:
        assert result is None
    else:
        assert result.fire_at == max(passed)
        assert result.key.startswith(f"{due:%Y-%m-%dT%H:%M}Z/")


# --- the service --------------------------------------------------------------------------------

T0 = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # 10:00 EDT: New York is on daylight time
CISA_DUE = T0 + H
# Seven local days after 2026-03-10, to the end of the New York day: 23:59:59.999999 EDT.
SEVEN_DAY_DUE = datetime(2026, 3, 18, 3, 59, 59, 999999, tzinfo=UTC)


@pytest.fixture(autouse=True)
def reminder_settings(settings):
    settings.DOCKET_REMINDER_THRESHOLDS_HOURS = THRESHOLDS
    settings.DOCKET_OVERDUE_REMINDER_HOURS = 24


def run(now):
    return send_due_reminders(now=now)


def sent_keys(ob):
    return list(
        ReminderDispatch.objects.filter(obligation=ob)
        .order_by("fire_at")
        .values_list("threshold", flat=True)
    )


def obligation(incident, rule_key):
    return Obligation.objects.get(incident=incident, rule__key=rule_key)


def declare_major(incident, olivia, agency, *, now, basis_at=None):
    return determination_record(
        ctx=context_for(olivia, agency),
        incident=incident,
        decision="major",
        rationale="Exfiltration of customer records.",
        basis_at=basis_at,
        now=now,
    )


def test_each_threshold_is_sent_once_across_repeated_runs(open_incident, carol, olivia):
    incident = open_incident(now=T0)
    ob = obligation(incident, "cisa-initial")
    assert ob.due_at == CISA_DUE

    assert run(T0) == 1  # T-72h … T-1h have all passed at opening: only T-1h goes out
    assert run(T0 + timedelta(seconds=30)) == 0
    assert run(T0 + 59 * timedelta(minutes=1)) == 0
    assert run(CISA_DUE) == 1
    assert run(CISA_DUE + timedelta(seconds=1)) == 0
    assert run(CISA_DUE + DAY - timedelta(microseconds=1)) == 0
    assert run(CISA_DUE + DAY) == 1
    assert run(CISA_DUE + DAY + timedelta(minutes=1)) == 0
    assert run(CISA_DUE + 2 * DAY) == 1
    assert run(CISA_DUE + 2 * DAY) == 0

    key = "2026-03-10T15:00Z/"
    assert sent_keys(ob) == [key + "T-1h", key + "due", key + "overdue-1", key + "overdue-2"]
    assert [m.subject for m in mail.outbox] == [
        "[CUI] Due in 1 hour: CISA incident notification — FTA-2026-0001",
        "[CUI] Due now: CISA incident notification — FTA-2026-0001",
        "[CUI] OVERDUE by 1 day: CISA incident notification — FTA-2026-0001",
        "[CUI] OVERDUE by 2 days: CISA incident notification — FTA-2026-0001",
    ]


def test_after_downtime_only_the_most_recent_missed_threshold_is_sent_once(
    open_incident, agency_a, carol, olivia
):
    incident = open_incident(now=T0)
    declare_major(incident, olivia, agency_a, now=T0)
    congress = obligation(incident, "congress-7-day")
    inspector = obligation(incident, "ig-7-day")
    assert congress.due_at == inspector.due_at == SEVEN_DAY_DUE
    assert run(T0) == 2  # both CISA notifications at T-1h; the 7-day ones are far off
    assert sent_keys(congress) == sent_keys(inspector) == []

    # Down from now until two hours before the seven-day deadline: T-72h, T-24h and T-4h
    # passed unseen. Only T-4h goes out, and says how much time is actually left.
    mail.outbox.clear()
    back = SEVEN_DAY_DUE - 2 * H
    run(back)
    run(back + timedelta(minutes=1))
    key = "2026-03-18T03:59Z/"
    assert sent_keys(congress) == sent_keys(inspector) == [key + "T-4h"]
    seven_day_mail = [m.subject for m in mail.outbox if "(7 days)" in m.subject]
    assert sorted(seven_day_mail) == [
        "[CUI] Due in 2 hours: Congressional notification (7 days) — FTA-2026-0001",
        "[CUI] Due in 2 hours: Inspector General notification (7 days) — FTA-2026-0001",
    ]

    run(SEVEN_DAY_DUE - H)
    assert sent_keys(congress) == [key + "T-4h", key + "T-1h"]


def test_a_recomputed_due_time_gets_a_fresh_schedule(open_incident, agency_a, carol, olivia):
    incident = open_incident(now=T0, identified_at=T0 - 2 * DAY)
    declare_major(incident, olivia, agency_a, now=T0)
    congress = obligation(incident, "congress-7-day")
    run(SEVEN_DAY_DUE - 72 * H)
    assert sent_keys(congress) == ["2026-03-18T03:59Z/T-72h"]

    # An hour later the approving official corrects the basis time to a day earlier: the
    # deadline moves a day earlier, and its schedule starts over (T-72h has passed: it goes).
    mail.outbox.clear()
    corrected_at = SEVEN_DAY_DUE - 71 * H
    declare_major(incident, olivia, agency_a, now=corrected_at, basis_at=T0 - DAY)
    congress.refresh_from_db()
    assert congress.due_at == SEVEN_DAY_DUE - DAY
    run(corrected_at)
    run(congress.due_at - 24 * H)
    assert sent_keys(congress) == [
        "2026-03-17T03:59Z/T-72h",
        "2026-03-18T03:59Z/T-72h",
        "2026-03-17T03:59Z/T-24h",
    ]
    congress_mail = [m for m in mail.outbox if "Congressional" in m.subject]
    assert [m.subject for m in congress_mail] == [
        "[CUI] Due in 1 day 23 hours: Congressional notification (7 days) — FTA-2026-0001",
        "[CUI] Due in 1 day: Congressional notification (7 days) — FTA-2026-0001",
    ]
    assert "Due:          2026-03-16 23:59 EDT (America/New_York)" in congress_mail[-1].body


def test_met_waived_and_withdrawn_obligations_get_no_reminders(
    open_incident, agency_a, alice, carol, olivia
):
    incident = open_incident(now=T0)
    declare_major(incident, olivia, agency_a, now=T0)
    submission_record(
        ctx=context_for(carol, agency_a),
        obligation=obligation(incident, "cisa-initial"),
        channel="cisa_portal",
        now=T0 + 10 * timedelta(minutes=1),
    )
    obligation_waive(
        ctx=context_for(olivia, agency_a),
        obligation=obligation(incident, "cisa-major-update"),
        reason="Covered by the initial notification.",
        now=T0 + 11 * timedelta(minutes=1),
    )
    other = open_incident(now=T0, title="Phishing wave")
    declare_major(other, olivia, agency_a, now=T0)
    determination_record(  # corrected: not major, so the major-incident duties are withdrawn
        ctx=context_for(olivia, agency_a),
        incident=other,
        decision="not_major",
        rationale="Contained before any records left.",
        now=T0 + 20 * timedelta(minutes=1),
    )
    withdrawn = Obligation.objects.filter(incident=other, withdrawn_at__isnull=False)
    assert withdrawn.count() == 3

    for now in (
        T0 + 30 * timedelta(minutes=1),
        CISA_DUE,
        SEVEN_DAY_DUE - 3 * H,
        SEVEN_DAY_DUE,
        SEVEN_DAY_DUE + 3 * DAY,
    ):
        run(now)

    silent = [obligation(incident, "cisa-initial"), obligation(incident, "cisa-major-update")]
    assert ReminderDispatch.objects.filter(obligation__in=[*silent, *withdrawn]).count() == 0
    # The open ones were reminded all along.
    assert sent_keys(obligation(incident, "congress-7-day"))[-1] == "2026-03-18T03:59Z/overdue-3"
    assert sent_keys(obligation(other, "cisa-initial"))[-1] == "2026-03-10T15:00Z/overdue-10"


def test_recipients_are_the_incidents_people_in_its_agency(
    open_incident, agency_a, agency_b, hr_system, alice, carol, olivia, audrey, adam, bob
):
    ivan = UserFactory(username="ivan")  # ISSO of another system of agency A
    membership_grant(user=ivan, agency=agency_a, role=Role.ISSO, systems=[hr_system])
    nora = UserFactory(username="nora", email="")  # compliance officer without an address
    membership_grant(user=nora, agency=agency_a, role=Role.COMPLIANCE_OFFICER)
    ina = UserFactory(username="ina", is_active=False)  # a deactivated approving official
    membership_grant(user=ina, agency=agency_a, role=Role.APPROVING_OFFICIAL)
    olivia_b = UserFactory(username="olivia")  # olivia also works for agency B: one email
    membership_grant(user=olivia_b, agency=agency_b, role=Role.COMPLIANCE_OFFICER)
    membership_grant(user=carol, agency=agency_a, role=Role.APPROVING_OFFICIAL)

    web = open_incident(now=T0)
    # ivan opens one that affects none of his systems: he gets it as its opener, alice doesn't.
    unassigned = open_incident(now=T0, by=ivan, systems=[], title="Lost laptop")
    assert run(T0) == 2

    to = {m.subject.rsplit(" — ", 1)[1]: m.to for m in mail.outbox}
    assert to == {
        web.number: ["alice@example.gov", "carol@example.gov", "olivia@example.gov"],
        unassigned.number: ["carol@example.gov", "ivan@example.gov", "olivia@example.gov"],
    }
    dispatch = ReminderDispatch.objects.get(obligation__incident=web)
    assert dispatch.recipients == to[web.number]


def test_the_email_names_the_incident_the_report_and_the_local_due_time(
    open_incident, agency_a, carol, olivia
):
    agency_a.marking = "CUI//SP-INC"
    agency_a.save()
    incident = open_incident(now=T0)
    declare_major(incident, olivia, agency_a, now=T0)
    run(SEVEN_DAY_DUE - 24 * H)

    (message,) = [m for m in mail.outbox if "Congressional" in m.subject]
    assert message.subject == (
        "[CUI//SP-INC] Due in 1 day: Congressional notification (7 days) — FTA-2026-0001"
    )
    body = message.body
    assert body.startswith("CUI//SP-INC\n") and body.endswith("\nCUI//SP-INC")
    assert "FTA-2026-0001 — Shell spawned in store-frontend" in body
    assert "Obligation:   Congressional notification (7 days)" in body
    assert "House Committee on Homeland Security, House Committee on Science" in body
    assert "Due:          2026-03-17 23:59 EDT (America/New_York)" in body
    assert "Time left:    1 day\n" in body
    assert "Status:       Due soon" in body

    cisa = next(m for m in mail.outbox if "CISA incident notification" in m.subject)
    assert "Due:          2026-03-10 11:00 EDT (America/New_York)" in cisa.body
    assert "Status:       Overdue" in cisa.body
    assert "Report to:    CISA\n" in cisa.body


def test_recipients_are_looked_up_once_per_incident(open_incident, agency_a, carol, olivia):
    incident = open_incident(now=T0)
    declare_major(incident, olivia, agency_a, now=T0)
    open_incident(now=T0, title="Second")
    with CaptureQueriesContext(connection) as queries:
        assert run(T0) == 3  # two CISA duties of the first incident, one of the second
    membership_lookups = [q for q in queries if "accounts_membership" in q["sql"]]
    assert len(membership_lookups) == 2
    obligation_reads = [q for q in queries if 'FROM "reporting_obligation"' in q["sql"]]
    assert len(obligation_reads) == 1 + 3  # the scan, then one re-check per reminder sent


def test_a_failed_email_leaves_no_record_and_is_sent_next_run(
    open_incident, agency_a, carol, olivia, monkeypatch, caplog
):
    incident = open_incident(now=T0)
    declare_major(incident, olivia, agency_a, now=T0)
    real_send_mail = reminders.send_mail
    calls = []

    def first_one_fails(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 1:
            raise smtplib.SMTPServerDisconnected("connection lost")
        return real_send_mail(*args, **kwargs)

    monkeypatch.setattr(reminders, "send_mail", first_one_fails)
    assert run(T0) == 1  # one failed, the other went out regardless
    assert ReminderDispatch.objects.count() == 1
    assert len(mail.outbox) == 1
    assert "could not be sent; it will be retried" in caplog.text
    failed = Obligation.objects.get(due_at=CISA_DUE, reminders__isnull=True)

    assert run(T0 + timedelta(minutes=1)) == 1
    assert sent_keys(failed) == ["2026-03-10T15:00Z/T-1h"]
    assert run(T0 + timedelta(minutes=2)) == 0
    assert len(mail.outbox) == 2


def test_a_reminder_another_worker_recorded_meanwhile_is_skipped_inside_a_transaction(
    open_incident, carol, olivia, monkeypatch
):
    """Another worker commits the row after this one read "nothing sent" and before it inserts:
    the insert fails in its savepoint, nothing is sent, and the caller's transaction (here the
    test's) stays usable."""
    incident = open_incident(now=T0)
    ob = obligation(incident, "cisa-initial")
    real_recipients = reminders._recipients

    def other_worker_first(incident):
        ReminderDispatch.objects.create(
            obligation=ob, threshold="2026-03-10T15:00Z/T-1h", fire_at=T0, sent_at=T0
        )
        return real_recipients(incident)

    monkeypatch.setattr(reminders, "_recipients", other_worker_first)
    assert run(T0) == 0
    assert mail.outbox == []
    assert sent_keys(ob) == ["2026-03-10T15:00Z/T-1h"]


def test_the_celery_task_runs_the_service(open_incident, carol, olivia):
    from config.celery import app

    name = django_settings.CELERY_BEAT_SCHEDULE["send-deadline-reminders"]["task"]
    assert tasks.send_due_reminders.name == name
    assert app.tasks[name].name == name  # registered with the app beat sends it to
    assert tasks.send_due_reminders.__doc__

    now = datetime.now(UTC)
    open_incident(now=now)
    assert tasks.send_due_reminders.apply().get() == 1
    assert tasks.send_due_reminders.apply().get() == 0
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_at_once_send_each_reminder_exactly_once(
    open_incident, agency_a, alice, carol, olivia, monkeypatch
):
    incidents = [open_incident(now=T0, title=f"Incident {n}") for n in range(3)]
    declare_major(incidents[0], olivia, agency_a, now=T0)
    expected = set(Obligation.objects.filter(due_at=CISA_DUE).values_list("pk", flat=True))
    assert len(expected) == 4

    # Both workers read "nothing sent yet" before either inserts, so they race on the row.
    read_done = threading.Barrier(2, timeout=20)
    start = threading.Barrier(2, timeout=20)
    local = threading.local()
    real_dispatch = reminders._dispatch
    lost = []

    def dispatch(*args, **kwargs):
        if not getattr(local, "waited", False):
            local.waited = True
            read_done.wait()
        won = real_dispatch(*args, **kwargs)
        if not won:
            lost.append(args[1].key)
        return won

    monkeypatch.setattr(reminders, "_dispatch", dispatch)
    counts, errors = [], []

    def worker():
        try:
            start.wait()
            counts.append(send_due_reminders(now=T0))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            read_done.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)

    assert sum(counts) == 4
    assert lost, "the workers never raced for the same reminder"
    rows = list(ReminderDispatch.objects.values_list("obligation_id", "threshold"))
    assert len(rows) == len(set(rows)) == 4
    assert {ob for ob, _ in rows} == expected
    subjects = [m.subject for m in mail.outbox]
    assert len(subjects) == len(set(subjects)) == 4
