"""Framework and crosswalk files (CSV or YAML) as plain data, validated; no Django here.

The formats are described in docs/compliance-import.md. ``parse_framework`` and
``parse_crosswalk`` check everything that can be checked without the database — required
columns and keys, duplicate identifiers or rows, parents named but absent (unless
``known_parents`` holds them), cycles, lengths — and raise ``TabularError`` naming the line or
path at the first problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .tabular import (
    TabularError,
    check_keys,
    check_length,
    csv_rows,
    scalar,
    type_name,
    yaml_document,
    yaml_list,
)

FRAMEWORK_KEYS = ["name", "version"]
FRAMEWORK_OPTIONAL = ["source", "licence_note"]
CONTROL_KEYS = ["identifier", "title"]
CONTROL_OPTIONAL = ["label", "family", "parent", "sort_order", "statement", "controls"]
FRAMEWORK_CSV_REQUIRED = ["framework", "version", "identifier", "title"]
FRAMEWORK_CSV_OPTIONAL = [
    "source",
    "licence_note",
    "label",
    "family",
    "parent",
    "sort_order",
    "statement",
]

MAPPING_COLUMNS = [
    "source_framework",
    "source_control",
    "target_framework",
    "target_control",
    "relationship",
]
MAPPING_OPTIONAL = ["source_version", "target_version", "source", "note"]
RELATIONSHIPS = ("equivalent", "subset", "superset", "related")


@dataclass(frozen=True)
class ControlRow:
    identifier: str
    title: str
    label: str
    family: str
    parent: str | None
    sort_key: str
    statement: str
    where: str


@dataclass(frozen=True)
class FrameworkDocument:
    name: str
    version: str
    source: str
    licence_note: str
    controls: list[ControlRow] = field(default_factory=list)  # parents before children

    def depth_levels(self) -> list[list[ControlRow]]:
        """The controls level by level: those whose parent is not in the file first."""
        depth: dict[str, int] = {}
        by_id = {c.identifier: c for c in self.controls}

        def level(c: ControlRow) -> int:
            if c.identifier not in depth:
                parent = by_id.get(c.parent) if c.parent else None
                depth[c.identifier] = level(parent) + 1 if parent else 0
            return depth[c.identifier]

        levels: dict[int, list[ControlRow]] = {}
        for c in self.controls:
            levels.setdefault(level(c), []).append(c)
        return [levels[k] for k in sorted(levels)]


LIMITS = {"identifier": 100, "label": 100, "title": 500, "family": 200}


def _sort_key(value: str, position: int, where: str) -> str:
    if value == "":
        return f"{position:06d}"
    try:
        number = int(value)
    except ValueError:
        raise TabularError(where, f"sort_order must be a whole number, not {value!r}") from None
    if not 0 <= number <= 999999:
        raise TabularError(where, "sort_order must be between 0 and 999999")
    return f"{number:06d}"


def parse_framework(text: str, fmt: str, *, known_parents: Iterable[str] = ()) -> FrameworkDocument:
    """A framework file, validated. ``known_parents``: identifiers already stored in the
    framework, which a file updating some of its controls may name as parents — a mapping of
    identifier → its stored parent's identifier also lets the cycle check see stored links."""
    document = _framework_csv(text) if fmt == "csv" else _framework_yaml(text)
    known = known_parents if isinstance(known_parents, set | dict) else set(known_parents)
    _check_controls(document, known)
    return document


def _framework_csv(text: str) -> FrameworkDocument:
    _, rows = csv_rows(text, required=FRAMEWORK_CSV_REQUIRED, optional=FRAMEWORK_CSV_OPTIONAL)
    if not rows:
        raise TabularError("line 2", "no controls: the file holds a header only")
    meta: dict[str, tuple[str, str]] = {}  # name -> (value, where first given)
    controls: list[ControlRow] = []
    for position, row in enumerate(rows, start=1):
        for column in ("framework", "version", "source", "licence_note"):
            value = row.get(column)
            if not value:
                continue
            if column in meta and meta[column][0] != value:
                raise TabularError(
                    row.where,
                    f"{column} {value!r} differs from {meta[column][0]!r} on {meta[column][1]}: "
                    "one framework per file",
                )
            meta.setdefault(column, (value, row.where))
        for column in ("identifier", "title"):
            if not row.get(column):
                raise TabularError(row.where, f"{column} is empty")
        controls.append(
            ControlRow(
                identifier=row.get("identifier"),
                title=row.get("title"),
                label=row.get("label"),
                family=row.get("family"),
                parent=row.get("parent") or None,
                sort_key=_sort_key(row.get("sort_order"), position, row.where),
                statement=row.get("statement"),
                where=row.where,
            )
        )
    for column in ("framework", "version"):
        if column not in meta:
            raise TabularError(rows[0].where, f"{column} is empty on every line")
    name, version = meta["framework"][0], meta["version"][0]
    return FrameworkDocument(
        name=check_length(name, 200, meta["framework"][1], "framework"),
        version=check_length(version, 64, meta["version"][1], "version"),
        source=check_length(meta.get("source", ("", ""))[0], 500, rows[0].where, "source"),
        licence_note=meta.get("licence_note", ("", ""))[0],
        controls=controls,
    )


