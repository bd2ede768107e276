"""Deadline reminders: which threshold an open obligation has most recently passed, and the
service that emails each (obligation, threshold) once.

Thresholds are counted from the due time: each ``h`` of ``DOCKET_REMINDER_THRESHOLDS_HOURS``
fires at ``due - h`` ("T-72h" … "T-1h", and "due" for 0); after the due time, "overdue-1",
"overdue-2", … fire every ``DOCKET_OVERDUE_REMINDER_HOURS`` while the obligation is open. Only
the most recent threshold that has fired is ever sent: after downtime the earlier missed ones
are skipped for good, so nobody gets a burst of stale reminders.

``latest_threshold`` is pure (no Django, no reading of the clock). ``send_due_reminders`` is
the service the Celery task calls; the ``ReminderDispatch`` unique constraint on (obligation,
threshold) is what makes a reminder go out once however many workers run it at once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role
from accounts.scoping import members_who_see
from core.time import format_local, require_aware

from .models import Obligation, ReminderDispatch

logger = logging.getLogger(__name__)

KEY_MAX_LENGTH = 64  # ReminderDispatch.threshold
DUE_LABEL = "due"
OVERDUE_PREFIX = "overdue-"
# A reminder sent later than this after its threshold fired (the workers were down) says how
# much time is actually left rather than the threshold's nominal span.
LATE_AFTER = timedelta(minutes=10)


class Threshold(NamedTuple):
    key: str
    """``<due instant, UTC, to the minute>/<label>``, e.g. ``2026-03-14T23:59Z/T-24h``."""
    fire_at: datetime


def _before_label(span: timedelta) -> str:
    """``T-72h``, ``T-90m``, ``T-45s``; ``due`` for no span."""
    seconds = round(span.total_seconds())
    if seconds == 0:
        return DUE_LABEL
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"T-{seconds // size}{unit}"
    return f"T-{seconds}s"


def threshold_key(due: datetime, label: str) -> str:
    """The key of threshold ``label`` of an obligation due at ``due``. The due instant is part
    of it, so an obligation whose due time is recomputed starts a fresh schedule."""
    require_aware("due", due)
    key = f"{due.astimezone(UTC):%Y-%m-%dT%H:%M}Z/{label}"
    if len(key) > KEY_MAX_LENGTH:
        raise ValueError(f"threshold key {key!r} is longer than {KEY_MAX_LENGTH} characters")
    return key


def latest_threshold(
    due: datetime,
    now: datetime,
    thresholds_hours,
    overdue_every_hours: float | None,
) -> Threshold | None:
    """The most recent threshold of an obligation due at ``due`` whose fire time is ≤ ``now``,
    as ``(key, fire_at)``; ``None`` when none has fired yet.

    ``thresholds_hours`` are hours before the due time (0 = at the due time; negative values
    are refused). After the due time, ``overdue-k`` fires at ``due + k * overdue_every_hours``
    for k = 1, 2, …; ``overdue_every_hours`` of 0 or ``None`` turns overdue reminders off.
    A threshold fires at its instant exactly: ``now == fire_at`` counts as fired.
    """
    require_aware("due", due)
    require_aware("now", now)
    spans = set()
    for hours in thresholds_hours:
        if hours < 0:
            raise ValueError(f"reminder thresholds are hours before the due time, got {hours!r}")
        spans.add(timedelta(hours=hours))
    if overdue_every_hours is not None and overdue_every_hours < 0:
        raise ValueError(f"the overdue interval cannot be negative, got {overdue_every_hours!r}")

    if overdue_every_hours:
        every = timedelta(hours=overdue_every_hours)
        k = (now - due) // every  # exact: timedelta floor division counts microseconds
        if k >= 1:
            return Threshold(threshold_key(due, f"{OVERDUE_PREFIX}{k}"), due + k * every)

    fired = [span for span in spans if due - span <= now]
    if not fired:
        return None
    span = min(fired)  # the smallest span fires last
    return Threshold(threshold_key(due, _before_label(span)), due - span)


# --- the service ------------------------------------------------------------------------------


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _span(delta: timedelta) -> str:
    """``3 days``, ``1 day 2 hours``, ``4 hours``, ``1 hour 30 minutes``, ``10 minutes``: the
    two largest units, to the minute (rounded down)."""
    minutes = int(delta.total_seconds() // 60)
    if minutes <= 0:
        return "less than a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        _plural(n, unit) for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")) if n
    ]
    return " ".join(parts[:2])


def _headline(due: datetime, fire_at: datetime, now: datetime) -> str:
    """``Due in 4 hours``, ``Due now``, ``OVERDUE by 1 day``. On time, the threshold's own span;
    sent late (after downtime), the time actually left at ``now``."""
    reference = fire_at if now - fire_at <= LATE_AFTER else now
    left = due - reference
    if left > timedelta(0):
        return f"Due in {_span(left)}"
    if left == timedelta(0):
        return "Due now"
    return f"OVERDUE by {_span(-left)}"


def _recipients(incident) -> list[str]:
    """Whom to remind about ``incident``'s obligations: the active users with an email address
    who hold, in the incident's agency, the compliance officer or approving official role, or
    the ISSO role with one of the incident's systems assigned or having opened it. Sorted,
    without duplicates."""
    emails = (
        members_who_see(incident)
        .filter(role__in=(Role.COMPLIANCE_OFFICER, Role.APPROVING_OFFICIAL, Role.ISSO))
        .filter(user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
        .distinct()
    )
    return sorted(set(emails))


def _title(ob) -> str:
    """The obligation's title, numbered for repeatable duties (supplementals)."""
    return f"{ob.rule.title} #{ob.sequence}" if ob.rule.repeatable else ob.rule.title


