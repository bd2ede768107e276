"""Reads of the compliance app, always scoped to the caller's agency.

The central one answers "what was the compliance state of system S under framework F at time
T": per control, the latest assessment with ``assessed_at`` at or before T. It runs a fixed
number of queries whatever the number of controls or the length of the history: on PostgreSQL
one ``DISTINCT ON (control_id) … ORDER BY control_id, assessed_at DESC, id DESC`` read along
the (system, control, assessed_at) index; elsewhere a window function does the same.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Count, F, Prefetch, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from accounts.context import AgencyContext
from accounts.models import Membership, Role
from accounts.scoping import scope, visible_system_filter
from core.errors import InvalidInput, NotFound

from .models import (
    AssessmentStatus,
    Baseline,
    Control,
    ControlAssessment,
    Framework,
    InformationSystem,
)


@dataclass(frozen=True)
class ControlState:
    """One control's state at the instant asked: its latest assessment then, if any."""

    control: Control
    assessment: ControlAssessment | None

    @property
    def status(self) -> str:
        return self.assessment.status if self.assessment else AssessmentStatus.NOT_ASSESSED


@dataclass(frozen=True)
class SystemState:
    """A system's compliance state under one framework at one instant.

    ``controls`` are the system's baseline controls when its baseline belongs to the framework,
    otherwise all the framework's controls; a control outside them that was assessed anyway is
    included too. Controls never assessed by then count as not assessed. ``percentages`` are of
    ``total``, rounded to one decimal.
    """

    system: InformationSystem
    framework: Framework
    at: datetime
    controls: list[ControlState]
    counts: dict[str, int]
    percentages: dict[str, float]

    @property
    def total(self) -> int:
        return len(self.controls)

    def with_status(self, status: str) -> list[ControlState]:
        return [c for c in self.controls if c.status == status]


def latest_assessments(
    *,
    ctx: AgencyContext,
    system: InformationSystem,
    framework: Framework,
    at: datetime,
    known_at: datetime | None = None,
) -> QuerySet:
    """Per control of ``framework``, the latest assessment of ``system`` at or before ``at``.

    ``known_at`` also leaves out assessments recorded after it: what Docket knew at that moment
    of the state at ``at`` (an assessment may be entered after the fact).
    """
    qs = (
        scope(ControlAssessment.objects.all(), ctx)
        .filter(system=system, control__framework=framework, assessed_at__lte=at)
        .select_related("assessor", "recorded_by")
    )
    if known_at is not None:
        qs = qs.filter(recorded_at__lte=known_at)
    if connection.features.can_distinct_on_fields:
        return qs.order_by("control_id", "-assessed_at", "-id").distinct("control_id")
    ranked = qs.annotate(
        rank=Window(
            RowNumber(),
            partition_by=[F("control_id")],
            order_by=[F("assessed_at").desc(), F("id").desc()],
        )
    )
    return ranked.filter(rank=1).order_by("control_id")


