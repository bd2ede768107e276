"""Control assessments: one recorded by a person (append-only, "as of"), and assessments in bulk
from CSV or OSCAL assessment results."""

from __future__ import annotations

import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.context import AgencyContext
from accounts.labels import field_label, first_error
from accounts.models import Membership
from accounts.permissions import require
from accounts.scoping import scope
from audit.trail import record_for
from compliance import crosswalk, oscal, selectors, tabular
from compliance.models import (
    AssessmentMethod,
    AssessmentStatus,
    Control,
    ControlAssessment,
    Framework,
    ImplementationStatus,
    InformationSystem,
)
from core.errors import InvalidInput, NotFound, NotPermitted
from core.time import parse_instant

from .common import (
    FileImportResult,
    _invalid,
    _row_error,
    _tabular_invalid,
    _where,
    record_import,
)

# --- assessments -----------------------------------------------------------------------------


def assessment_record(
    *,
    ctx: AgencyContext,
    system: InformationSystem | int,
    control: Control | int,
    status: str,
    assessed_at: datetime,
    implementation_status: str = "",
    method: str = "",
    finding: str = "",
    assessor=None,
    now: datetime | None = None,
) -> ControlAssessment:
    """Record an assessment of ``control`` on ``system``; it supersedes earlier ones from
    ``assessed_at`` on.

    Only a compliance officer of the agency or an ISSO assigned to the system may record one.
    ``assessed_at`` may be in the past (an assessment entered after the fact) but never in the
    future. ``assessor`` is who assessed (the recorder by default) and must hold a role in the
    agency; the recorder and the time of recording are kept beside it.
    """
    now = now if now is not None else timezone.now()
    system_pk = getattr(system, "pk", system)
    found = scope(InformationSystem.objects.all(), ctx).filter(pk=system_pk).first()
    if found is None:
        raise NotFound("No such information system.")
    system = found
    control_pk = getattr(control, "pk", control)
    # Only controls of frameworks the agency sees: never another agency's licensed ones.
    found_control = scope(Control.objects.all(), ctx).filter(pk=control_pk).first()
    if found_control is None:
        raise InvalidInput(f"No control {control_pk!r}.", field="control")
    assessment = _assessment_build(
        ctx=ctx,
        system=system,
        control=found_control,
        status=status,
        assessed_at=assessed_at,
        implementation_status=implementation_status,
        method=method,
        finding=finding,
        assessor=assessor,
        now=now,
    )
    with transaction.atomic():
        assessment.save()
        record_for(
            ctx,
            "system_record",
            subject=assessment,
            subject_ref=f"{system.acronym} {found_control} assessment",
            at=now,
            changes={"status": {"before": None, "after": assessment.status}},
        )
    return assessment


def _assessment_build(
    *,
    ctx: AgencyContext,
    system: InformationSystem,
    control: Control,
    status: str,
    assessed_at: datetime,
    implementation_status: str,
    method: str,
    finding: str,
    assessor,
    now: datetime,
    members: set[int] | None = None,
) -> ControlAssessment:
    """``assessment_record``'s rules on a system and control already found in scope: the
    unsaved assessment, or ``InvalidInput``/``NotPermitted``. ``members``: the agency's member
    ids, when the caller checks many rows (a bulk import) and has read them once."""
    require(ctx, "system_record", system=system, doing="record its assessments")
    if assessed_at is None or timezone.is_naive(assessed_at):
        raise InvalidInput(
            f"{field_label(ControlAssessment, 'assessed_at')} needs a date, time and time zone.",
            field="assessed_at",
        )
    if assessed_at > now:
        raise InvalidInput(
            f"{field_label(ControlAssessment, 'assessed_at')} cannot be in the future.",
            field="assessed_at",
        )
    for name, value, choices, optional in (
        ("status", status, AssessmentStatus, False),
        ("implementation_status", implementation_status, ImplementationStatus, True),
        ("method", method, AssessmentMethod, True),
    ):
        if not (value in choices.values or (optional and value == "")):
            allowed = ", ".join(choices.values)
            raise InvalidInput(
                f"{field_label(ControlAssessment, name)}: {value!r} is not one of {allowed}.",
                field=name,
            )
    if assessor is None:
        assessor = ctx.user
    elif not isinstance(assessor, get_user_model()) or not (
        assessor.pk in members
        if members is not None
        else Membership.objects.filter(user=assessor, agency=ctx.agency).exists()
    ):
        raise InvalidInput("The assessor must hold a role in the agency.", field="assessor")

    assessment = ControlAssessment(
        system=system,
        control=control,
        status=status,
        implementation_status=implementation_status,
        method=method,
        finding=finding,
        assessed_at=assessed_at,
        assessor=assessor,
        recorded_at=now,
        recorded_by=ctx.user,
    )
    try:
        assessment.full_clean(exclude=["system", "control", "assessor", "recorded_by"])
    except ValidationError as exc:
        first_field, message = first_error(ControlAssessment, exc)
        raise InvalidInput(message, field=first_field) from exc
    return assessment


