"""Reading OSCAL catalogs and profiles (JSON) into plain records. No Django here.

Validation is compliance-trestle's: its pydantic models are generated from NIST's OSCAL
schemas, so a document that passes them is well-formed OSCAL. What they report is rewritten
into one message naming the JSON path of the first problems (``catalog.groups[3].controls[7]:
missing 'id'``). Walking the validated models then yields, per control, what Docket keeps:
identifier, label, title, family, parent, sort key and the statement as plain text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from core import safejson

# A resolved NIST baseline catalog, and the profile it comes from, are titled
# "NIST Special Publication 800-53 Revision 5.1.1 HIGH IMPACT BASELINE": the framework is the
# title without the baseline, the baseline's name is the level.
BASELINE_TITLE = re.compile(
    r"^(?P<framework>.*?)\s+(?P<level>LOW|MODERATE|HIGH|PRIVACY)(?:\s+IMPACT)?\s+BASELINE\s*$",
    re.IGNORECASE,
)
INSERT_PARAM = re.compile(r"\{\{\s*insert:\s*param\s*,\s*([^\s}]+)\s*\}\}")
MAX_REPORTED = 5


class OSCALError(ValueError):
    """The document is not the OSCAL expected; ``path`` is where (``catalog.groups[3]``)."""

    def __init__(self, path: str, problem: str, *, message: str | None = None):
        super().__init__(message or (f"{path}: {problem}" if path else problem))
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class CatalogControl:
    """One control or enhancement as Docket keeps it. ``parent`` is the parent's identifier."""

    identifier: str
    label: str
    title: str
    family: str
    parent: str | None
    sort_key: str
    statement: str
    withdrawn: bool
    path: str


@dataclass(frozen=True)
class ParsedCatalog:
    uuid: str
    title: str
    version: str
    controls: list[CatalogControl]  # parents before their enhancements

    @property
    def framework_name(self) -> str:
        match = BASELINE_TITLE.match(self.title)
        return match["framework"] if match else self.title


@dataclass(frozen=True)
class Selection:
    """One ``include-controls``/``exclude-controls`` entry of a profile import."""

    path: str
    ids: list[str]  # with-ids, in order; empty for include-all
    with_children: bool = False
    everything: bool = False


@dataclass(frozen=True)
class ParsedProfile:
    uuid: str
    title: str
    version: str
    include: list[Selection] = field(default_factory=list)
    exclude: list[Selection] = field(default_factory=list)

    @property
    def framework_name(self) -> str:
        match = BASELINE_TITLE.match(self.title)
        return match["framework"] if match else self.title

    @property
    def baseline_name(self) -> str | None:
        match = BASELINE_TITLE.match(self.title)
        return match["level"].upper() if match else None


# --- reading ------------------------------------------------------------------------------


def load(path_or_file: str | Path | IO) -> tuple[str, dict[str, Any]]:
    """The document's model name (``catalog``, ``profile``…) and its body, from a path or file."""
    try:
        if isinstance(path_or_file, str | Path):
            with open(path_or_file, "rb") as fh:
                document = safejson.loads(fh.read())
        else:
            document = safejson.loads(path_or_file.read())
    except safejson.TooDeep as exc:
        raise OSCALError("", f"refused: the JSON is {exc}") from exc
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise OSCALError("", f"not JSON ({where}: {exc.msg})") from exc
    except UnicodeDecodeError as exc:
        raise OSCALError("", "not JSON: the file is not UTF-8 text") from exc
    if not isinstance(document, dict) or len(document) != 1:
        raise OSCALError(
            "", "not an OSCAL document: expected one top-level key such as 'catalog' or 'profile'"
        )
    ((kind, body),) = document.items()
    if not isinstance(body, dict):
        raise OSCALError(kind, f"expected an object, found {_json_type(body)}")
    return kind, body