def _framework_yaml(text: str) -> FrameworkDocument:
    document = yaml_document(text)
    if not isinstance(document, dict):
        raise TabularError("", "expected a mapping with 'framework' and 'controls' at the top")
    unknown = [str(k) for k in document if k not in ("framework", "controls")]
    if unknown:
        raise TabularError("", f"unknown key(s) {', '.join(map(repr, unknown))} at the top")
    meta = check_keys(
        document.get("framework"), "framework", required=FRAMEWORK_KEYS, optional=FRAMEWORK_OPTIONAL
    )
    items = yaml_list(document, "controls")
    if not items:
        raise TabularError("controls", "no controls")
    controls: list[ControlRow] = []

    def walk(items: list, path: str, parent: str | None, family: str | None) -> None:
        for i, item in enumerate(items):
            where = f"{path}[{i}]"
            check_keys(item, where, required=CONTROL_KEYS, optional=CONTROL_OPTIONAL)
            values = {
                key: scalar(item.get(key), f"{where}.{key}")
                for key in CONTROL_KEYS + CONTROL_OPTIONAL
                if key != "controls"
            }
            children = item.get("controls")
            if values["parent"] and parent is not None:
                raise TabularError(
                    f"{where}.parent", "a nested control takes its parent from where it is"
                )
            own_parent = parent if parent is not None else (values["parent"] or None)
            own_family = values["family"] or family or (values["title"] if children else "")
            controls.append(
                ControlRow(
                    identifier=values["identifier"],
                    title=values["title"],
                    label=values["label"],
                    family=own_family,
                    parent=own_parent,
                    sort_key=_sort_key(values["sort_order"], len(controls) + 1, where),
                    statement=values["statement"],
                    where=where,
                )
            )
            if children is not None:
                if not isinstance(children, list):
                    raise TabularError(
                        f"{where}.controls", f"expected a list, found {type_name(children)}"
                    )
                walk(children, f"{where}.controls", values["identifier"], own_family)

    walk(items, "controls", None, None)
    return FrameworkDocument(
        name=check_length(scalar(meta["name"], "framework.name"), 200, "framework.name", "name"),
        version=check_length(
            scalar(meta["version"], "framework.version"), 64, "framework.version", "version"
        ),
        source=check_length(
            scalar(meta.get("source"), "framework.source"), 500, "framework.source", "source"
        ),
        licence_note=scalar(meta.get("licence_note"), "framework.licence_note"),
        controls=controls,
    )


def _check_controls(document: FrameworkDocument, known_parents: set[str] | dict) -> None:
    seen: dict[str, str] = {}
    for c in document.controls:
        if c.identifier in seen:
            raise TabularError(
                c.where, f"identifier {c.identifier!r} already used at {seen[c.identifier]}"
            )
        seen[c.identifier] = c.where
        for name, limit in LIMITS.items():
            check_length(getattr(c, name), limit, c.where, name)
    for c in document.controls:
        if c.parent is None:
            continue
        if c.parent == c.identifier:
            raise TabularError(c.where, f"control {c.identifier!r} names itself as its parent")
        if c.parent not in seen and c.parent not in known_parents:
            raise TabularError(
                c.where, f"parent {c.parent!r} is not a control of this file or framework"
            )
    # Stored links (``known_parents`` as a mapping) count too; the file's win where it names
    # the same control.
    stored = known_parents if isinstance(known_parents, dict) else {}
    parents = {**stored, **{c.identifier: c.parent for c in document.controls}}
    for c in document.controls:
        chain, current = {c.identifier}, c.parent
        while current in parents and parents[current] is not None:
            current = parents[current]
            if current in chain:
                raise TabularError(c.where, f"parents of {c.identifier!r} form a cycle")
            chain.add(current)


# --- crosswalks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MappingRow:
    source_framework: str
    source_version: str
    source_control: str
    target_framework: str
    target_version: str
    target_control: str
    relationship: str
    source: str
    note: str
    where: str


def parse_crosswalk(text: str, fmt: str) -> list[MappingRow]:
    """A crosswalk file, validated: every row complete, known relationships, no row twice (in
    either direction)."""
    rows: list[MappingRow] = []
    if fmt == "csv":
        _, csv_data = csv_rows(text, required=MAPPING_COLUMNS, optional=MAPPING_OPTIONAL)
        for row in csv_data:
            for column in MAPPING_COLUMNS:
                if not row.get(column):
                    raise TabularError(row.where, f"{column} is empty")
            rows.append(
                MappingRow(
                    **{k: row.get(k) for k in MAPPING_COLUMNS + MAPPING_OPTIONAL}, where=row.where
                )
            )
    else:
        document = yaml_document(text)
        default_source = ""
        if isinstance(document, dict):
            unknown = [str(k) for k in document if k not in ("mappings", "source")]
            if unknown:
                raise TabularError("", f"unknown key(s) {', '.join(map(repr, unknown))} at the top")
            default_source = scalar(document.get("source"), "source")
        for i, item in enumerate(yaml_list(document, "mappings")):
            where = f"mappings[{i}]"
            check_keys(item, where, required=MAPPING_COLUMNS, optional=MAPPING_OPTIONAL)
            values = {
                k: scalar(item.get(k), f"{where}.{k}") for k in MAPPING_COLUMNS + MAPPING_OPTIONAL
            }
            values["source"] = values["source"] or default_source
            rows.append(MappingRow(**values, where=where))
    if not rows:
        raise TabularError("", "no mappings in the file")
    seen: dict[tuple, str] = {}
    for row in rows:
        if row.relationship not in RELATIONSHIPS:
            raise TabularError(
                row.where,
                f"relationship {row.relationship!r} is not one of {', '.join(RELATIONSHIPS)}",
            )
        check_length(row.source, 300, row.where, "source")
        a = (row.source_framework, row.source_version, row.source_control)
        b = (row.target_framework, row.target_version, row.target_control)
        if a == b:
            raise TabularError(row.where, "a control cannot be mapped to itself")
        key = tuple(sorted([a, b]))
        if key in seen:
            raise TabularError(row.where, f"the same mapping as {seen[key]}")
        seen[key] = row.where
    return rows
