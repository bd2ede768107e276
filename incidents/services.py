"""Every write to an incident goes through here: views, the API, the admin and commands.

Each service takes the acting ``AgencyContext`` and, where time matters, ``now`` (injected so
tests can stand on any instant; default: the system clock). Each runs in one transaction and
locks the incident row, so concurrent acts on one incident are serialised.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_fsm import TransitionNotAllowed, has_transition_perm

from accounts.context import AgencyContext
from accounts.labels import field_label, first_error
from accounts.models import Membership, Role
from accounts.permissions import require
from accounts.scoping import scope
from audit.trail import record as audit_record
from audit.trail import record_for
from compliance.models import InformationSystem
from core.errors import Conflict, InvalidInput
from core.events import (
    AdditionalInformationRecorded,
    DeterminationRecorded,
    IncidentOpened,
    IncidentTransitioned,
    IncidentTransitioning,
    IncidentUpdated,
    guard,
    publish,
)
from core.locking import lock_row
from core.time import format_local, require_aware
from reporting.criteria import Assessment, CriteriaError, recommend
from reporting.rules import ruleset_in_force

from .models import (
    AdditionalInformation,
    AuditorGrant,
    Decision,
    Determination,
    EventKind,
    Incident,
    IncidentEvent,
    IncidentSequence,
    Indicator,
    State,
)
from .models.event import EVENT_KIND_CHOICES
from .selectors import current_determination

TRANSITIONS = ("start_triage", "confirm", "contain", "eradicate", "recover", "close", "dismiss")

# Fields a caller may set when opening or updating an incident.
EDITABLE_FIELDS = (
    "title",
    "summary",
    "functional_impact",
    "information_impact",
    "recoverability",
    "location",
    "attack_vectors",
    "systems_affected_count",
    "records_affected_count",
    "users_affected_count",
    "poc_name",
    "poc_email",
    "poc_phone",
    "identified_at",
    "first_detected_at",
    "occurred_at",
    "cisa_tracking_number",
    "nciss_level",
)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def history_append(
    *, incident, kind: str, actor, at, note: str = "", data=None, from_state="", to_state=""
) -> IncidentEvent:
    """Append an entry to the incident's history (append-only). ``kind`` is one of the
    registered event kinds (``incidents.models.event.register_event_kinds``): the incidents
    app's own, or another app's, such as reporting's. The caller holds the incident's lock."""
    if kind not in dict(EVENT_KIND_CHOICES):
        raise ValueError(f"unregistered incident event kind {kind!r}")
    return IncidentEvent.objects.create(
        incident=incident,
        kind=kind,
        actor=actor,
        at=at,
        note=note,
        data=data or {},
        from_state=from_state,
        to_state=to_state,
    )


def _event(incident, kind, **fields):
    return history_append(incident=incident, kind=kind, **fields)


def lock_incident(ctx: AgencyContext, incident: Incident) -> Incident:
    """Re-read ``incident`` under a row lock, through the caller's scope. Every act on an
    incident (and on what hangs from it, such as its obligations) takes this lock first, so
    concurrent acts on one incident are serialised."""
    return lock_row(scope(Incident.objects.all(), ctx), incident.pk, missing="No such incident.")


def _check_times(values: dict[str, Any], now: datetime) -> None:
    for name in ("identified_at", "first_detected_at", "occurred_at"):
        value = values.get(name)
        if value is not None and value > now:
            raise InvalidInput(
                f"{field_label(Incident, name)} cannot be in the future.", field=name
            )


def _agency_systems(ctx: AgencyContext, system_ids) -> list[InformationSystem]:
    ids = list(dict.fromkeys(int(i) for i in system_ids))
    found = {s.pk: s for s in scope(InformationSystem.objects.all(), ctx).filter(pk__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidInput(
            f"No information system {missing} in agency {ctx.agency.abbreviation}.", field="systems"
        )
    return [found[i] for i in ids]


def _related(ctx: AgencyContext, numbers) -> list[Incident]:
    numbers = list(dict.fromkeys(numbers))
    found = {i.number: i for i in scope(Incident.objects.all(), ctx).filter(number__in=numbers)}
    missing = [n for n in numbers if n not in found]
    if missing:
        raise InvalidInput(f"No incident {missing} in your agency.", field="related")
    return [found[n] for n in numbers]


def _full_clean(instance) -> None:
    try:
        instance.full_clean(
            exclude=["ruleset", "agency", "created_by", "state"], validate_unique=False
        )
    except ValidationError as exc:
        first_field, message = first_error(type(instance), exc)
        raise InvalidInput(message, field=first_field, errors=exc.message_dict) from exc


def _allocate_number(incident: Incident, at: datetime) -> None:
    """Give ``incident`` the next number of its agency's year, gapless and race-free: the
    sequence row is locked until the transaction that inserts the incident ends."""
    year = at.astimezone(incident.agency.tz).year
    IncidentSequence.objects.bulk_create(
        [IncidentSequence(agency=incident.agency, year=year)], ignore_conflicts=True
    )
    seq = IncidentSequence.objects.select_for_update().get(agency=incident.agency, year=year)
    seq.last_value += 1
    seq.save(update_fields=["last_value"])
    incident.year, incident.sequence = year, seq.last_value
    incident.number = f"{incident.agency.abbreviation}-{year}-{seq.last_value:04d}"


@transaction.atomic
def incident_open(
    *,
    ctx: AgencyContext,
    title: str,
    identified_at: datetime | None = None,
    systems=(),
    related=(),
    indicators=(),
    now: datetime | None = None,
    **fields,
) -> Incident:
    """Open an incident in the caller's agency. Numbers it ``ABBR-YEAR-NNNN`` (the year in the
    agency's zone), binds it to the rule set in force, and starts its clocks (CISA's one hour
    from identification). ``systems`` are system ids, ``related`` incident numbers,
    ``indicators`` dicts of type/value/note.

    Publishes ``IncidentOpened`` (reporting creates the obligations)."""
    now = _now(now)
    require(ctx, "incident_open")
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    identified_at = identified_at or now
    _check_times({"identified_at": identified_at, **fields}, now)
    incident = Incident(
        agency=ctx.agency,
        title=title,
        identified_at=identified_at,
        ruleset=ruleset_in_force(ctx.agency, now),
        created_by=ctx.user,
        created_at=now,
        updated_at=now,
        **fields,
    )
    _full_clean(incident)
    system_objs = _agency_systems(ctx, systems)
    related_objs = _related(ctx, related)
    _allocate_number(incident, now)
    incident.save()
    incident.systems.set(system_objs)
    incident.related.set(related_objs)
    _event(
        incident,
        EventKind.OPENED,
        actor=ctx.user,
        at=now,
        to_state=incident.state,
        data={"number": incident.number, "ruleset": str(incident.ruleset)},
    )
    record_for(
        ctx,
        "incident_open",
        subject=incident,
        at=now,
        changes={
            "state": {"before": None, "after": incident.state},
            "title": {"before": None, "after": incident.title},
            "systems": {"before": None, "after": sorted(o.pk for o in system_objs)},
        },
    )
    for item in indicators:
        indicator_add(ctx=ctx, incident=incident, now=now, **item)
    publish(IncidentOpened(ctx=ctx, at=now, incident=incident))
    return incident


@transaction.atomic
def incident_update(
    *,
    ctx: AgencyContext,
    incident: Incident,
    changes: dict[str, Any],
    now: datetime | None = None,
) -> Incident:
    """Change fields of an incident; ``systems`` (ids) and ``related`` (numbers) replace the
    current sets. Logs what changed.

    Publishes ``IncidentUpdated`` with the changed fields (reporting recomputes the clocks
    when identified-at moved)."""
    now = _now(now)
    require(ctx, "incident_edit")
    incident = lock_incident(ctx, incident)
    if incident.state in (State.CLOSED, State.DISMISSED):
        raise Conflict(f"{incident.number} is {incident.state}; it can no longer be edited.")
    changes = dict(changes)
    systems = changes.pop("systems", None)
    related = changes.pop("related", None)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    _check_times(changes, now)
    changed = {}
    for name, value in changes.items():
        old = getattr(incident, name)
        if old != value:
            changed[name] = {"old": _jsonable(old), "new": _jsonable(value)}
            setattr(incident, name, value)
    _full_clean(incident)
    if systems is not None:
        objs = _agency_systems(ctx, systems)
        old_ids = sorted(incident.systems.values_list("pk", flat=True))
        if sorted(o.pk for o in objs) != old_ids:
            incident.systems.set(objs)
            changed["systems"] = {"old": old_ids, "new": sorted(o.pk for o in objs)}
    if related is not None:
        objs = [o for o in _related(ctx, related) if o.pk != incident.pk]
        old = sorted(incident.related.values_list("number", flat=True))
        if sorted(o.number for o in objs) != old:
            incident.related.set(objs)
            changed["related"] = {"old": old, "new": sorted(o.number for o in objs)}
    if not changed:
        return incident
    incident.updated_at = now
    incident.save()
    _event(
        incident,
        EventKind.UPDATED,
        actor=ctx.user,
        at=now,
        data={"changed": changed},
        note=f"Changed {', '.join(sorted(changed))}.",
    )
    record_for(
        ctx,
        "incident_edit",
        subject=incident,
        at=now,
        changes={k: {"before": v["old"], "after": v["new"]} for k, v in changed.items()},
    )
    publish(IncidentUpdated(ctx=ctx, at=now, incident=incident, changed=frozenset(changed)))
    return incident


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def allowed_transitions(ctx: AgencyContext, incident: Incident) -> list[str]:
    """The transitions ``ctx``'s user may take from the incident's current state."""
    return [
        t.name
        for t in incident.get_available_state_transitions()
        if has_transition_perm(getattr(incident, t.name), ctx.user)
    ]


@transaction.atomic
def incident_transition(
    *,
    ctx: AgencyContext,
    incident: Incident,
    transition: str,
    note: str = "",
    now: datetime | None = None,
) -> Incident:
    """Move the incident along its lifecycle and append the event.

    ``dismiss`` needs a reason (``note``). Publishes ``IncidentTransitioning`` as a guard
    (reporting refuses ``close`` while an obligation is still open) and then
    ``IncidentTransitioned`` (reporting withdraws the open obligations of a dismissed
    incident; compliance queues the snapshot of a confirmed one).
    """
    now = _now(now)
    incident = lock_incident(ctx, incident)
    allowed = allowed_transitions(ctx, incident)
    if transition not in TRANSITIONS or transition not in allowed:
        raise Conflict(
            f"{transition!r} is not allowed from state {incident.state!r} for you; "
            f"allowed: {', '.join(allowed) or 'none'}.",
            allowed_transitions=allowed,
            state=incident.state,
        )
    note = (note or "").strip()
    if transition == "dismiss" and not note:
        raise InvalidInput("Dismissing an incident needs a reason.", field="note")
    guard(
        IncidentTransitioning(
            ctx=ctx, at=now, incident=incident, transition=transition, allowed=tuple(allowed)
        )
    )
    before = incident.state
    try:
        getattr(incident, transition)()
    except TransitionNotAllowed as exc:  # a race lost to another transition
        raise Conflict(str(exc), allowed_transitions=allowed, state=before) from exc
    if transition == "dismiss":
        incident.dismissed_reason = note
    incident.updated_at = now
    incident.save()
    _event(
        incident,
        EventKind.TRANSITION,
        actor=ctx.user,
        at=now,
        note=note,
        from_state=before,
        to_state=incident.state,
        data={"transition": transition},
    )
    record_for(
        ctx,
        "incident_close" if transition == "close" else "incident_transition",
        subject=incident,
        at=now,
        changes={"state": {"before": before, "after": incident.state}},
        reason=note,
    )
    publish(
        IncidentTransitioned(
            ctx=ctx,
            at=now,
            incident=incident,
            transition=transition,
            from_state=before,
            to_state=incident.state,
        )
    )
    return incident


@transaction.atomic
def indicator_add(
    *,
    ctx: AgencyContext,
    incident: Incident,
    type: str,
    value: str,
    note: str = "",
    now: datetime | None = None,
) -> Indicator:
    """Record an indicator of compromise (once per type and value)."""
    now = _now(now)
    require(ctx, "incident_indicator_add")
    incident = lock_incident(ctx, incident)  # through the caller's scope, like every act
    indicator = Indicator(incident=incident, type=type, value=(value or "").strip(), note=note)
    _full_clean(indicator)
    if Indicator.objects.filter(incident=incident, type=type, value=indicator.value).exists():
        raise InvalidInput(
            f"Indicator {type}:{indicator.value} is already recorded.", field="value"
        )
    indicator.save()
    _event(
        incident,
        EventKind.INDICATOR,
        actor=ctx.user,
        at=now,
        data={"type": type, "value": indicator.value},
    )
    record_for(
        ctx,
        "incident_indicator_add",
        subject=indicator,
        subject_ref=f"{incident.number} {type}:{indicator.value}",
        at=now,
        changes={"indicator": {"before": None, "after": f"{type}:{indicator.value}"}},
    )
    return indicator


def determination_recommend(*, incident: Incident, assessment: Assessment):
    """What the incident's rule set recommends for ``assessment`` (no write)."""
    try:
        return recommend(incident.ruleset.major_criteria, assessment)
    except CriteriaError as exc:
        raise InvalidInput(str(exc)) from exc


