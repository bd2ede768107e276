"""Reading evidence: verified downloads, views, verification (one item or all), export entries,
withdrawal."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.context import AgencyContext
from accounts.models import Membership, Role
from accounts.permissions import require
from accounts.scoping import scope
from audit.trail import record, record_for
from core.errors import Conflict, InvalidInput, NotFound
from core.storage import (
    hash_stored,
    open_stored,
    storage_label,
)
from core.time import format_local
from evidence.errors import IntegrityFailure
from evidence.models import Action, CustodyEntry, Evidence

from .common import _now
from .custody import CheckResult, custody_append

logger = logging.getLogger(__name__)


def _stored_problem(ev: Evidence) -> tuple[str | None, str, int | None]:
    """(problem or None, SHA-256 found, size found) for the stored file of ``ev`` ("" and
    ``None`` when the file is missing)."""
    try:
        actual, size = hash_stored(ev.storage_name)
    except FileNotFoundError:
        return "the stored file is missing", "", None
    if actual != ev.sha256:
        return f"SHA-256 of the stored file is {actual}, recorded {ev.sha256}", actual, size
    if size != ev.size:
        return f"the stored file has {size} bytes, recorded {ev.size}", actual, size
    return None, actual, size


def _alert_admins(ev: Evidence, problem: str) -> None:
    """Tell the agency's administrators that an item failed verification."""
    agency = ev.incident.agency
    emails = sorted(
        {
            m.user.email
            for m in Membership.objects.filter(agency=agency, role=Role.AGENCY_ADMIN)
            .select_related("user")
            .only("user__email")
            if m.user.email
        }
    )
    logger.error("Evidence %s of %s failed verification: %s", ev.pk, ev.incident.number, problem)
    if emails:
        send_mail(
            f"[Docket] Evidence integrity failure in {ev.incident.number}",
            f"Evidence {ev.pk} ({ev.original_filename}) of incident {ev.incident.number} no "
            f"longer matches what was recorded at upload: {problem}.\n\nDownloads of it are "
            "refused until it is investigated.",
            None,
            emails,
            fail_silently=True,
        )


def record_failed_verify(
    *, ev: Evidence, problem: str, actual: str, actor, ctx, now, size: int | None = None
) -> None:
    """A failed ``verify`` entry: what was found (``sha256``, ``size``; empty when the file is
    missing) beside the problem. The item shows it as its integrity status
    (``evidence.integrity``) until a later check finds the file intact."""
    data = {"ok": False, "sha256": actual}
    if size is not None:
        data["size"] = size
    # Its own transaction: the failure must stay on record although the caller raises.
    with transaction.atomic():
        custody_append(
            evidence=ev,
            action=Action.VERIFY,
            actor=actor,
            actor_name=None if actor is not None else "system",
            ctx=ctx,
            at=now,
            note=f"FAILED: {problem}",
            data=data,
        )
        if ctx is not None:  # the daily run records one entry per agency instead
            record_for(
                ctx,
                "evidence_verify",
                subject=ev,
                subject_ref=_ref(ev),
                at=now,
                outcome="failure",
                reason=problem,
            )
    _alert_admins(ev, problem)


def evidence_verify_all(*, now: datetime | None = None) -> list[CheckResult]:
    """Re-hash every stored file against its recorded SHA-256 and size; each check is a
    ``verify`` custody entry (``manage.py verify_evidence``, the Celery task)."""
    results = []
    by_agency: dict[int, list[CheckResult]] = {}
    for ev in (
        Evidence.objects.select_related("incident__agency").order_by("pk").iterator(chunk_size=200)
    ):
        problem, actual, size = _stored_problem(ev)
        if problem:
            record_failed_verify(
                ev=ev,
                problem=problem,
                actual=actual,
                actor=None,
                ctx=None,
                now=_now(now),
                size=size,
            )
        else:
            custody_append(
                evidence=ev,
                action=Action.VERIFY,
                actor_name="system",
                at=_now(now),
                note="SHA-256 and size match the upload.",
                data={"ok": True, "sha256": actual},
            )
        results.append(CheckResult(ev, problem is None, [problem] if problem else []))
        by_agency.setdefault(ev.incident.agency_id, []).append(results[-1])
    # One run is one act per agency: its entry counts the items and names the failures.
    for agency_id, checked in by_agency.items():
        failed = [f"evidence {r.evidence.pk}: {'; '.join(r.problems)}" for r in checked if not r.ok]
        record(
            "evidence_verify_all",
            agency=agency_id,
            subject_type="evidence.Evidence",
            subject_ref=f"{len(checked)} item(s)",
            at=_now(now),
            changes={"checked": len(checked), "failed": len(failed)},
            outcome="failure" if failed else "success",
            reason="; ".join(failed)[:2000],
        )
    return results


