"""Frameworks, controls and baselines: OSCAL catalog and profile imports, framework and
crosswalk files (CSV, YAML), the shipped skeletons and crosswalk. Formats in
docs/compliance-import.md; every import validates the whole file, then writes in one
transaction."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import IO

from django.db import transaction
from django.db.models import Q

from accounts.context import AgencyContext
from compliance import documents, oscal, tabular
from compliance.models import (
    Baseline,
    Control,
    Framework,
)
from core.errors import InvalidInput

from .common import (
    FileImportResult,
    ImportResult,
    _importing_agency,
    _invalid,
    _models,
    _read_text,
    _tabular_invalid,
    _where,
    record_import,
)

NIST_LICENCE = (
    "NIST SP 800-53 and its OSCAL content are U.S. Government work, in the public domain: "
    "imported in full."
)
CONTROL_FIELDS = ["label", "title", "family", "parent", "sort_key", "statement", "withdrawn"]


def oscal_import(
    *,
    path_or_file: str | Path | IO,
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
    *,
    path_or_file: str | Path | IO,
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
    *,
    path_or_file: str | Path | IO,
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


# --- framework, crosswalk, system and assessment files (CSV, YAML) ---------------------------
#
# The formats are in docs/compliance-import.md. Every import reads the whole file, checks all
# of it, then writes in one transaction: a problem anywhere is one InvalidInput naming the line
# (CSV) or the path (YAML) and nothing is stored. Importing the same file again changes
# nothing; a changed file updates what it names and never duplicates.

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "frameworks"
SHIPPED_FRAMEWORKS = (
    "cis-controls-v8.yaml",
    "cis-kubernetes-benchmark-v1.9.yaml",
    "pci-dss-v4.0.yaml",
)
SHIPPED_CROSSWALK = "crosswalk-docket.yaml"


def framework_file_import(
    *,
    source,
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
        result = framework_document_write(document=document, agency_id=getattr(agency, "pk", None))
        record_import(ctx, agency, result, filename)
        return result


class _AnyParent(set):
    """For the first pass, before the framework is known: any parent may exist already."""

    def __contains__(self, item) -> bool:
        return True


def framework_document_write(
    *,
    document: documents.FrameworkDocument,
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
            results.append(
                framework_document_write(document=document, agency_id=None, models=models)
            )
    return results


def crosswalk_file_import(
    *,
    source,
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
        result = crosswalk_rows_write(rows=rows, agency_id=getattr(agency, "pk", None))
        record_import(ctx, agency, result, filename)
        return result


def crosswalk_rows_write(
    *,
    rows: list[documents.MappingRow],
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
            rows=rows,
            agency_id=None,
            skip_missing=True,
            models=models,
        )