# --- assessments in bulk: CSV and OSCAL assessment results ------------------------------------

ASSESSMENT_REQUIRED = ["system", "framework", "control", "status", "assessed_at"]
ASSESSMENT_OPTIONAL = [
    "framework_version",
    "implementation_status",
    "assessor",
    "method",
    "finding",
]
OSCAL_STATE = {
    "satisfied": AssessmentStatus.SATISFIED,
    "not-satisfied": AssessmentStatus.OTHER_THAN_SATISFIED,
}
OSCAL_IMPLEMENTATION = {
    "implemented": ImplementationStatus.IMPLEMENTED,
    "partial": ImplementationStatus.PARTIAL,
    "planned": ImplementationStatus.PLANNED,
    "alternative": ImplementationStatus.ALTERNATIVE,
    "not-applicable": ImplementationStatus.NOT_APPLICABLE,
}
OSCAL_METHODS = {"EXAMINE": "examine", "INTERVIEW": "interview", "TEST": "test"}
SYSTEM_PROP = "system-acronym"


@dataclass(frozen=True)
class _AssessmentLine:
    """One assessment to record, as read from a file, before the rules are applied."""

    where: str
    system: str
    framework: str
    framework_version: str
    control: str
    status: str
    implementation_status: str
    assessed_at: datetime
    assessor: str
    method: str
    finding: str


def assessments_file_import(
    *,
    source,
    ctx: AgencyContext,
    filename: str | None = None,
    system: str | None = None,
    framework: str | None = None,
    now: datetime | None = None,
) -> FileImportResult:
    """Record control assessments in bulk from CSV or OSCAL assessment results (JSON).

    Every row goes through ``assessment_record``'s rules (who may record for which system,
    no future ``assessed_at``, known status tokens, the assessor a member of the agency) and the
    control must be one of a framework the agency sees; the first row that breaks one is
    refused with its line (CSV) or JSON path (OSCAL) and nothing is recorded. Two rows for the
    same system, control and instant are refused. Assessments are append-only, so a row equal
    to one already recorded (same system, control, instant, status, implementation status,
    method, finding and assessor) counts as unchanged and is not recorded twice.

    OSCAL: ``system`` (acronym) and ``framework`` (name) apply where the document does not say
    (see docs/compliance-import.md for the mapping of findings and observations).
    """
    now = now if now is not None else timezone.now()
    try:
        data, _name = tabular.read_bytes(source)
        text = tabular.decode(data)
    except tabular.TabularError as exc:
        raise _tabular_invalid(exc) from exc
    if text.lstrip().startswith("{"):
        lines = _oscal_assessment_lines(text, system=system, framework=framework)
    else:
        lines = _csv_assessment_lines(text)
    return _assessments_record(ctx=ctx, lines=lines, now=now)