def parse_catalog(body: dict[str, Any]) -> ParsedCatalog:
    """Validate an OSCAL catalog's body and list its controls, parents first."""
    # trestle (pydantic models of all of OSCAL) is heavy: loaded when an import runs
    from trestle.oscal.catalog import Catalog

    catalog = _validate(Catalog, body, "catalog")
    params = {p.id: p for p in _all_params(catalog)}
    controls: list[CatalogControl] = []
    seen: dict[str, str] = {}
    for control, path, family, parent in _walk(catalog):
        if control.id in seen:
            raise OSCALError(path, f"control id {control.id!r} already used at {seen[control.id]}")
        seen[control.id] = path
        props = _get(control, "props") or []
        labels = [p for p in props if p.name == "label"]
        # NIST gives several labels (zero-padded, SP 800-53A); the plain one has no class.
        label = next((p.value for p in labels if p.class_ is None), None)
        label = label or (labels[0].value if labels else "")
        sort_id = next((p.value for p in props if p.name == "sort-id"), None)
        withdrawn = any(p.name == "status" and p.value == "withdrawn" for p in props)
        controls.append(
            CatalogControl(
                identifier=control.id,
                label=label,
                title=control.title,
                family=family,
                parent=parent,
                # Without a sort-id, document order: zero-padded so strings sort as numbers.
                sort_key=sort_id or f"{len(controls):06d}",
                statement=statement_text(control, params),
                withdrawn=withdrawn,
                path=path,
            )
        )
    return ParsedCatalog(
        uuid=str(catalog.uuid),
        title=catalog.metadata.title,
        version=catalog.metadata.version,
        controls=controls,
    )


def parse_profile(body: dict[str, Any]) -> ParsedProfile:
    """Validate an OSCAL profile's body and list what its imports include and exclude."""
    # trestle (pydantic models of all of OSCAL) is heavy: loaded when an import runs
    from trestle.oscal.profile import Profile

    profile = _validate(Profile, body, "profile")
    include: list[Selection] = []
    exclude: list[Selection] = []
    for i, imp in enumerate(profile.imports):
        base = f"profile.imports[{i}]"
        if getattr(imp, "include_all", None) is not None:
            include.append(Selection(path=f"{base}.include-all", ids=[], everything=True))
        for key, target in (("include_controls", include), ("exclude_controls", exclude)):
            for j, select in enumerate(getattr(imp, key, None) or []):
                path = f"{base}.{key.replace('_', '-')}[{j}]"
                if select.matching:
                    raise OSCALError(f"{path}.matching", "pattern selections are not supported")
                choice = select.with_child_controls
                with_children = getattr(choice, "value", choice) == "yes"
                ids = list(select.with_ids or [])
                target.append(Selection(path=path, ids=ids, with_children=with_children))
    return ParsedProfile(
        uuid=str(profile.uuid),
        title=profile.metadata.title,
        version=profile.metadata.version,
        include=include,
        exclude=exclude,
    )


# --- statements -----------------------------------------------------------------------------


def statement_text(control, params: dict[str, Any]) -> str:
    """The control's statement as indented plain text, parameters written NIST's way.

    ``{{ insert: param, ac-02_odp.01 }}`` becomes ``[Assignment: prerequisites and criteria]``
    (its label), ``[Selection (one or more): a; b]`` (its choices), or ``[ac-02_odp.01]``.
    """
    lines: list[str] = []

    def emit(part, depth: int) -> None:
        label = next((p.value for p in _get(part, "props") or [] if p.name == "label"), "")
        prose = _insert_params(_get(part, "prose") or "", params).strip()
        text = " ".join(t for t in (label, prose) if t)
        if text:
            lines.append("  " * depth + text)
        for child in _get(part, "parts") or []:
            emit(child, depth + 1 if text else depth)

    for part in _get(control, "parts") or []:
        if part.name == "statement":
            emit(part, 0)
    return "\n".join(lines)


def _insert_params(text: str, params: dict[str, Any], depth: int = 0) -> str:
    def render(match: re.Match) -> str:
        param_id = match[1]
        param = params.get(param_id)
        if param is None or depth > 3:
            return f"[{param_id}]"
        select = getattr(param, "select", None)
        if select is not None and _get(select, "choice"):
            choices = "; ".join(_insert_params(c, params, depth + 1) for c in select.choice)
            how_many = getattr(select.how_many, "value", select.how_many)
            prefix = f"Selection ({how_many.replace('-', ' ')})" if how_many else "Selection"
            return f"[{prefix}: {choices}]"
        if _get(param, "label"):
            return f"[Assignment: {param.label}]"
        return f"[{param_id}]"

    return INSERT_PARAM.sub(render, text)


# --- walking -------------------------------------------------------------------------------


