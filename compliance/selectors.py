"""Reads of the compliance app, always scoped to the caller's agency.

The central one answers "what was the compliance state of system S under framework F at time
T": per control, the latest assessment with ``assessed_at`` at or before T. It runs a fixed
number of queries whatever the number of controls or the length of the history: on PostgreSQL
one ``DISTINCT ON (control_id) … ORDER BY control_id, assessed_at DESC, id DESC`` read along
the (system, control, assessed_at) index; elsewhere a window function does the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from accounts.context import AgencyContext
from accounts.errors import InvalidInput, NotFound
from accounts.scoping import scope

from .models import AssessmentStatus, Control, ControlAssessment, Framework, InformationSystem


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
    qs = scope(ControlAssessment.objects.all(), ctx).filter(
        system=system, control__framework=framework, assessed_at__lte=at
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

    Three queries, however many controls and assessments: the system (through the caller's
    scope, so another agency's system is not found), the controls in question, and the latest
    assessment per control; a fourth only when controls outside the baseline were assessed.
    """
    if timezone.is_naive(at) or (known_at is not None and timezone.is_naive(known_at)):
        raise InvalidInput("The instant needs a time zone.", field="at")
    found = (
        scope(InformationSystem.objects.select_related("baseline"), ctx)
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


def frameworks_visible(ctx) -> QuerySet[Framework]:
    """The frameworks the caller's agency may see: the reference ones (no agency: NIST from
    OSCAL, the skeletons Docket ships) and those it imported under its own licence. Another
    agency's licensed frameworks, and so their controls, never appear."""
    return scope(Framework.objects.all(), ctx)


def controls_visible(ctx) -> QuerySet[Control]:
    """The controls of ``frameworks_visible(ctx)``."""
    return scope(Control.objects.all(), ctx)
