"""The information-system inventory as CSV: import (all-or-nothing, errors naming the line)
and export (formulas neutralised)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from accounts.context import AgencyContext
from accounts.models import Membership, Role
from compliance import selectors, tabular
from compliance.models import (
    AuthorizationStatus,
    Baseline,
    ImpactLevel,
    InformationSystem,
)
from core.errors import InvalidInput

from .common import (
    FileImportResult,
    _importing_agency,
    _read_text,
    _row_error,
    _tabular_invalid,
    record_import,
)

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


def systems_file_import(
    *, source, ctx: AgencyContext | None = None, agency=None, filename: str | None = None
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
        record_import(ctx, agency, result, filename)
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