@transaction.atomic
def determination_record(
    *,
    ctx: AgencyContext,
    incident: Incident,
    decision: str,
    rationale: str,
    harms: dict | None = None,
    nciss_level: int | None = None,
    pii_individuals: int | None = None,
    pii_acts=(),
    breach: bool = False,
    breach_discovered_at: datetime | None = None,
    basis_at: datetime | None = None,
    now: datetime | None = None,
) -> Determination:
    """An approving official's determination. ``basis_at`` — when there was a reasonable basis
    to conclude — defaults to now, may be earlier, never later. A second determination is a
    correction: it supersedes the current one (which stays) and the clocks are recomputed,
    each moved due time logged with its old and new value.

    Publishes ``DeterminationRecorded`` (reporting recomputes the clocks)."""
    now = _now(now)
    require(ctx, "incident_determine")
    incident = lock_incident(ctx, incident)
    if incident.state in (State.DISMISSED, State.CLOSED):
        raise Conflict(f"{incident.number} is {incident.state}; no determination can be recorded.")
    if decision not in Decision.values:
        raise InvalidInput(
            f"Decision: {decision!r} is not one of {', '.join(Decision.values)}.", field="decision"
        )
    if not (rationale or "").strip():
        raise InvalidInput("A determination needs a rationale.", field="rationale")
    basis_at = basis_at or now
    if basis_at > now:
        raise InvalidInput(
            "The reasonable-basis time cannot be in the future "
            f"(it is {format_local(basis_at, ctx.agency.tz)}, "
            f"now is {format_local(now, ctx.agency.tz)}).",
            field="basis_at",
        )
    if basis_at < incident.identified_at:
        raise InvalidInput(
            "The reasonable-basis time cannot precede the incident's identification "
            f"({format_local(incident.identified_at, ctx.agency.tz)}).",
            field="basis_at",
        )
    if breach and breach_discovered_at is None:
        raise InvalidInput(
            "A breach needs the time it was discovered.", field="breach_discovered_at"
        )
    if not breach and breach_discovered_at is not None:
        raise InvalidInput(
            "The breach-discovered time is only for breaches.", field="breach_discovered_at"
        )
    if breach_discovered_at is not None and breach_discovered_at > now:
        raise InvalidInput(
            "The breach-discovered time cannot be in the future.", field="breach_discovered_at"
        )
    assessment = Assessment(
        harms=harms or {},
        nciss_level=nciss_level,
        pii_individuals=pii_individuals,
        pii_acts=tuple(pii_acts),
    )
    rec = determination_recommend(incident=incident, assessment=assessment)
    previous = current_determination(incident)
    det = Determination.objects.create(
        incident=incident,
        ruleset=incident.ruleset,
        harms=dict(assessment.harms),
        nciss_level=nciss_level,
        pii_individuals=pii_individuals,
        pii_acts=list(assessment.pii_acts),
        breach=breach,
        breach_discovered_at=breach_discovered_at,
        recommendation=rec.decision,
        criteria_fired=list(rec.fired),
        decision=decision,
        rationale=rationale.strip(),
        basis_at=basis_at,
        decided_by=ctx.user,
        recorded_at=now,
        supersedes=previous,
    )
    if nciss_level is not None and incident.nciss_level != nciss_level:
        incident.nciss_level = nciss_level
        incident.updated_at = now
        incident.save(update_fields=["nciss_level", "updated_at"])
    _event(
        incident,
        EventKind.DETERMINATION,
        actor=ctx.user,
        at=now,
        note=rationale.strip(),
        data={
            "determination": det.pk,
            "decision": decision,
            "recommendation": rec.decision,
            "criteria_fired": [f["key"] for f in rec.fired],
            "basis_at": basis_at.isoformat(),
            "corrects": previous.pk if previous else None,
        },
    )
    record_for(
        ctx,
        "incident_determine",
        subject=det,
        subject_ref=f"{incident.number} determination ({decision})",
        incident=incident,
        at=now,
        changes={
            "decision": {"before": previous.decision if previous else None, "after": decision},
            "basis_at": {
                "before": previous.basis_at if previous else None,
                "after": basis_at,
            },
        },
        reason=rationale.strip(),
    )
    publish(
        DeterminationRecorded(
            ctx=ctx, at=now, incident=incident, determination=det, corrects=previous
        )
    )
    return det