def system_state_as_of(
    *,
    ctx: AgencyContext,
    system: InformationSystem | int,
    framework: Framework,
    at: datetime,
    known_at: datetime | None = None,
) -> SystemState:
    """The state of ``system`` under ``framework`` at ``at``: see ``SystemState``.

    Three queries, however many controls and assessments: the system (among
    ``systems_visible``, so another agency's system, or one the caller may not read, is not
    found), the controls in question, and the latest assessment per control; a fourth only
    when controls outside the baseline were assessed.
    """
    if timezone.is_naive(at) or (known_at is not None and timezone.is_naive(known_at)):
        raise InvalidInput("The instant needs a time zone.", field="at")
    found = (
        systems_visible(ctx)
        .select_related("baseline")
        .filter(pk=getattr(system, "pk", system))
        .first()
    )
    if found is None:
        raise NotFound("No such information system.")
    system = found
    if system.baseline is not None and system.baseline.framework_id == framework.pk:
        controls = system.baseline.controls.all()
    else:
        controls = Control.objects.filter(framework=framework)
    # The statements are long and not part of a state: leave them in the database.
    by_pk = {c.pk: c for c in controls.defer("statement")}
    latest = {
        a.control_id: a
        for a in latest_assessments(
            ctx=ctx, system=system, framework=framework, at=at, known_at=known_at
        )
    }
    outside = latest.keys() - by_pk.keys()
    if outside:  # assessed although outside the baseline: one more query, only then
        by_pk.update((c.pk, c) for c in Control.objects.filter(pk__in=outside).defer("statement"))
    for assessment in latest.values():
        assessment.control = by_pk[assessment.control_id]
    ordered = sorted(by_pk.values(), key=lambda c: (c.sort_key, c.identifier))
    states = [ControlState(control=c, assessment=latest.get(c.pk)) for c in ordered]

    counts = dict.fromkeys(AssessmentStatus.values, 0)
    for state in states:
        counts[state.status] += 1
    total = len(states)
    percentages = {s: round(100 * n / total, 1) if total else 0.0 for s, n in counts.items()}
    return SystemState(
        system=system,
        framework=framework,
        at=at,
        controls=states,
        counts=counts,
        percentages=percentages,
    )


# --- what a caller may see --------------------------------------------------------------------


def frameworks_visible(ctx) -> QuerySet[Framework]:
    """The frameworks the caller's agency may see: the reference ones (no agency: NIST from
    OSCAL, the skeletons Docket ships) and those it imported under its own licence. Another
    agency's licensed frameworks, and so their controls, never appear."""
    return scope(Framework.objects.all(), ctx)


def controls_visible(ctx) -> QuerySet[Control]:
    """The controls of ``frameworks_visible(ctx)``."""
    return scope(Control.objects.all(), ctx)


def systems_visible(ctx: AgencyContext) -> QuerySet[InformationSystem]:
    """The systems whose inventory and compliance state ``ctx`` may read
    (``accounts.scoping.visible_system_filter``): the whole agency's for compliance officers,
    approving officials and administrators; an ISSO's assigned systems; an auditor's systems
    affected by the incidents granted to it. Their assessments, risk assessments and POA&M
    items follow the same rule in ``scope()``. No query of its own."""
    return scope(InformationSystem.objects.all(), ctx).filter(visible_system_filter(ctx))


def may_record_assessments(ctx: AgencyContext, system: InformationSystem) -> bool:
    """Who writes a system's compliance records (assessments, risk assessments, POA&M): a
    compliance officer, or an ISSO of that system. The services refuse others; pages use it to
    show or hide their forms."""
    return ctx.may("system_record", system=system)


def with_issos(queryset: QuerySet[InformationSystem], ctx: AgencyContext) -> QuerySet:
    """``queryset`` with ``isso_list`` prefetched: the ISSO memberships of the agency naming
    each system, their users joined (one query for the whole page)."""
    return queryset.prefetch_related(
        Prefetch(
            "isso_memberships",
            Membership.objects.filter(agency=ctx.agency, role=Role.ISSO)
            .select_related("user")
            .order_by("user__username"),
            to_attr="isso_list",
        )
    )


# --- a compliance summary per system and framework ---------------------------------------------


@dataclass(frozen=True)
class FrameworkSummary:
    """One system's standing under one framework at one instant (the same numbers as
    ``SystemState`` would give: baseline controls plus any assessed outside it)."""

    framework: Framework
    total: int
    satisfied: int
    other_than_satisfied: int

    @property
    def satisfied_percent(self) -> float:
        return round(100 * self.satisfied / self.total, 1) if self.total else 0.0


def _latest_rows(ctx: AgencyContext, system_ids: list[int], at: datetime):
    """(system, control, framework, status) of the latest assessment per system and control
    at or before ``at``: one query."""
    qs = scope(ControlAssessment.objects.all(), ctx).filter(
        system_id__in=system_ids, assessed_at__lte=at
    )
    fields = ("system_id", "control_id", "control__framework_id", "status")
    if connection.features.can_distinct_on_fields:
        qs = qs.order_by("system_id", "control_id", "-assessed_at", "-id").distinct(
            "system_id", "control_id"
        )
        return list(qs.values_list(*fields))
    ranked = qs.annotate(
        rank=Window(
            RowNumber(),
            partition_by=[F("system_id"), F("control_id")],
            order_by=[F("assessed_at").desc(), F("id").desc()],
        )
    )
    return list(ranked.filter(rank=1).values_list(*fields))