def _walk(catalog) -> Iterator[tuple[Any, str, str, str | None]]:
    """(control, JSON path, family, parent id) for every control, parents first."""

    def controls(items, path: str, family: str, parent: str | None):
        for i, control in enumerate(items or []):
            here = f"{path}.controls[{i}]"
            yield control, here, family, parent
            yield from controls(_get(control, "controls"), here, family, control.id)

    def groups(items, path: str):
        for i, group in enumerate(items or []):
            here = f"{path}.groups[{i}]"
            yield from controls(_get(group, "controls"), here, group.title, None)
            yield from groups(_get(group, "groups"), here)

    yield from controls(_get(catalog, "controls"), "catalog", "", None)
    yield from groups(_get(catalog, "groups"), "catalog")


def _all_params(catalog) -> Iterator[Any]:
    yield from _get(catalog, "params") or []

    def in_groups(items):
        for group in items or []:
            yield from _get(group, "params") or []
            yield from in_groups(_get(group, "groups"))

    yield from in_groups(_get(catalog, "groups"))
    for control, *_ in _walk(catalog):
        yield from _get(control, "params") or []


def _get(model, name: str):
    """An optional attribute; trestle's union alternatives do not all declare every field."""
    return getattr(model, name, None)


# --- validation -----------------------------------------------------------------------------


def _validate(model, body: dict[str, Any], root: str):
    # trestle (pydantic models of all of OSCAL) is heavy: loaded when an import runs
    import pydantic

    try:
        return model.model_validate(body)
    except pydantic.ValidationError as exc:
        problems = _problems(exc.errors(), root)
        more = len(problems) - MAX_REPORTED
        message = "; ".join(f"{path}: {text}" for path, text in problems[:MAX_REPORTED])
        if more > 0:
            message += f"; and {more} more"
        raise OSCALError(*problems[0], message=message) from exc


def _problems(errors: list[dict], root: str) -> list[tuple[str, str]]:
    """Pydantic's errors as ``(path, problem)``, without the noise of union alternatives.

    trestle models OSCAL's choices as unions (``Group1 | Group2``); pydantic reports why each
    alternative failed, and the alternative that got furthest into the document is the one
    the author meant. So at each union, only the errors of the alternative that got deepest
    are kept; then an error whose location is a prefix of another's is dropped, and at one
    location an "unexpected key" from a wrong alternative gives way to the real complaint.
    """
    raw = [tuple(error["loc"]) for error in errors]
    best: dict[tuple, int] = {}  # union site -> deepest any alternative got past it
    for loc in raw:
        for k in _union_tags(loc):
            best[loc[:k]] = max(best.get(loc[:k], 0), len(loc) - k)
    located = []
    for loc, error in zip(raw, errors, strict=True):
        if any(len(loc) - k < best[loc[:k]] for k in _union_tags(loc)):
            continue  # an alternative that got less far than another at the same union
        clean = tuple(part for i, part in enumerate(loc) if i not in _union_tags(loc))
        located.append((clean, error))
    keep = []
    for loc, error in located:
        if any(other[: len(loc)] == loc and len(other) > len(loc) for other, _ in located):
            continue
        if error["type"] == "extra_forbidden" and any(
            other == loc and e["type"] != "extra_forbidden" for other, e in located
        ):
            continue
        keep.append((loc, error))
    problems = []
    for loc, error in keep:
        problem = _describe(loc, error, root)
        if problem not in problems:
            problems.append(problem)
    return problems or [(root, "not valid OSCAL")]


def _union_tags(loc: tuple) -> list[int]:
    """Positions in a pydantic location that name a union member, not an OSCAL key.

    Members appear by class name (``Group2``) or as ``function-after[...]``; OSCAL's own keys
    are lower-case words.
    """
    return [
        i
        for i, part in enumerate(loc)
        if isinstance(part, str) and not (part[:1].islower() and "[" not in part)
    ]


def _describe(loc: tuple, error: dict, root: str) -> tuple[str, str]:
    kind = error["type"]
    if kind == "missing" and loc:
        return _path(root, loc[:-1]), f"missing '{loc[-1]}'"
    if kind == "extra_forbidden" and loc:
        return _path(root, loc[:-1]), f"unexpected key '{loc[-1]}'"
    message = error["msg"]
    if kind.endswith("_type") and "input" in error:
        message = f"{message}, found {_json_type(error['input'])}"
    return _path(root, loc), message


def _path(root: str, loc: tuple) -> str:
    out = root
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