def _csv_assessment_lines(text: str) -> list[_AssessmentLine]:
    try:
        _, rows = tabular.csv_rows(text, required=ASSESSMENT_REQUIRED, optional=ASSESSMENT_OPTIONAL)
    except tabular.TabularError as exc:
        raise _tabular_invalid(exc) from exc
    if not rows:
        raise InvalidInput("line 2: no assessments: the file holds a header only.", line=2)
    lines = []
    for row in rows:
        for column in ASSESSMENT_REQUIRED:
            if not row.get(column):
                raise _row_error(row, column, "empty")
        try:
            at = parse_instant(row.get("assessed_at"))
        except ValueError as exc:
            raise _row_error(row, "assessed_at", str(exc)) from None
        if at is None:
            raise _row_error(row, "assessed_at", "needs a UTC offset or a time zone name")
        lines.append(
            _AssessmentLine(
                where=row.where,
                system=row.get("system"),
                framework=row.get("framework"),
                framework_version=row.get("framework_version"),
                control=row.get("control"),
                status=row.get("status"),
                implementation_status=row.get("implementation_status"),
                assessed_at=at,
                assessor=row.get("assessor"),
                method=row.get("method"),
                finding=row.get("finding"),
            )
        )
    return lines


def _oscal_assessment_lines(text: str, *, system, framework) -> list[_AssessmentLine]:
    # trestle (pydantic models of all of OSCAL) is heavy: loaded when an import runs
    from trestle.oscal.assessment_results import AssessmentResults

    try:
        kind, body = oscal.load(io.StringIO(text))
        if kind != "assessment-results":
            raise oscal.OSCALError(kind, f"expected OSCAL assessment results, found {kind!r}")
        document = oscal._validate(AssessmentResults, body, "assessment-results")
    except oscal.OSCALError as exc:
        raise _invalid(exc) from exc

    def prop(holder, name: str) -> str:
        for p in oscal._get(holder, "props") or []:
            if p.name == name:
                return p.value
        return ""

    default_system = prop(document.metadata, SYSTEM_PROP) or (system or "")
    lines = []
    for i, result in enumerate(document.results):
        base = f"assessment-results.results[{i}]"
        acronym = prop(result, SYSTEM_PROP) or default_system
        if not acronym:
            raise InvalidInput(
                f"{base}: no system: give the result a '{SYSTEM_PROP}' property or name the "
                "system with the import.",
                path=base,
            )
        observations = {str(o.uuid): o for o in oscal._get(result, "observations") or []}
        for j, finding in enumerate(oscal._get(result, "findings") or []):
            where = f"{base}.findings[{j}]"
            target = finding.target
            target_type = getattr(target.type, "value", target.type)
            if target_type not in ("objective-id", "statement-id"):
                raise InvalidInput(
                    f"{where}.target.type: {target_type!r}: expected objective-id or statement-id.",
                    path=f"{where}.target.type",
                )
            control = re.sub(r"_(smt|obj)(\..*)?$", "", target.target_id)
            state = getattr(target.status.state, "value", target.status.state)
            implementation = ""
            if oscal._get(target, "implementation_status") is not None:
                token = getattr(
                    target.implementation_status.state, "value", target.implementation_status.state
                )
                implementation = OSCAL_IMPLEMENTATION.get(token, token)
            related = [
                observations.get(str(r.observation_uuid))
                for r in oscal._get(finding, "related_observations") or []
            ]
            if any(o is None for o in related):
                raise InvalidInput(
                    f"{where}.related-observations: names an observation not in the result.",
                    path=f"{where}.related-observations",
                )
            collected = [o.collected for o in related if o.collected]
            at = max(collected) if collected else (oscal._get(result, "end") or result.start)
            methods = [
                OSCAL_METHODS.get(str(getattr(m, "value", m)).upper(), "")
                for o in related
                for m in o.methods
            ]
            text_parts = [finding.title, (finding.description or "").strip()]
            lines.append(
                _AssessmentLine(
                    where=where,
                    system=acronym,
                    framework=framework or "",
                    framework_version="",
                    control=control,
                    status=OSCAL_STATE.get(state, state),
                    implementation_status=implementation,
                    assessed_at=at,
                    assessor="",
                    method=next((m for m in methods if m), ""),
                    finding="\n\n".join(t for t in text_parts if t),
                )
            )
    if not lines:
        raise InvalidInput(
            "assessment-results.results: no findings to record.", path="assessment-results.results"
        )
    return lines