def compliance_summaries(
    *, ctx: AgencyContext, systems: list[InformationSystem], at: datetime
) -> dict[int, list[FrameworkSummary]]:
    """Per system, a summary for each framework it is assessed against (its baseline's, and
    any with an assessment of it by ``at``) among those ``ctx`` may see.

    At most three queries however many systems: the latest assessments, the frameworks with
    their control counts, and the baselines' controls (only when a system has a baseline).
    """
    if timezone.is_naive(at):
        raise InvalidInput("The instant needs a time zone.", field="at")
    if not systems:
        return {}
    rows = _latest_rows(ctx, [s.pk for s in systems], at)
    wanted = {fw for _, _, fw, _ in rows}
    baselines = {s.baseline_id for s in systems if s.baseline_id}
    baseline_framework: dict[int, int] = {}
    baseline_controls: dict[int, set[int]] = defaultdict(set)
    if baselines:
        through = Baseline.controls.through.objects.filter(baseline_id__in=baselines)
        for baseline_id, control_id, framework_id in through.values_list(
            "baseline_id", "control_id", "baseline__framework_id"
        ):
            baseline_framework[baseline_id] = framework_id
            baseline_controls[baseline_id].add(control_id)
        # A baseline without controls still names its framework.
        for s in systems:
            if s.baseline_id and s.baseline_id not in baseline_framework:
                baseline_framework[s.baseline_id] = s.baseline.framework_id
        wanted |= set(baseline_framework.values())
    frameworks = {
        f.pk: f
        for f in frameworks_visible(ctx)
        .filter(pk__in=wanted)
        .annotate(control_count=Count("controls"))
    }
    latest: dict[int, dict[int, dict[int, str]]] = defaultdict(lambda: defaultdict(dict))
    for system_id, control_id, framework_id, status in rows:
        latest[system_id][framework_id][control_id] = status

    out: dict[int, list[FrameworkSummary]] = {}
    for s in systems:
        own = baseline_framework.get(s.baseline_id) if s.baseline_id else None
        summaries = []
        for fw_pk in sorted(
            {*latest[s.pk].keys(), *([own] if own else [])},
            key=lambda pk: (str(frameworks[pk]) if pk in frameworks else "", pk),
        ):
            framework = frameworks.get(fw_pk)
            if framework is None:
                continue
            statuses = latest[s.pk].get(fw_pk, {})
            if fw_pk == own:
                total = len(baseline_controls[s.baseline_id] | statuses.keys())
            else:
                total = framework.control_count
            values = list(statuses.values())
            summaries.append(
                FrameworkSummary(
                    framework=framework,
                    total=total,
                    satisfied=values.count(AssessmentStatus.SATISFIED),
                    other_than_satisfied=values.count(AssessmentStatus.OTHER_THAN_SATISFIED),
                )
            )
        out[s.pk] = summaries
    return out


def control_history(
    *, ctx: AgencyContext, system: InformationSystem, control: Control
) -> list[ControlAssessment]:
    """Every assessment of ``control`` on ``system``, oldest first (one query)."""
    return list(
        scope(ControlAssessment.objects.all(), ctx)
        .filter(system=system, control=control)
        .select_related("assessor", "recorded_by")
        .order_by("assessed_at", "pk")
    )


def in_force(history: list[ControlAssessment], at: datetime) -> ControlAssessment | None:
    """The assessment of ``history`` (oldest first) that holds at ``at``: the latest at or
    before it, the later record winning a tie (as ``latest_assessments`` orders them)."""
    held = [a for a in history if a.assessed_at <= at]
    return max(held, key=lambda a: (a.assessed_at, a.pk)) if held else None
