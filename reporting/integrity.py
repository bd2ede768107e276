"""The integrity of what Docket recorded, checked as a whole (docs/adr/0021-signed-checkpoints.md):
checkpoints of every audit and custody chain (hourly, ``manage.py checkpoint``), the
verification of every chain against them and of every obligation's due time against its rule
and anchor (``verify_audit``, ``verify_ledger``), and the daily alert to each agency's
administrators on any break (NIST AU-9, PCI DSS 10.3.4: change detection that alerts).

It sits in reporting's upper layer because it reads all of them: the audit trail (below
accounts), evidence's custody chains and reporting's obligations with the clock service.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.core.mail import mail_admins, send_mail
from django.utils import timezone

from accounts.models import Agency, Membership, Role
from audit.checkpoints import (
    ChainReport,
    CheckpointRun,
    ExportedCopy,
    checkpoint_audit_chains,
    verify_audit_chains,
)
from audit.models import AuditHead, Checkpoint
from core.time import format_local
from evidence.checkpoints import checkpoint_custody_chains
from evidence.services import CheckResult, ledger_verify
from incidents.models import IncidentEvent
from reporting.clock import due_at
from reporting.history import ReportingEventKind
from reporting.models import Obligation

from .services import _offsets

log = logging.getLogger(__name__)

CLOCK_EVENTS = (
    ReportingEventKind.OBLIGATION_CREATED,
    ReportingEventKind.CLOCK_RECOMPUTED,
    ReportingEventKind.OBLIGATION_WITHDRAWN,
)


def checkpoint_all(*, now: datetime | None = None) -> CheckpointRun:
    """Sign every audit chain and every custody chain whose head moved."""
    now = now or timezone.now()
    return checkpoint_audit_chains(now=now).merge(checkpoint_custody_chains(now=now))


# --- obligations' due times --------------------------------------------------------------


@dataclass
class DueTimeProblem:
    obligation: Obligation
    problem: str

    def line(self) -> str:
        ob = self.obligation
        return f"FAILED obligation {ob.pk} {ob.incident.number} {ob.rule.key}: {self.problem}"


def _logged_due_times(obligation_ids) -> dict[int, str]:
    """obligation id → the due time its clock events last recorded (ISO 8601)."""
    logged: dict[int, str] = {}
    events = IncidentEvent.objects.filter(kind__in=CLOCK_EVENTS).order_by("at", "pk")
    for data in events.values_list("data", flat=True).iterator(chunk_size=2000):
        pk = data.get("obligation") if isinstance(data, dict) else None
        due = data.get("new_due") or data.get("due_at") if pk is not None else None
        if pk in obligation_ids and due:
            logged[pk] = due
    return logged


def due_time_problems() -> list[DueTimeProblem]:
    """Each obligation whose due time differs from what the clock service gives for its rule
    and anchor (``reporting.clock.due_at`` with the offsets the sync uses), or from the due
    time its last clock event in the incident's append-only history recorded: a change made
    outside the clock service."""
    obligations = list(
        Obligation.objects.select_related("rule", "incident__agency", "incident__ruleset").order_by(
            "pk"
        )
    )
    logged = _logged_due_times({ob.pk for ob in obligations})
    offsets: dict[int, dict] = {}
    problems = []
    for ob in obligations:
        rule, incident = ob.rule, ob.incident
        tz = incident.agency.tz
        if incident.pk not in offsets:
            offsets[incident.pk] = _offsets(incident)
        amount = (
            offsets[incident.pk].get(rule.key, rule.offset_amount)
            if rule.agency_may_change_offset
            else rule.offset_amount
        )
        expected = due_at(
            ob.anchor_at, amount=amount, unit=rule.offset_unit, counting=rule.counting, tz=tz
        )
        if expected != ob.due_at:
            problems.append(
                DueTimeProblem(
                    ob,
                    f"due {format_local(ob.due_at, tz)} but its rule and anchor give "
                    f"{format_local(expected, tz)} (changed outside the clock service)",
                )
            )
            continue
        recorded = logged.get(ob.pk)
        if recorded is None or datetime.fromisoformat(recorded) != ob.due_at:
            said = format_local(datetime.fromisoformat(recorded), tz) if recorded else "nothing"
            problems.append(
                DueTimeProblem(
                    ob,
                    f"due {format_local(ob.due_at, tz)} but the incident's history last "
                    f"recorded {said} (changed outside the clock service)",
                )
            )
    return problems


# --- the whole check and its alert -------------------------------------------------------


@dataclass
class IntegrityReport:
    audit: list[ChainReport] = field(default_factory=list)
    custody: list[CheckResult] = field(default_factory=list)
    due_times: list[DueTimeProblem] = field(default_factory=list)

    @property
    def failures(self) -> list:
        return [r for r in (*self.audit, *self.custody) if not r.ok] + list(self.due_times)


def verify_all(copy: ExportedCopy | None = None) -> IntegrityReport:
    return IntegrityReport(
        audit=verify_audit_chains(copy), custody=ledger_verify(copy), due_times=due_time_problems()
    )


def _agency_of(failure) -> int | None:
    if isinstance(failure, ChainReport):
        head = AuditHead.objects.filter(chain=failure.chain).first()
        if head is not None:
            return head.agency_id
        return int(failure.chain.split("-", 1)[1]) if failure.chain.startswith("agency-") else None
    if isinstance(failure, CheckResult):
        if failure.evidence is not None:
            return failure.evidence.incident.agency_id
        cp = Checkpoint.objects.filter(chain=failure.chain).exclude(agency=None).first()
        return cp.agency_id if cp else None
    return failure.obligation.incident.agency_id


def alert_breaks(*, now: datetime | None = None) -> IntegrityReport:
    """Run the whole verification; mail each agency's administrators the breaks of its
    chains and obligations, and the installation's ``ADMINS`` the rest. Returns the report."""
    now = now or timezone.now()
    report = verify_all()
    by_agency: dict[int | None, list[str]] = {}
    for failure in report.failures:
        by_agency.setdefault(_agency_of(failure), []).append(failure.line())
    for agency_id, lines in by_agency.items():
        log.error("integrity check: %d break(s) for agency %s", len(lines), agency_id)
        agency = Agency.objects.filter(pk=agency_id).first() if agency_id else None
        if agency is None:
            mail_admins(
                f"Docket integrity check: {len(lines)} break(s)", _message(None, lines, now)
            )
            continue
        recipients = sorted(
            set(
                Membership.objects.filter(
                    agency=agency, role=Role.AGENCY_ADMIN, user__is_active=True
                )
                .exclude(user__email="")
                .values_list("user__email", flat=True)
            )
        )
        if not recipients:
            log.error("no agency administrator of %s to alert", agency.abbreviation)
            continue
        send_mail(
            f"[Docket] {agency.abbreviation}: integrity check found {len(lines)} break(s)",
            _message(agency, lines, now),
            None,
            recipients,
        )
    return report


def _message(agency, lines: list[str], now: datetime) -> str:
    tz = agency.tz if agency is not None else timezone.get_default_timezone()
    where = agency.name if agency is not None else "the installation"
    return (
        f"The daily integrity check of {format_local(now, tz)} found that records of {where} "
        "no longer match their hash chains, their signed checkpoints or the clock service:\n\n"
        + "\n".join(f"- {line}" for line in lines)
        + "\n\nSomeone with access to the database may have changed or removed them. Keep the "
        "exported checkpoints safe, run `manage.py verify_audit` and `manage.py verify_ledger` "
        "to see the breaks (docs/operations.md, 'Signing key and checkpoints').\n"
    )