@transaction.atomic
def additional_information_record(
    *,
    ctx: AgencyContext,
    incident: Incident,
    summary: str,
    recorded_at: datetime | None = None,
    now: datetime | None = None,
) -> AdditionalInformation:
    """New information about the incident; for a major incident it starts a supplemental
    report's clock (repeatable: one per record).

    Publishes ``AdditionalInformationRecorded`` (reporting starts the supplemental's clock)."""
    now = _now(now)
    require(ctx, "incident_additional_information")
    incident = lock_incident(ctx, incident)
    recorded_at = recorded_at or now
    if recorded_at > now:
        raise InvalidInput(
            f"{field_label(AdditionalInformation, 'recorded_at')} cannot be in the future.",
            field="recorded_at",
        )
    if not (summary or "").strip():
        raise InvalidInput("Describe the additional information.", field="summary")
    info = AdditionalInformation.objects.create(
        incident=incident, summary=summary.strip(), recorded_at=recorded_at, recorded_by=ctx.user
    )
    _event(
        incident,
        EventKind.ADDITIONAL_INFORMATION,
        actor=ctx.user,
        at=now,
        note=info.summary,
        data={"additional_information": info.pk, "recorded_at": recorded_at.isoformat()},
    )
    record_for(
        ctx,
        "incident_additional_information",
        subject=info,
        subject_ref=f"{incident.number} additional information",
        at=now,
        changes={"summary": {"before": None, "after": info.summary}},
    )
    publish(AdditionalInformationRecorded(ctx=ctx, at=now, incident=incident, information=info))
    return info


