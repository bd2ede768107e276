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
from django.db.models import Q
from django.utils import timezone

from accounts.context import AgencyContext, context_for
from accounts.labels import field_label, first_error
from accounts.models import Membership, Role
from accounts.permissions import require
from accounts.scoping import scope
from core.errors import InvalidInput, NotFound, NotPermitted
from core.time import parse_instant

from . import documents, oscal, selectors, tabular
from .models import (
    AssessmentMethod,
    AssessmentStatus,
    AuthorizationStatus,
    Baseline,
    Control,
    ControlAssessment,
    ControlMapping,
    Framework,
    ImpactLevel,
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
            agency=None, name=name, version=version
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
    framework = Framework.objects.filter(agency=None, name=name, version=version).first()
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
                stack, walked = [control], set()
                while stack:
                    current = stack.pop()
                    if current.pk in walked:  # reached already: no parent loop can trap us
                        continue
                    walked.add(current.pk)
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
    assessment.save()
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


# --- framework, crosswalk, system and assessment files (CSV, YAML) ---------------------------
#
# The formats are in docs/compliance-import.md. Every import reads the whole file, checks all
# of it, then writes in one transaction: a problem anywhere is one InvalidInput naming the line
# (CSV) or the path (YAML) and nothing is stored. Importing the same file again changes
# nothing; a changed file updates what it names and never duplicates.

SHIPPED_DIR = Path(__file__).resolve().parent / "frameworks"
SHIPPED_FRAMEWORKS = (
    "cis-controls-v8.yaml",
    "cis-kubernetes-benchmark-v1.9.yaml",
    "pci-dss-v4.0.yaml",
)
SHIPPED_CROSSWALK = "crosswalk-docket.yaml"


@dataclass
class FileImportResult:
    """What a file import did: rows created, updated and found unchanged (and skipped, for the
    shipped crosswalk's rows whose framework is not loaded)."""

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    framework: Framework | None = None

    def as_dict(self) -> dict:
        body = {
            "kind": self.kind,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }
        if self.skipped:
            body["skipped"] = self.skipped
        if self.framework is not None:
            body["framework"] = {
                "id": self.framework.pk,
                "name": self.framework.name,
                "version": self.framework.version,
            }
        return body

    def __str__(self) -> str:
        what = f"{self.framework}: " if self.framework is not None else ""
        text = (
            f"{what}{self.created} {self.kind} created, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )
        if self.skipped:
            text += f", {self.skipped} skipped (control not loaded)"
        return text + "."


def _tabular_invalid(exc: tabular.TabularError) -> InvalidInput:
    extra = {}
    if exc.where.startswith("line "):
        extra["line"] = int(exc.where.split()[1].rstrip(","))
    elif exc.where:
        extra["path"] = exc.where
    return InvalidInput(str(exc), **extra)


def _read_text(source, filename: str | None) -> tuple[str, str]:
    """The file's text and format (``csv`` or ``yaml``)."""
    try:
        data, name = tabular.read_bytes(source)
        text = tabular.decode(data)
        return text, tabular.detect_format(text, filename or name)
    except tabular.TabularError as exc:
        raise _tabular_invalid(exc) from exc


def _importing_agency(ctx: AgencyContext | None, agency):
    """The agency an import writes for: the caller's (who must be a compliance officer or
    agency administrator there) or, from a command, the one named (``None``: reference data)."""
    if ctx is None:
        return agency
    require(ctx, "compliance_import")
    return ctx.agency


def framework_file_import(
    source,
    *,
    ctx: AgencyContext | None = None,
    agency=None,
    filename: str | None = None,
) -> FileImportResult:
    """Import a framework from a CSV or YAML file (docs/compliance-import.md).

    Through the API (``ctx``) the framework is the caller's agency's, under its licence and
    visible only to it; from the command it is ``agency``'s, or reference data every agency sees
    when ``agency`` is ``None``. Controls are matched by identifier within the framework
    (``name`` + ``version`` + owner): created, updated or left as they are; controls absent from
    the file are left alone.
    """
    agency = _importing_agency(ctx, agency)
    text, fmt = _read_text(source, filename)
    try:
        head = documents.parse_framework(text, fmt, known_parents=_AnyParent())
    except tabular.TabularError as exc:
        raise _tabular_invalid(exc) from exc
    existing = Framework.objects.filter(agency=agency, name=head.name, version=head.version).first()
    # The stored controls and their parents: a file may name them as parents, and must not
    # close a loop through them (a stored child made the parent of its own parent).
    known = (
        dict(existing.controls.values_list("identifier", "parent__identifier")) if existing else {}
    )
    try:
        document = documents.parse_framework(text, fmt, known_parents=known)
    except tabular.TabularError as exc:
        raise _tabular_invalid(exc) from exc
    with transaction.atomic():
        return framework_document_write(document, agency_id=getattr(agency, "pk", None))


class _AnyParent(set):
    """For the first pass, before the framework is known: any parent may exist already."""

    def __contains__(self, item) -> bool:
        return True


def framework_document_write(
    document: documents.FrameworkDocument,
    *,
    agency_id: int | None,
    models=None,
) -> FileImportResult:
    """Write a validated framework document (inside the caller's transaction). ``models``:
    the historical models, from a data migration."""
    framework_model, control_model = _models(models, "Framework", "Control")
    framework, _ = framework_model.objects.select_for_update().get_or_create(
        agency_id=agency_id, name=document.name, version=document.version
    )
    changed_meta = False
    for name in ("source", "licence_note"):
        value = getattr(document, name)
        if value and getattr(framework, name) != value:
            setattr(framework, name, value)
            changed_meta = True
    if changed_meta:
        framework.save()
    fields = ["label", "title", "family", "sort_key", "statement"]
    stored = {
        c.identifier: c
        for c in control_model.objects.filter(framework=framework).select_related("parent")
    }
    pks = {identifier: c.pk for identifier, c in stored.items()}
    result = FileImportResult(kind="controls", framework=framework)
    for level in document.depth_levels():
        new, changed = [], []
        for row in level:
            values = {
                "label": row.label or row.identifier,
                "title": row.title,
                "family": row.family,
                "sort_key": row.sort_key,
                "statement": row.statement,
            }
            parent_id = pks[row.parent] if row.parent else None
            current = stored.get(row.identifier)
            if current is None:
                new.append(
                    control_model(
                        framework=framework,
                        identifier=row.identifier,
                        parent_id=parent_id,
                        **values,
                    )
                )
            elif parent_id != current.parent_id or any(
                getattr(current, k) != v for k, v in values.items()
            ):
                for k, v in values.items():
                    setattr(current, k, v)
                current.parent_id = parent_id
                changed.append(current)
            else:
                result.unchanged += 1
        for control in control_model.objects.bulk_create(new, batch_size=1000):
            pks[control.identifier] = control.pk
        control_model.objects.bulk_update(changed, [*fields, "parent"], batch_size=1000)
        result.created += len(new)
        result.updated += len(changed)
    return result


def shipped_frameworks_load(*, models=None) -> list[FileImportResult]:
    """(Re)load the skeletons Docket ships as reference frameworks (data migration, command)."""
    results = []
    with transaction.atomic():
        for name in SHIPPED_FRAMEWORKS:
            text = (SHIPPED_DIR / name).read_text(encoding="utf-8")
            document = documents.parse_framework(text, "yaml")
            results.append(framework_document_write(document, agency_id=None, models=models))
    return results


def crosswalk_file_import(
    source,
    *,
    ctx: AgencyContext | None = None,
    agency=None,
    filename: str | None = None,
) -> FileImportResult:
    """Import crosswalk rows (control ↔ control) from a CSV or YAML file.

    Frameworks are named by name and, where several versions are visible, version; controls by
    identifier or label (``au-2`` or ``AU-2``). An agency's rows may link reference controls and
    its own licensed ones and only it sees them; reference rows (a command without
    ``--agency``) link reference controls only. Rows are matched by (source control, target
    control): created, updated (relationship, source, note) or unchanged.
    """
    agency = _importing_agency(ctx, agency)
    text, fmt = _read_text(source, filename)
    try:
        rows = documents.parse_crosswalk(text, fmt)
    except tabular.TabularError as exc:
        raise _tabular_invalid(exc) from exc
    with transaction.atomic():
        return crosswalk_rows_write(rows, agency_id=getattr(agency, "pk", None))


def crosswalk_rows_write(
    rows: list[documents.MappingRow],
    *,
    agency_id: int | None,
    skip_missing: bool = False,
    models=None,
) -> FileImportResult:
    """Resolve and write validated crosswalk rows (inside the caller's transaction).

    ``skip_missing``: rows naming a framework or control that is not loaded are counted as
    skipped rather than refused (the shipped crosswalk, whose NIST side waits for
    ``import_catalog``, and a LOW catalog lacks the enhancements some rows name).
    """
    framework_model, control_model, mapping_model = _models(
        models, "Framework", "Control", "ControlMapping"
    )
    names = {r.source_framework for r in rows} | {r.target_framework for r in rows}
    owner = Q(agency__isnull=True) | (Q(agency_id=agency_id) if agency_id else Q(pk__in=[]))
    frameworks: dict[str, list] = defaultdict(list)
    for f in framework_model.objects.filter(owner, name__in=names):
        frameworks[f.name].append(f)
    controls: dict[int, dict[str, int]] = defaultdict(dict)
    for pk, framework_id, identifier, label in control_model.objects.filter(
        framework__in=[f for fs in frameworks.values() for f in fs]
    ).values_list("pk", "framework_id", "identifier", "label"):
        controls[framework_id].setdefault(identifier, pk)
        if label:
            controls[framework_id].setdefault(f"label:{label}", pk)

    def resolve(row, side: str) -> int | None:
        name = getattr(row, f"{side}_framework")
        version = getattr(row, f"{side}_version")
        identifier = getattr(row, f"{side}_control")
        found = [f for f in frameworks.get(name, []) if not version or f.version == version]
        if len(found) > 1:
            # The agency's own licensed copy wins over a reference one of the same version.
            own = [f for f in found if f.agency_id is not None]
            found = own if len(own) == 1 else found
        if not found:
            if skip_missing:
                return None
            what = f"{name!r}" + (f" version {version!r}" if version else "")
            raise InvalidInput(f"{row.where}: no framework {what}.", **_where(row.where))
        if len(found) > 1:
            versions = ", ".join(sorted(f.version for f in found))
            raise InvalidInput(
                f"{row.where}: framework {name!r} has several versions ({versions}); "
                f"give {side}_version.",
                **_where(row.where),
            )
        by_id = controls[found[0].pk]
        pk = by_id.get(identifier) or by_id.get(f"label:{identifier}")
        if pk is None and skip_missing:
            return None
        if pk is None:
            raise InvalidInput(
                f"{row.where}: no control {identifier!r} in {found[0]}.", **_where(row.where)
            )
        return pk

    result = FileImportResult(kind="mappings")
    wanted: dict[tuple[int, int], documents.MappingRow] = {}
    for row in rows:
        source_pk, target_pk = resolve(row, "source"), resolve(row, "target")
        if source_pk is None or target_pk is None:
            result.skipped += 1
            continue
        if source_pk == target_pk:
            raise InvalidInput(f"{row.where}: maps a control to itself.", **_where(row.where))
        # The same pair again — in either direction, or spelt another way (AU-2 / au-2).
        earlier = wanted.get((source_pk, target_pk)) or wanted.get((target_pk, source_pk))
        if earlier is not None:
            raise InvalidInput(
                f"{row.where}: the same mapping as {earlier.where}.", **_where(row.where)
            )
        wanted[(source_pk, target_pk)] = row
    controls_named = {pk for pair in wanted for pk in pair}
    stored = {
        (m.source_control_id, m.target_control_id): m
        for m in mapping_model.objects.filter(
            agency_id=agency_id,
            source_control_id__in=controls_named,
            target_control_id__in=controls_named,
        )
    }
    for (source_pk, target_pk), row in wanted.items():
        if (source_pk, target_pk) not in stored and (target_pk, source_pk) in stored:
            raise InvalidInput(
                f"{row.where}: the reverse of this mapping is stored already; change that one.",
                **_where(row.where),
            )
    new, changed = [], []
    for (source_pk, target_pk), row in wanted.items():
        values = {"relationship": row.relationship, "source": row.source, "note": row.note}
        current = stored.get((source_pk, target_pk))
        if current is None:
            new.append(
                mapping_model(
                    agency_id=agency_id,
                    source_control_id=source_pk,
                    target_control_id=target_pk,
                    **values,
                )
            )
        elif any(getattr(current, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(current, k, v)
            changed.append(current)
        else:
            result.unchanged += 1
    mapping_model.objects.bulk_create(new, batch_size=1000)
    mapping_model.objects.bulk_update(changed, ["relationship", "source", "note"])
    result.created, result.updated = len(new), len(changed)
    return result


def shipped_crosswalk_load(*, models=None) -> FileImportResult:
    """(Re)load Docket's shipped crosswalk as reference rows; rows whose framework or control
    is not loaded yet (NIST SP 800-53 before ``import_catalog``) are skipped, and loaded next
    time."""
    text = (SHIPPED_DIR / SHIPPED_CROSSWALK).read_text(encoding="utf-8")
    rows = documents.parse_crosswalk(text, "yaml")
    with transaction.atomic():
        return crosswalk_rows_write(
            rows,
            agency_id=None,
            skip_missing=True,
            models=models,
        )


def _models(models, *names: str) -> list:
    """The named model classes: the app's own, or a data migration's historical ones
    (``models`` is then its ``apps``)."""
    if models is None:
        own = {"Framework": Framework, "Control": Control, "ControlMapping": ControlMapping}
        return [own[name] for name in names]
    return [models.get_model("compliance", name) for name in names]


def _where(where: str) -> dict:
    if where.startswith("line "):
        return {"line": int(where.split()[1])}
    return {"path": where} if where else {}


# --- the system inventory as CSV ---------------------------------------------------------------

SYSTEM_COLUMNS = [
    "acronym",
    "name",
    "component",
    "confidentiality",
    "integrity",
    "availability",
    "high_value_asset",
    "baseline_framework",
    "baseline_version",
    "baseline",
    "ato_status",
    "ato_date",
    "ato_expires",
    "system_owner",
    "authorizing_official",
    "issos",
    "host_patterns",
    "k8s_clusters",
    "k8s_namespaces",
    "image_repositories",
]
SYSTEM_REQUIRED = ["acronym", "name", "confidentiality", "integrity", "availability"]
SYSTEM_LISTS = ["host_patterns", "k8s_clusters", "k8s_namespaces", "image_repositories"]
SYSTEM_TEXT = ["name", "component", "system_owner", "authorizing_official"]
IMPACT_TOKENS = {level.label.lower(): level.value for level in ImpactLevel}
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}


def _row_error(row: tabular.Row, column: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{row.where}: {column}: {problem}", line=row.line, column=column)


def systems_file_import(
    source, *, ctx: AgencyContext | None = None, agency=None, filename: str | None = None
) -> FileImportResult:
    """Import the agency's system inventory from CSV (the columns of ``systems_export_csv``).

    Systems are matched by acronym: created, updated or unchanged; systems absent from the file
    are left alone, and so are the fields of columns absent from it. ``issos`` names, by
    username, the ISSOs of the agency assigned to the system (the file decides the whole list);
    the four selector columns are ``;``-separated lists. A compliance officer or agency
    administrator imports through the API; the command names the agency.
    """
    agency = _importing_agency(ctx, agency)
    if agency is None:
        raise InvalidInput("Systems belong to an agency: name it.", field="agency")
    text, _fmt = _read_text(source, filename or "systems.csv")
    try:
        columns, rows = tabular.csv_rows(
            text,
            required=SYSTEM_REQUIRED,
            optional=[c for c in SYSTEM_COLUMNS if c not in SYSTEM_REQUIRED],
        )
    except tabular.TabularError as exc:
        raise _tabular_invalid(exc) from exc
    present = set(columns)
    stored = {s.acronym: s for s in InformationSystem.objects.filter(agency=agency)}
    isso_memberships = {
        m.user.username: m
        for m in Membership.objects.filter(agency=agency, role=Role.ISSO).select_related("user")
    }
    assigned: dict[int, set[str]] = defaultdict(set)
    for system_id, username in Membership.systems.through.objects.filter(
        membership__agency=agency, membership__role=Role.ISSO
    ).values_list("informationsystem_id", "membership__user__username"):
        assigned[system_id].add(username)
    baselines = {
        (b.framework.name, b.framework.version, b.name): b
        for b in Baseline.objects.filter(
            Q(framework__agency__isnull=True) | Q(framework__agency=agency)
        ).select_related("framework")
    }

    seen: dict[str, int] = {}
    plan: list[tuple[InformationSystem, bool, set[str] | None]] = []
    result = FileImportResult(kind="systems")
    for row in rows:
        acronym = row.get("acronym")
        if not acronym:
            raise _row_error(row, "acronym", "empty")
        if acronym in seen:
            raise _row_error(row, "acronym", f"{acronym!r} already on line {seen[acronym]}")
        seen[acronym] = row.line
        current = stored.get(acronym)
        system = current or InformationSystem(agency=agency, acronym=acronym)
        before = _system_values(system) if current else None
        for column in SYSTEM_TEXT:
            if column in present:
                setattr(system, column, row.get(column))
        for column in ("confidentiality", "integrity", "availability"):
            token = row.get(column).lower()
            if token not in IMPACT_TOKENS:
                raise _row_error(row, column, f"{row.get(column)!r} is not low, moderate or high")
            setattr(system, column, IMPACT_TOKENS[token])
        if "high_value_asset" in present:
            token = row.get("high_value_asset").lower()
            if token not in YES | NO:
                raise _row_error(row, "high_value_asset", f"{token!r} is not yes or no")
            system.high_value_asset = token in YES
        if "ato_status" in present:
            token = row.get("ato_status") or AuthorizationStatus.NOT_AUTHORIZED
            if token not in AuthorizationStatus.values:
                allowed = ", ".join(AuthorizationStatus.values)
                raise _row_error(row, "ato_status", f"{token!r} is not one of {allowed}")
            system.ato_status = token
        for column in ("ato_date", "ato_expires"):
            if column in present:
                setattr(system, column, _row_date(row, column))
        for column in SYSTEM_LISTS:
            if column in present:
                setattr(system, column, tabular.split_list(row.get(column)))
        if present & {"baseline_framework", "baseline_version", "baseline"}:
            key = (row.get("baseline_framework"), row.get("baseline_version"), row.get("baseline"))
            if not any(key):
                system.baseline = None
            elif key not in baselines:
                raise _row_error(
                    row,
                    "baseline",
                    f"no baseline {key[2]!r} of framework {key[0]!r} version {key[1]!r}",
                )
            else:
                system.baseline = baselines[key]
        issos = None
        if "issos" in present:
            issos = set(tabular.split_list(row.get("issos")))
            unknown = sorted(issos - isso_memberships.keys())
            if unknown:
                raise _row_error(
                    row,
                    "issos",
                    f"{', '.join(unknown)}: not an ISSO of {agency.abbreviation}",
                )
        try:
            system.full_clean(exclude=["agency", "baseline"], validate_unique=False)
        except ValidationError as exc:
            column, messages = next(iter(exc.message_dict.items()))
            column = "ato_expires" if column == "__all__" else column
            raise _row_error(row, column, " ".join(messages)) from exc
        same_issos = issos is None or (current is not None and issos == assigned[current.pk])
        if current is not None and before == _system_values(system) and same_issos:
            result.unchanged += 1
            continue
        plan.append((system, current is None, issos))

    with transaction.atomic():
        for system, created, issos in plan:
            system.save()
            if created:
                result.created += 1
            else:
                result.updated += 1
            if issos is not None:
                for username, membership in isso_memberships.items():
                    if username in issos:
                        membership.systems.add(system)
                    else:
                        membership.systems.remove(system)
    return result


SYSTEM_FIELDS = [
    "name",
    "component",
    "confidentiality",
    "integrity",
    "availability",
    "high_value_asset",
    "baseline_id",
    "ato_status",
    "ato_date",
    "ato_expires",
    "system_owner",
    "authorizing_official",
    *SYSTEM_LISTS,
]


def _system_values(system: InformationSystem) -> tuple:
    return tuple(getattr(system, f) for f in SYSTEM_FIELDS)


def _row_date(row: tabular.Row, column: str):
    from datetime import date

    value = row.get(column)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _row_error(row, column, f"{value!r} is not a date (YYYY-MM-DD)") from None


def systems_export_csv(*, ctx: AgencyContext) -> str:
    """The system inventory as CSV, in the columns ``systems_file_import`` reads (so exporting
    then importing changes nothing). The systems the caller may read
    (``selectors.systems_visible``, the rule of the inventory pages). Two queries."""
    systems = selectors.with_issos(
        selectors.systems_visible(ctx).select_related("baseline__framework"), ctx
    ).order_by("acronym")

    def rows():
        for s in systems:
            baseline = s.baseline
            yield [
                s.acronym,
                s.name,
                s.component,
                ImpactLevel(s.confidentiality).label.lower(),
                ImpactLevel(s.integrity).label.lower(),
                ImpactLevel(s.availability).label.lower(),
                "yes" if s.high_value_asset else "no",
                baseline.framework.name if baseline else "",
                baseline.framework.version if baseline else "",
                baseline.name if baseline else "",
                s.ato_status,
                s.ato_date.isoformat() if s.ato_date else "",
                s.ato_expires.isoformat() if s.ato_expires else "",
                s.system_owner,
                s.authorizing_official,
                ";".join(sorted(m.user.username for m in s.isso_list)),
                *(";".join(getattr(s, column)) for column in SYSTEM_LISTS),
            ]

    # Cells that would start a spreadsheet formula are quoted (tabular.csv_cell).
    return tabular.csv_text(SYSTEM_COLUMNS, rows())


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
    source,
    *,
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
    import io
    import re

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
    from . import crosswalk

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
    with transaction.atomic():
        ControlAssessment.objects.bulk_create(new, batch_size=1000)
    return FileImportResult(kind="assessments", created=len(new), unchanged=len(built) - len(new))


def operator_context(agency, user=None) -> AgencyContext:
    """The context of a management command run by an operator for ``agency``: a compliance
    officer's reach, recorded as ``user`` (``None``: the operator, no Docket account)."""
    if user is not None:
        return context_for(user, agency)
    return AgencyContext(user=None, agency=agency, roles=frozenset({Role.COMPLIANCE_OFFICER}))
