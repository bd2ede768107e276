"""The reporting clocks: which obligations an incident has, when each is due, and what
happens when they are met, waived or withdrawn. Views, the API and tasks call these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.context import AgencyContext
from accounts.labels import field_label
from accounts.permissions import require
from audit.trail import record_for
from core.errors import Conflict, InvalidInput
from core.time import format_local
from incidents.models import State
from incidents.selectors import current_determination
from incidents.services import history_append, lock_incident

from .clock import due_at
from .history import ReportingEventKind
from .models import (
    Anchor,
    AppliesTo,
    Obligation,
    ObligationRule,
    RuleSet,
    RuleSetAdoption,
    Submission,
)


def _offsets(incident) -> dict:
    """The offset overrides of the adoption in force when the incident was opened."""
    adoption = (
        RuleSetAdoption.objects.filter(
            agency_id=incident.agency_id,
            ruleset_id=incident.ruleset_id,
            adopted_at__lte=incident.created_at,
        )
        .order_by("-adopted_at", "-pk")
        .first()
    )
    return adoption.offsets if adoption else {}


@dataclass(frozen=True)
class Due:
    rule: ObligationRule
    sequence: int
    anchor_at: datetime
    anchor_ref: str
    due_at: datetime


def _applies(rule: ObligationRule, det) -> bool:
    if rule.applies_to == AppliesTo.ALL:
        return True
    if det is None or not det.is_major:
        return False
    return rule.applies_to == AppliesTo.MAJOR or det.breach


def _anchors(
    rule: ObligationRule, incident, det, infos, met_by_rule
) -> list[tuple[int, datetime, str]]:
    """(sequence, anchor instant, reference) for each obligation ``rule`` gives the incident."""
    if rule.anchor == Anchor.IDENTIFIED:
        return [(1, incident.identified_at, "incident")]
    if rule.anchor == Anchor.DETERMINED_MAJOR:
        return [(1, det.basis_at, f"determination:{det.pk}")] if det and det.is_major else []
    if rule.anchor == Anchor.BREACH_DISCOVERED:
        if det and det.breach and det.breach_discovered_at:
            return [(1, det.breach_discovered_at, f"determination:{det.pk}")]
        return []
    if rule.anchor == Anchor.ADDITIONAL_INFORMATION:
        # Information known at the determination goes into the seven-day report; only what is
        # recorded after it calls for a supplemental. Sequence numbers follow the records' ids,
        # so they stay put when a correction moves the basis time.
        floor = det.basis_at if det else None
        return [
            (n, info.recorded_at, f"additional_information:{info.pk}")
            for n, info in enumerate(infos, start=1)
            if floor is not None and info.recorded_at >= floor
        ]
    if rule.anchor == Anchor.PREVIOUS_SUBMISSION:
        return [
            (n, met_at, f"obligation:{pk}")
            for n, (pk, met_at) in enumerate(met_by_rule.get(rule.anchor_rule_key, []), start=1)
        ]
    raise ValueError(f"unknown anchor {rule.anchor!r}")


def obligations_due(incident, *, det=None) -> list[Due]:
    """Every obligation the incident should have now, with its due time. Pure reading."""
    if incident.state == State.DISMISSED:
        return []
    det = det if det is not None else current_determination(incident)
    tz = incident.agency.tz
    offsets = _offsets(incident)
    infos = list(incident.additional_information.order_by("pk"))
    met_by_rule: dict[str, list] = {}
    for pk, key, met_at in (
        Obligation.objects.filter(incident=incident, met_at__isnull=False)
        .order_by("met_at", "pk")
        .values_list("pk", "rule__key", "met_at")
    ):
        met_by_rule.setdefault(key, []).append((pk, met_at))
    result = []
    for rule in incident.ruleset.rules.all():
        if not _applies(rule, det):
            continue
        amount = (
            offsets.get(rule.key, rule.offset_amount)
            if rule.agency_may_change_offset
            else rule.offset_amount
        )
        for sequence, anchor_at, ref in _anchors(rule, incident, det, infos, met_by_rule):
            result.append(
                Due(
                    rule,
                    sequence,
                    anchor_at,
                    ref,
                    due_at(
                        anchor_at,
                        amount=amount,
                        unit=rule.offset_unit,
                        counting=rule.counting,
                        tz=tz,
                    ),
                )
            )
    return result


def obligations_sync(*, incident, actor, now: datetime, reason: str) -> None:
    """Bring the incident's obligations in line with its anchors.

    New duties are created; open ones whose anchor moved get the new due time (logged with
    the old and the new); open ones that no longer apply (a determination corrected to "not
    major", a dismissed incident) are withdrawn; met and waived ones are frozen and never
    touched. Callers hold the incident's row lock.
    """
    tz = incident.agency.tz
    existing = {
        (o.rule_id, o.sequence): o
        for o in Obligation.objects.filter(incident=incident).select_related("rule")
    }
    wanted = set()
    for d in obligations_due(incident):
        key = (d.rule.pk, d.sequence)
        wanted.add(key)
        ob = existing.get(key)
        if ob is None:
            ob = Obligation.objects.create(
                incident=incident,
                rule=d.rule,
                sequence=d.sequence,
                anchor_at=d.anchor_at,
                anchor_ref=d.anchor_ref,
                due_at=d.due_at,
                recipients=list(d.rule.recipients),
                created_at=now,
            )
            _log(
                incident,
                ReportingEventKind.OBLIGATION_CREATED,
                actor,
                now,
                ob,
                f"{ob.rule.title} due {format_local(ob.due_at, tz)} ({reason}).",
                {"due_at": ob.due_at.isoformat()},
            )
            continue
        if ob.met_at or ob.waived_at:
            continue  # frozen
        revived = ob.withdrawn_at is not None
        if ob.due_at != d.due_at or revived:
            old_due = ob.due_at
            ob.due_at, ob.anchor_at, ob.anchor_ref = d.due_at, d.anchor_at, d.anchor_ref
            ob.withdrawn_at, ob.withdrawn_reason = None, ""
            ob.save(
                update_fields=[
                    "due_at",
                    "anchor_at",
                    "anchor_ref",
                    "withdrawn_at",
                    "withdrawn_reason",
                ]
            )
            _log(
                incident,
                ReportingEventKind.CLOCK_RECOMPUTED,
                actor,
                now,
                ob,
                f"{ob.rule.title}: due {format_local(old_due, tz)} → "
                f"{format_local(ob.due_at, tz)} ({reason})"
                + (" — reinstated" if revived else "")
                + ".",
                {
                    "old_due": old_due.isoformat(),
                    "new_due": ob.due_at.isoformat(),
                    "reinstated": revived,
                },
            )
        elif (ob.anchor_at, ob.anchor_ref) != (d.anchor_at, d.anchor_ref):
            # Same due time (e.g. the basis moved within the local day): keep the anchor true.
            ob.anchor_at, ob.anchor_ref = d.anchor_at, d.anchor_ref
            ob.save(update_fields=["anchor_at", "anchor_ref"])
    for key, ob in existing.items():
        if key in wanted or ob.is_frozen:
            continue
        ob.withdrawn_at, ob.withdrawn_reason = now, reason
        ob.save(update_fields=["withdrawn_at", "withdrawn_reason"])
        _log(
            incident,
            ReportingEventKind.OBLIGATION_WITHDRAWN,
            actor,
            now,
            ob,
            f"{ob.rule.title} withdrawn ({reason}).",
            {"due_at": ob.due_at.isoformat()},
        )


def _log(incident, kind, actor, now, ob, note, data):
    history_append(
        incident=incident,
        kind=kind,
        actor=actor,
        at=now,
        note=note,
        data={"obligation": ob.pk, "rule": ob.rule.key, "sequence": ob.sequence, **data},
    )


def _lock_obligation(ctx: AgencyContext, obligation: Obligation) -> Obligation:
    lock_incident(ctx, obligation.incident)  # serialise with every other act on the incident
    return Obligation.objects.select_related("rule", "incident__agency").get(pk=obligation.pk)


@transaction.atomic
def submission_record(
    *,
    ctx: AgencyContext,
    obligation: Obligation,
    submitted_at: datetime | None = None,
    channel: str,
    recipients=None,
    reference: str = "",
    note: str = "",
    now: datetime | None = None,
    report_version=None,
) -> Submission:
    """Record that a report went out. The first submission meets the obligation (on time when
    ``submitted_at`` ≤ due, to the microsecond) and freezes it; later ones are kept as well.
    ``report_version``: the exact rendering sent (``reporting.reports.report_record_submission``
    passes it)."""
    now = now or timezone.now()
    require(ctx, "obligation_submit")
    ob = _lock_obligation(ctx, obligation)
    submitted_at = submitted_at or now
    if submitted_at > now:
        raise InvalidInput(
            f"{field_label(Submission, 'submitted_at')} cannot be in the future.",
            field="submitted_at",
        )
    if ob.withdrawn_at:
        raise Conflict(f"{ob} was withdrawn ({ob.withdrawn_reason}); nothing is owed.")
    if ob.waived_at:
        raise Conflict(f"{ob} was waived; nothing is owed.")
    if channel not in Submission.Channel.values:
        raise InvalidInput(
            f"Channel: {channel!r} is not one of {', '.join(Submission.Channel.values)}.",
            field="channel",
        )
    recipients = list(recipients) if recipients else list(ob.recipients)
    if not all(isinstance(r, str) and r.strip() for r in recipients):
        raise InvalidInput("Recipients must be a list of names.", field="recipients")
    sub = Submission.objects.create(
        obligation=ob,
        submitted_at=submitted_at,
        submitted_by=ctx.user,
        recipients=recipients,
        channel=channel,
        reference=reference,
        note=note,
        recorded_at=now,
        report_version=report_version,
    )
    first = ob.met_at is None
    if first:
        ob.met_at = submitted_at
        ob.save(update_fields=["met_at"])
    tz = ob.incident.agency.tz
    status = ob.status_at(now)
    history_append(
        incident=ob.incident,
        kind=ReportingEventKind.SUBMISSION,
        actor=ctx.user,
        at=now,
        note=f"{ob.rule.title} submitted {format_local(submitted_at, tz)} "
        f"to {', '.join(recipients)}"
        + (f" ({status.value.replace('_', ' ')})." if first else " (additional submission)."),
        data={
            "obligation": ob.pk,
            "submission": sub.pk,
            "submitted_at": submitted_at.isoformat(),
            "status": status.value,
            **({"report_version": report_version.pk} if report_version is not None else {}),
        },
    )
    record_for(
        ctx,
        "obligation_submit",
        subject=sub,
        subject_ref=f"{ob.incident.number} {ob.rule.title} submission",
        incident=ob.incident,
        at=now,
        changes={
            "submitted_at": {"before": None, "after": submitted_at},
            "status": {"before": None, "after": status.value},
            "channel": {"before": None, "after": channel},
        },
    )
    if first:
        obligations_sync(
            incident=ob.incident, actor=ctx.user, now=now, reason="previous submission"
        )
    return sub


@transaction.atomic
def obligation_waive(
    *, ctx: AgencyContext, obligation: Obligation, reason: str, now: datetime | None = None
) -> Obligation:
    """An approving official excuses an open obligation, with a reason."""
    now = now or timezone.now()
    require(ctx, "obligation_waive")
    ob = _lock_obligation(ctx, obligation)
    if not (reason or "").strip():
        raise InvalidInput("Waiving an obligation needs a reason.", field="reason")
    if ob.is_frozen:
        raise Conflict(f"{ob} is already {ob.status_at(now).value.replace('_', ' ')}.")
    ob.waived_at, ob.waived_by, ob.waive_reason = now, ctx.user, reason.strip()
    ob.save(update_fields=["waived_at", "waived_by", "waive_reason"])
    history_append(
        incident=ob.incident,
        kind=ReportingEventKind.WAIVED,
        actor=ctx.user,
        at=now,
        note=reason.strip(),
        data={"obligation": ob.pk, "rule": ob.rule.key},
    )
    record_for(
        ctx,
        "obligation_waive",
        subject=ob,
        subject_ref=f"{ob.incident.number} {ob.rule.title}",
        at=now,
        changes={"waived_at": {"before": None, "after": now}},
        reason=reason.strip(),
    )
    return ob


@transaction.atomic
def ruleset_supersede(
    *,
    ruleset: RuleSet,
    version: str,
    effective_from,
    source: str | None = None,
    changes: dict | None = None,
) -> RuleSet:
    """Copy ``ruleset`` with its rules into a new, editable version. ``changes`` maps rule keys
    to field updates, e.g. ``{"supplemental": {"offset_amount": 10}}``."""
    new = RuleSet.objects.create(
        name=ruleset.name,
        version=version,
        agency=ruleset.agency,
        effective_from=effective_from,
        source=source or ruleset.source,
        major_criteria=ruleset.major_criteria,
        supersedes=ruleset,
    )
    changes = changes or {}
    unknown = set(changes) - set(ruleset.rules.values_list("key", flat=True))
    if unknown:
        raise InvalidInput(f"No rule {sorted(unknown)} in {ruleset}.")
    for rule in ruleset.rules.all():
        rule.pk, rule.ruleset = None, new
        for field, value in changes.get(rule.key, {}).items():
            setattr(rule, field, value)
        rule.full_clean()
        rule.save()
    return new
