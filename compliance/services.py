"""Writes of the compliance app: catalog and baseline imports, control assessments.

Each service is the one place its workflow lives; commands, the API and pages call it. Imports
validate the whole document before writing anything and write in one transaction, so a bad
file leaves the database as it was. Services that act for a person take the acting
``AgencyContext`` and, where time matters, ``now``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.context import AgencyContext
from accounts.errors import InvalidInput, NotFound, NotPermitted
from accounts.models import Membership, Role
from accounts.scoping import scope

from . import oscal, selectors
from .models import (
    AssessmentMethod,
    AssessmentStatus,
    Baseline,
    Control,
    ControlAssessment,
    Framework,
    ImplementationStatus,
    InformationSystem,
)

NIST_LICENCE = (
    "NIST SP 800-53 and its OSCAL content are U.S. Government work, in the public domain: "
    "imported in full."
)
CONTROL_FIELDS = ["label", "title", "family", "parent", "sort_key", "statement", "withdrawn"]


@dataclass
class ImportResult:
    """What an import did, for the command's output and the import result page."""

    kind: str  # "catalog" or "profile"
    framework: Framework
    created: int = 0
    updated: int = 0
    baseline: Baseline | None = None

    def __str__(self) -> str:
        if self.kind == "profile":
            return (
                f"Baseline {self.baseline.name} of {self.framework}: "
                f"{self.baseline.controls.count()} controls."
            )
        return f"{self.framework}: {self.created} controls created, {self.updated} updated."


def _invalid(error: oscal.OSCALError) -> InvalidInput:
    return InvalidInput(str(error), path=error.path)


def oscal_import(
    path_or_file: str | Path | IO,
    *,
    framework_name: str | None = None,
    framework_version: str | None = None,
    licence_note: str | None = None,
) -> ImportResult:
    """Import an OSCAL catalog or profile (JSON), whichever the document is."""
    try:
        kind, body = oscal.load(path_or_file)
    except oscal.OSCALError as exc:
        raise _invalid(exc) from exc
    if kind == "catalog":
        return _catalog_import(body, path_or_file, framework_name, framework_version, licence_note)
    if kind == "profile":
        return _profile_import(body, framework_name, framework_version)
    raise InvalidInput(
        f"{kind}: Docket imports OSCAL catalogs and profiles, not {kind!r} documents.", path=kind
    )


def catalog_import(
    path_or_file: str | Path | IO,
    *,
    framework_name: str | None = None,
    framework_version: str | None = None,
    licence_note: str | None = None,
) -> ImportResult:
    """Import an OSCAL catalog: its framework and every control and enhancement in it.

    The framework is named by the catalog's title (less a resolved profile's "HIGH IMPACT
    BASELINE", so NIST's LOW, MODERATE and HIGH catalogs fill one framework) and its version
    by ``metadata.version``; either can be given instead. Importing again, or importing another
    catalog of the same framework, updates controls by identifier and never duplicates them;
    controls absent from the file are left alone (a LOW catalog holds fewer than a HIGH one).
    """
    try:
        kind, body = oscal.load(path_or_file)
    except oscal.OSCALError as exc:
        raise _invalid(exc) from exc
    if kind != "catalog":
        raise InvalidInput(f"{kind}: expected an OSCAL catalog, found a {kind!r}.", path=kind)
    return _catalog_import(body, path_or_file, framework_name, framework_version, licence_note)


def baseline_import(
    path_or_file: str | Path | IO,
    *,
    framework_name: str | None = None,
    framework_version: str | None = None,
) -> ImportResult:
    """Import an OSCAL profile as a baseline of an already imported framework."""
    try:
        kind, body = oscal.load(path_or_file)
    except oscal.OSCALError as exc:
        raise _invalid(exc) from exc
    if kind != "profile":
        raise InvalidInput(f"{kind}: expected an OSCAL profile, found a {kind!r}.", path=kind)
    return _profile_import(body, framework_name, framework_version)


def _catalog_import(body, source, framework_name, framework_version, licence_note):
    try:
        parsed = oscal.parse_catalog(body)
    except oscal.OSCALError as exc:
        raise _invalid(exc) from exc
    name = framework_name or parsed.framework_name
    version = framework_version or parsed.version
    _check_lengths(parsed.controls)
    if not name or len(name) > 200 or not version or len(version) > 64:
        raise InvalidInput(
            "catalog.metadata: the framework needs a name (title) of at most 200 characters "
            "and a version of at most 64.",
            path="catalog.metadata",
        )
    source_name = Path(source).name if isinstance(source, str | Path) else "uploaded file"
    with transaction.atomic():
        framework, created = Framework.objects.select_for_update().get_or_create(
            name=name, version=version
        )
        framework.source = f"OSCAL catalog {source_name} ({parsed.uuid})"[:500]
        if licence_note is not None:
            framework.licence_note = licence_note
        elif created and "800-53" in name:
            framework.licence_note = NIST_LICENCE
        framework.save()

        existing = set(framework.controls.values_list("identifier", flat=True))
        # Upsert level by level: an enhancement needs its parent's primary key, which the
        # upsert of the level above returns (RETURNING on PostgreSQL and SQLite).
        pks: dict[str, int] = {}
        by_depth: dict[int, list[oscal.CatalogControl]] = defaultdict(list)
        depth: dict[str, int] = {}
        for c in parsed.controls:
            depth[c.identifier] = depth[c.parent] + 1 if c.parent else 0
            by_depth[depth[c.identifier]].append(c)
        for level in sorted(by_depth):
            rows = [
                Control(
                    framework=framework,
                    identifier=c.identifier,
                    label=c.label,
                    title=c.title,
                    family=c.family,
                    parent_id=pks[c.parent] if c.parent else None,
                    sort_key=c.sort_key,
                    statement=c.statement,
                    withdrawn=c.withdrawn,
                )
                for c in by_depth[level]
            ]
            saved = Control.objects.bulk_create(
                rows,
                batch_size=1000,
                update_conflicts=True,
                unique_fields=["framework", "identifier"],
                update_fields=CONTROL_FIELDS,
            )
            pks.update((row.identifier, row.pk) for row in saved)
    found = {c.identifier for c in parsed.controls}
    return ImportResult(
        kind="catalog",
        framework=framework,
        created=len(found - existing),
        updated=len(found & existing),
    )