def _message(ob, fire_at: datetime, now: datetime) -> tuple[str, str]:
    incident, agency = ob.incident, ob.incident.agency
    tz = agency.tz
    headline = _headline(ob.due_at, fire_at, now)
    title = _title(ob)
    subject = f"[{agency.marking}] {headline}: {title} — {incident.number}"
    left = ob.due_at - now
    timing = (
        f"Time left:    {_span(left)}" if left >= timedelta(0) else f"Overdue by:   {_span(-left)}"
    )
    status = ob.status_at(now).value.replace("_", " ")
    body = "\n".join(
        [
            agency.marking,
            "",
            f"{headline}: {title} for incident {incident.number}.",
            "",
            f"Incident:     {incident.number} — {incident.title}",
            f"Obligation:   {title}",
            f"Report to:    {', '.join(ob.recipients) or '(no recipients recorded)'}",
            f"Due:          {format_local(ob.due_at, tz)}",
            timing,
            f"Status:       {status[:1].upper()}{status[1:]}",
            "",
            "Record the submission in Docket once the report has gone out; reminders stop when",
            "the obligation is met, waived or withdrawn.",
            "",
            agency.marking,
        ]
    )
    return subject, body


class _SendFailed(Exception):
    pass


def _dispatch(ob, threshold: Threshold, recipients: list[str], now: datetime) -> bool:
    """Record and send one reminder; ``False`` when another worker already has it.

    The row goes in first (in a savepoint: the unique constraint refuses a second one, and a
    concurrent insert waits for the first worker's transaction to end), then the email, then
    the commit. If sending raises, the row is rolled back with the transaction and the next
    run tries again."""
    subject, body = _message(ob, threshold.fire_at, now)
    with transaction.atomic():
        try:
            with transaction.atomic():
                ReminderDispatch.objects.create(
                    obligation=ob,
                    threshold=threshold.key,
                    fire_at=threshold.fire_at,
                    sent_at=now,
                    recipients=recipients,
                )
        except IntegrityError:
            logger.debug("Reminder %s of %s already sent by another worker.", threshold.key, ob)
            return False
        try:
            send_mail(subject, body, None, recipients)
        except Exception as exc:
            raise _SendFailed from exc
    return True


def send_due_reminders(*, now: datetime | None = None) -> int:
    """Email the latest due reminder of every open obligation that has not had it yet, and
    return how many went out. Safe to run from several workers at once and as often as the
    beat likes: each (obligation, threshold) is sent once. A reminder whose email fails is
    logged and retried on the next run."""
    now = now if now is not None else timezone.now()
    require_aware("now", now)
    thresholds = list(settings.DOCKET_REMINDER_THRESHOLDS_HOURS)
    every = settings.DOCKET_OVERDUE_REMINDER_HOURS
    horizon = now + timedelta(hours=max(thresholds, default=0))

    due = []
    for ob in (
        Obligation.objects.open()
        .filter(due_at__lte=horizon)
        .select_related("rule", "incident__agency")
        .order_by("due_at", "pk")
    ):
        threshold = latest_threshold(ob.due_at, now, thresholds, every)
        if threshold is not None:
            due.append((ob, threshold))
    if not due:
        return 0

    already = set(
        ReminderDispatch.objects.filter(
            obligation_id__in={ob.pk for ob, _ in due},
            threshold__in={t.key for _, t in due},
        ).values_list("obligation_id", "threshold")
    )
    recipients_of: dict[int, list[str]] = {}
    sent = 0
    for ob, threshold in due:
        if (ob.pk, threshold.key) in already:
            continue
        # Met, waived, withdrawn or recomputed since this run started reading: not due now.
        if not Obligation.objects.open().filter(pk=ob.pk, due_at=ob.due_at).exists():
            continue
        if ob.incident_id not in recipients_of:
            recipients_of[ob.incident_id] = _recipients(ob.incident)
        recipients = recipients_of[ob.incident_id]
        if not recipients:
            logger.warning("Reminder %s of %s: nobody to send it to.", threshold.key, ob)
            continue
        try:
            if _dispatch(ob, threshold, recipients, now):
                sent += 1
        except _SendFailed:
            logger.exception(
                "Reminder %s of %s could not be sent; it will be retried.", threshold.key, ob
            )
    return sent