def grant_window(
    *, now: datetime, valid_from: datetime | None, valid_until: datetime | None, tz
) -> tuple[datetime, datetime]:
    """The window of a new grant: from ``valid_from`` (default now) until ``valid_until``
    (default DOCKET_AUDITOR_GRANT_DEFAULT_DAYS later); it must end after it starts, after now,
    and last at most DOCKET_AUDITOR_GRANT_MAX_DAYS. ``InvalidInput`` names the field."""
    start = valid_from or now
    require_aware("valid_from", start)
    end = valid_until or start + timedelta(days=settings.DOCKET_AUDITOR_GRANT_DEFAULT_DAYS)
    require_aware("valid_until", end)
    if end <= start:
        raise InvalidInput(
            f"A grant must end after it starts (from {format_local(start, tz)}, "
            f"until {format_local(end, tz)}).",
            field="valid_until",
        )
    if end <= now:
        raise InvalidInput(
            f"A grant must end in the future (until {format_local(end, tz)}, "
            f"now is {format_local(now, tz)}).",
            field="valid_until",
        )
    longest = settings.DOCKET_AUDITOR_GRANT_MAX_DAYS
    if end - start > timedelta(days=longest):
        raise InvalidInput(
            f"A grant lasts at most {longest} days (from {format_local(start, tz)}, "
            f"until {format_local(end, tz)}).",
            field="valid_until",
        )
    return start, end