class VerifyingFile:
    """A stored file handed out for reading, re-hashed on the way: at its end a mismatch
    raises ``IntegrityFailure`` (cutting a streamed response short) instead of ending
    cleanly, after ``on_mismatch(problem, sha256, size)`` recorded it."""

    def __init__(self, fh, evidence: Evidence, on_mismatch=None):
        self.fh = fh
        self.evidence = evidence
        self.digest = hashlib.sha256()
        self.size = 0
        self.on_mismatch = on_mismatch
        self.at_end = False
        self.name = ""  # FileResponse: no path to look at; Content-Length is set by the view

    def read(self, size: int = -1) -> bytes:
        chunk = self.fh.read(size)
        if chunk:
            self.digest.update(chunk)
            self.size += len(chunk)
            return chunk
        self.at_end = True
        if self.digest.hexdigest() != self.evidence.sha256:
            actual = self.digest.hexdigest()
            if self.on_mismatch is not None:
                on_mismatch, self.on_mismatch = self.on_mismatch, None  # once
                on_mismatch(
                    f"the stored file changed while it was being read: SHA-256 {actual}, "
                    f"recorded {self.evidence.sha256}",
                    actual,
                    self.size,
                )
            raise IntegrityFailure("The stored file changed while it was being read.")
        return chunk

    def problem(self) -> str | None:
        """Once read to its end: ``None`` when the bytes read are the upload's, else what
        differs (a file not read to its end is a problem too)."""
        if not self.at_end:
            return "the stored file was not read to its end"
        if self.digest.hexdigest() != self.evidence.sha256:
            return f"SHA-256 of the bytes read is {self.digest.hexdigest()}"
        if self.size != self.evidence.size:
            return f"{self.size} bytes were read, recorded {self.evidence.size}"
        return None

    def close(self) -> None:
        self.fh.close()


def evidence_open(
    *, ctx: AgencyContext, evidence: Evidence, purpose: str, now: datetime | None = None
) -> VerifyingFile:
    """Open an item for reading by anyone who may see its incident (auditors included). The
    file is re-hashed first; a mismatch is recorded as a failed ``verify`` entry, alerts the
    agency administrators and raises ``IntegrityFailure``. Otherwise the access is logged
    (``view`` or ``download``) before the file is handed out, itself re-hashed on the way."""
    if purpose not in (Action.VIEW, Action.DOWNLOAD):
        raise InvalidInput("The purpose must be 'view' or 'download'.", field="purpose")
    now = _now(now)
    ev = (
        scope(Evidence.objects.select_related("incident__agency"), ctx)
        .filter(pk=evidence.pk)
        .first()
    )
    if ev is None:
        raise NotFound("No such evidence.")
    problem, actual, size = _stored_problem(ev)
    if problem:
        record_failed_verify(
            ev=ev, problem=problem, actual=actual, actor=ctx.user, ctx=ctx, now=now, size=size
        )
        raise IntegrityFailure(
            f"Evidence {ev.pk} failed verification ({problem}); it is not handed out and the "
            "agency administrators were alerted."
        )
    data = {"sha256_verified": actual}
    note = ""
    if ev.withdrawn_at is not None:
        data["withdrawn"] = True
        note = f"Withdrawn item (since {ev.withdrawn_at.isoformat()}: {ev.withdrawn_reason})."
    with transaction.atomic():
        custody_append(
            evidence=ev,
            action=purpose,
            actor=ctx.user,
            ctx=ctx,
            at=now,
            note=note,
            location=f"{storage_label()}:{ev.storage_name}",
            data=data,
        )
        record_for(
            ctx,
            "evidence_download" if purpose == Action.DOWNLOAD else "evidence_content_view",
            subject=ev,
            subject_ref=_ref(ev),
            at=now,
            reason=note,
        )

    def on_mismatch(problem: str, found: str, found_size: int) -> None:
        # Found only at the end of the read: recorded like any failed check, so the item
        # shows the failure (the time is that of the discovery, not of the opening).
        record_failed_verify(
            ev=ev,
            problem=problem,
            actual=found,
            actor=ctx.user,
            ctx=ctx,
            now=timezone.now(),
            size=found_size,
        )

    return VerifyingFile(open_stored(ev.storage_name), ev, on_mismatch=on_mismatch)


# --- access, verification, export, withdrawal ----------------------------------------------


def _in_scope(ctx: AgencyContext, evidence: Evidence, *, lock: bool = False) -> Evidence:
    queryset = Evidence.objects.select_related("incident__agency", "uploaded_by")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    ev = scope(queryset, ctx).filter(pk=evidence.pk).first()
    if ev is None:
        raise NotFound("No such evidence.")
    return ev