def _assessments_record(*, ctx: AgencyContext, lines: list[_AssessmentLine], now: datetime):
    def refuse(line: _AssessmentLine, problem: str) -> InvalidInput:
        extra = _where(line.where)
        return InvalidInput(f"{line.where}: {problem}", **extra)

    systems = {
        s.acronym: s
        for s in scope(InformationSystem.objects.all(), ctx).filter(
            acronym__in={line.system for line in lines}
        )
    }
    frameworks = list(selectors.frameworks_visible(ctx))
    controls: dict[int, dict[str, Control]] = defaultdict(dict)
    for c in Control.objects.filter(framework__in=frameworks).defer("statement"):
        controls[c.framework_id].setdefault(c.identifier, c)
        controls[c.framework_id].setdefault(f"label:{c.label}", c)
    members = {
        m.user_id: m.user
        for m in Membership.objects.filter(agency=ctx.agency).select_related("user")
    }
    by_username = {u.username: u for u in members.values()}
    member_ids = set(members)

    def framework_for(line: _AssessmentLine) -> Framework:
        if line.framework:
            found = [
                f
                for f in frameworks
                if f.name == line.framework
                and (not line.framework_version or f.version == line.framework_version)
            ]
        else:  # OSCAL without a framework named: the NIST SP 800-53 catalog the agency sees
            found = [f for f in frameworks if crosswalk.scheme_of(f.name) == crosswalk.NIST]
        if len(found) > 1:
            own = [f for f in found if f.agency_id is not None]
            found = own if len(own) == 1 else found
        if not found:
            raise refuse(line, f"framework: no framework {line.framework or 'NIST SP 800-53'!r}.")
        if len(found) > 1:
            raise refuse(line, "framework: several versions; name the framework_version.")
        return found[0]

    built: list[ControlAssessment] = []
    seen: dict[tuple, str] = {}
    for line in lines:
        system = systems.get(line.system)
        if system is None:
            raise refuse(line, f"system: no system {line.system!r} in {ctx.agency.abbreviation}.")
        framework = framework_for(line)
        by_id = controls[framework.pk]
        control = by_id.get(line.control) or by_id.get(f"label:{line.control}")
        if control is None:
            raise refuse(line, f"control: no control {line.control!r} in {framework}.")
        assessor = None
        if line.assessor:
            assessor = by_username.get(line.assessor)
            if assessor is None:
                raise refuse(line, f"assessor: {line.assessor!r} holds no role in the agency.")
        key = (system.pk, control.pk, line.assessed_at)
        if key in seen:
            raise refuse(line, f"the same system, control and time as {seen[key]}.")
        seen[key] = line.where
        try:
            built.append(
                _assessment_build(
                    ctx=ctx,
                    system=system,
                    control=control,
                    status=line.status,
                    assessed_at=line.assessed_at,
                    implementation_status=line.implementation_status,
                    method=line.method,
                    finding=line.finding,
                    assessor=assessor,
                    now=now,
                    members=member_ids,
                )
            )
        except (InvalidInput, NotPermitted) as exc:
            error = type(exc)(f"{line.where}: {exc.message}", **exc.extra, **_where(line.where))
            raise error from exc

    def fingerprint(a: ControlAssessment) -> tuple:
        return (
            a.system_id,
            a.control_id,
            a.assessed_at,
            a.status,
            a.implementation_status,
            a.method,
            a.finding,
            a.assessor_id,
        )

    existing = {
        fingerprint(a)
        for a in ControlAssessment.objects.filter(
            system__in={a.system_id for a in built},
            control__in={a.control_id for a in built},
            assessed_at__in={a.assessed_at for a in built},
        )
    }
    new = [a for a in built if fingerprint(a) not in existing]
    result = FileImportResult(kind="assessments", created=len(new), unchanged=len(built) - len(new))
    with transaction.atomic():
        ControlAssessment.objects.bulk_create(new, batch_size=1000)
        record_import(ctx, ctx.agency, result, None)
    return result