@transaction.atomic
def auditor_grant(
    *,
    ctx: AgencyContext,
    incident: Incident,
    user,
    note: str = "",
    now: datetime | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
):
    """Let an auditor of the agency read ``incident`` from ``valid_from`` until
    ``valid_until`` (``grant_window``'s defaults and limits). Granting again sets a new window
    (an expired grant is renewed this way). Logged on the incident."""
    now = _now(now)
    require(ctx, "auditor_grant")
    incident = lock_incident(ctx, incident)
    if not Membership.objects.filter(user=user, agency=ctx.agency, role=Role.AUDITOR).exists():
        raise InvalidInput(f"{user} is not an auditor of {ctx.agency.abbreviation}.", field="user")
    tz = ctx.agency.tz
    start, end = grant_window(now=now, valid_from=valid_from, valid_until=valid_until, tz=tz)
    grant, created = AuditorGrant.objects.get_or_create(
        incident=incident,
        user=user,
        defaults={"granted_by": ctx.user, "valid_from": start, "valid_until": end},
    )
    before = (None, None)
    if not created:
        if (grant.valid_from, grant.valid_until) == (start, end):
            return grant
        before = (grant.valid_from.isoformat(), grant.valid_until.isoformat())
        grant.granted_by, grant.valid_from, grant.valid_until = ctx.user, start, end
        grant.expiry_recorded_at = None
        grant.save(update_fields=["granted_by", "valid_from", "valid_until", "expiry_recorded_at"])
    window = f"from {format_local(start, tz)} until {format_local(end, tz)}"
    _event(
        incident,
        EventKind.GRANT,
        actor=ctx.user,
        at=now,
        note=note
        or (
            f"Auditor {user.get_username()} granted access {window}."
            if created
            else f"Auditor {user.get_username()}'s access renewed {window}."
        ),
        data={
            "user": user.pk,
            "granted": True,
            "valid_from": start.isoformat(),
            "valid_until": end.isoformat(),
        },
    )
    record_for(
        ctx,
        "auditor_grant",
        subject=incident,
        at=now,
        changes={
            "auditor": {
                "before": None if created else user.get_username(),
                "after": user.get_username(),
            },
            "valid_from": {"before": before[0], "after": start.isoformat()},
            "valid_until": {"before": before[1], "after": end.isoformat()},
        },
        reason=note,
    )
    return grant