def _check_lengths(controls: list[oscal.CatalogControl]) -> None:
    limits = {"identifier": 100, "label": 100, "title": 500, "family": 200, "sort_key": 100}
    for c in controls:
        for name, limit in limits.items():
            if len(getattr(c, name)) > limit:
                raise InvalidInput(f"{c.path}: {name} longer than {limit} characters.", path=c.path)


def _profile_import(body, framework_name, framework_version):
    try:
        parsed = oscal.parse_profile(body)
    except oscal.OSCALError as exc:
        raise _invalid(exc) from exc
    baseline_name = parsed.baseline_name
    if baseline_name is None:
        raise InvalidInput(
            f"profile.metadata.title: cannot tell the baseline (LOW, MODERATE, HIGH) from "
            f"{parsed.title!r}.",
            path="profile.metadata.title",
        )
    name = framework_name or parsed.framework_name
    version = framework_version or parsed.version
    framework = Framework.objects.filter(name=name, version=version).first()
    if framework is None:
        raise InvalidInput(
            f"profile.metadata: no framework {name!r} version {version!r}; import its catalog "
            "first.",
            path="profile.metadata",
        )
    controls = {c.identifier: c for c in framework.controls.only("id", "identifier", "parent_id")}
    children: dict[int, list[Control]] = defaultdict(list)
    for c in controls.values():
        if c.parent_id:
            children[c.parent_id].append(c)

    def select(selections: list[oscal.Selection]) -> set[int]:
        chosen: set[int] = set()
        for s in selections:
            if s.everything:
                chosen.update(c.pk for c in controls.values())
            for i, identifier in enumerate(s.ids):
                control = controls.get(identifier)
                if control is None:
                    path = f"{s.path}.with-ids[{i}]"
                    raise InvalidInput(
                        f"{path}: no control {identifier!r} in {framework}.", path=path
                    )
                stack = [control]
                while stack:
                    current = stack.pop()
                    chosen.add(current.pk)
                    if s.with_children:
                        stack.extend(children[current.pk])
        return chosen

    chosen = select(parsed.include) - select(parsed.exclude)
    with transaction.atomic():
        baseline, created = Baseline.objects.select_for_update().get_or_create(
            framework=framework, name=baseline_name, defaults={"title": parsed.title[:500]}
        )
        if not created and baseline.title != parsed.title[:500]:
            baseline.title = parsed.title[:500]
            baseline.save(update_fields=["title", "updated_at"])
        baseline.controls.set(chosen)
    return ImportResult(
        kind="profile",
        framework=framework,
        baseline=baseline,
        created=int(created),
        updated=int(not created),
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
    may = ctx.has_role(Role.COMPLIANCE_OFFICER) or (
        ctx.has_role(Role.ISSO) and system.pk in ctx.isso_system_ids
    )
    if not may:
        raise NotPermitted(
            "Only a compliance officer, or an ISSO of this system, may record its assessments."
        )
    control_pk = getattr(control, "pk", control)
    # Only a control of a framework the caller may see (the same answer as an absent one).
    control = (
        Control.objects.filter(pk=control_pk, framework__in=selectors.frameworks_visible(ctx))
        .select_related("framework")
        .first()
    )
    if control is None:
        raise InvalidInput(f"No control {control_pk!r}.", field="control")
    if assessed_at is None or timezone.is_naive(assessed_at):
        raise InvalidInput("assessed_at needs a date, time and time zone.", field="assessed_at")
    if assessed_at > now:
        raise InvalidInput("assessed_at cannot be in the future.", field="assessed_at")
    for name, value, choices, optional in (
        ("status", status, AssessmentStatus, False),
        ("implementation_status", implementation_status, ImplementationStatus, True),
        ("method", method, AssessmentMethod, True),
    ):
        if not (value in choices.values or (optional and value == "")):
            allowed = ", ".join(choices.values)
            raise InvalidInput(f"{name}: {value!r} is not one of {allowed}.", field=name)
    if assessor is None:
        assessor = ctx.user
    elif not isinstance(assessor, get_user_model()) or not (
        Membership.objects.filter(user=assessor, agency=ctx.agency).exists()
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
        first_field, messages = next(iter(exc.message_dict.items()))
        raise InvalidInput(f"{first_field}: {' '.join(messages)}", field=first_field) from exc
    assessment.save()
    return assessment