def _ref(ev: Evidence) -> str:
    return f"{ev.incident.number} evidence {ev.pk} {ev.original_filename!r}"


def evidence_view(*, ctx: AgencyContext, evidence: Evidence, now: datetime | None = None):
    """Record that ``ctx.user`` looked at the item's record (its page: metadata, hashes,
    ledger): an audit entry, not a custody one — the file is not handled (reading it goes
    through ``evidence_open``, which the ledger records)."""
    ev = _in_scope(ctx, evidence)
    return record_for(ctx, "evidence_view", subject=ev, subject_ref=_ref(ev), at=_now(now))


def evidence_verify(
    *, ctx: AgencyContext, evidence: Evidence, now: datetime | None = None
) -> CheckResult:
    """Re-hash the stored file now, on request of anyone who sees the item; the result is a
    ``verify`` custody entry either way (a failure also alerts the agency administrators)."""
    now = _now(now)
    ev = _in_scope(ctx, evidence)
    problem, actual, size = _stored_problem(ev)
    if problem:
        record_failed_verify(
            ev=ev, problem=problem, actual=actual, actor=ctx.user, ctx=ctx, now=now, size=size
        )
        return CheckResult(ev, False, [problem])
    with transaction.atomic():
        custody_append(
            evidence=ev,
            action=Action.VERIFY,
            actor=ctx.user,
            ctx=ctx,
            at=now,
            note="SHA-256 and size match the upload.",
            data={"ok": True, "sha256": actual},
        )
        record_for(ctx, "evidence_verify", subject=ev, subject_ref=_ref(ev), at=now)
    return CheckResult(ev, True, [])


def custody_export(
    *,
    ctx: AgencyContext,
    evidence: Evidence,
    destination: str,
    package: str = "",
    copied: VerifyingFile | None = None,
    now: datetime | None = None,
) -> CustodyEntry:
    """Record that the item is copied out of Docket (into an evidence package, to an outside
    party): an ``export`` entry naming where it went, written only after the stored file was
    re-hashed and found intact. Withdrawn items are not exported.

    ``copied``: the ``VerifyingFile`` the copy was just read through, to its end (an evidence
    package streams each item so): its re-hash is the check, and the file is not read again.
    """
    now = _now(now)
    if not destination or not destination.strip():
        raise InvalidInput("Say where the item is exported to.", field="destination")
    ev = _in_scope(ctx, evidence)
    if ev.withdrawn:
        raise Conflict(f"Evidence {ev.pk} was withdrawn; it is not exported.")
    if copied is not None:
        if copied.evidence.pk != ev.pk:
            raise InvalidInput("The copy read is of another item.", field="copied")
        problem, actual, size = copied.problem(), copied.digest.hexdigest(), copied.size
    else:
        problem, actual, size = _stored_problem(ev)
    if problem:
        record_failed_verify(
            ev=ev, problem=problem, actual=actual, actor=ctx.user, ctx=ctx, now=now, size=size
        )
        raise IntegrityFailure(f"Evidence {ev.pk} failed verification ({problem}); not exported.")
    with transaction.atomic():
        entry = custody_append(
            evidence=ev,
            action=Action.EXPORT,
            actor=ctx.user,
            ctx=ctx,
            at=now,
            note=f"Exported to {destination.strip()}.",
            location=destination.strip()[:500],
            data={"sha256_verified": actual, "package": package},
        )
        record_for(
            ctx,
            "evidence_export",
            subject=ev,
            subject_ref=_ref(ev),
            at=now,
            reason=f"Exported to {destination.strip()}.",
        )
    return entry


def evidence_withdraw(
    *, ctx: AgencyContext, evidence: Evidence, reason: str, now: datetime | None = None
) -> Evidence:
    """An approving official withdraws the item, with a reason: it keeps its file and ledger
    but is left out of new reports and evidence packages. Once only."""
    now = _now(now)
    require(ctx, "evidence_withdraw")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("A reason for the withdrawal is required.", field="reason")
    with transaction.atomic():
        ev = _in_scope(ctx, evidence, lock=True)
        if ev.withdrawn:
            raise Conflict(
                f"Evidence {ev.pk} was already withdrawn "
                f"({format_local(ev.withdrawn_at, ev.incident.agency.tz)})."
            )
        ev.withdrawn_at, ev.withdrawn_by, ev.withdrawn_reason = now, ctx.user, reason
        ev.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawn_reason"])
        custody_append(
            evidence=ev,
            action=Action.WITHDRAW,
            actor=ctx.user,
            ctx=ctx,
            at=now,
            note=reason,
        )
        record_for(
            ctx,
            "evidence_withdraw",
            subject=ev,
            subject_ref=_ref(ev),
            at=now,
            changes={"withdrawn_at": {"before": None, "after": now}},
            reason=reason,
        )
    return ev