def grants_record_expiries(*, now: datetime | None = None) -> int:
    """Write each auditor grant's expiry to the audit trail (and the incident's history),
    once: the grants whose ``valid_until`` has passed and whose expiry is not recorded yet.
    Safe with several workers (each grant is taken under a skip-locked row lock). Returns how
    many expiries it recorded (``incidents.tasks.record_grant_expiries``, every few minutes)."""
    now = _now(now)
    done = 0
    due = AuditorGrant.objects.filter(valid_until__lte=now, expiry_recorded_at__isnull=True)
    for pk in due.order_by("valid_until").values_list("pk", flat=True):
        with transaction.atomic():
            grant = (
                AuditorGrant.objects.select_for_update(skip_locked=True)
                .select_related("incident__agency", "user")
                .filter(pk=pk, expiry_recorded_at__isnull=True, valid_until__lte=now)
                .first()
            )
            if grant is None:
                continue
            incident, tz = grant.incident, grant.incident.agency.tz
            username = grant.user.get_username()
            Incident.objects.select_for_update().filter(pk=incident.pk).first()
            audit_record(
                "auditor_grant_expired",
                agency=incident.agency,
                subject=grant,
                subject_ref=f"{username} on {incident.number}",
                incident=incident,
                at=now,
                changes={"valid_until": grant.valid_until.isoformat()},
            )
            _event(
                incident,
                EventKind.GRANT,
                actor=None,
                at=now,
                note=f"Auditor {username}'s access expired "
                f"({format_local(grant.valid_until, tz)}).",
                data={"user": grant.user_id, "granted": False, "expired": True},
            )
            AuditorGrant.objects.filter(pk=grant.pk).update(expiry_recorded_at=now)
            done += 1
    return done


@transaction.atomic
def auditor_revoke(*, ctx: AgencyContext, incident: Incident, user, now: datetime | None = None):
    """Withdraw an auditor's access to ``incident``; logged on the incident."""
    now = _now(now)
    require(ctx, "auditor_revoke")
    incident = lock_incident(ctx, incident)
    deleted, _ = AuditorGrant.objects.filter(incident=incident, user=user).delete()
    if deleted:
        _event(
            incident,
            EventKind.GRANT,
            actor=ctx.user,
            at=now,
            note=f"Auditor {user.get_username()} no longer granted access.",
            data={"user": user.pk, "granted": False},
        )
        record_for(
            ctx,
            "auditor_revoke",
            subject=incident,
            at=now,
            changes={"auditor": {"before": user.get_username(), "after": None}},
        )
