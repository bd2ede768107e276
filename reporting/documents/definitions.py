"""Report definitions: data files under ``reporting/rulesets/reports/``, one per kind and version.

A definition names the report's sections in order — title, the citation printed under the
heading, whether it is ``prefilled`` from Docket's data or ``narrative`` (written by people),
help text for the editor, whether it must be written before approval — and the rule sets
(name + version) it serves, as the obligation rules do. OMB memos and CISA's form change: a
change is a new file with a new version, so a rendered version can say which one it used.

Each file is validated when read (``DefinitionError`` names the file and the problem).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DEFINITION_DIR = Path(__file__).resolve().parent.parent / "rulesets" / "reports"

KINDS: dict[str, str] = {
    "cisa-notification": "CISA incident notification",
    "congressional-notification": "Seven-day notification to Congress and the Inspector General",
    "supplemental-report": "Supplemental report",
    "major-breach-report": "Major breach report (30 days)",
    "post-incident-report": "Post-incident report",
    "annual-fisma-summary": "Annual FISMA major-incident summary",
}

MODES = ("prefilled", "narrative")
# Variants a section may be limited to (``Section.applies``): the data says which hold.
VARIANTS = ("major-update", "breach")
_KEY = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_FIELDS = {"kind", "version", "title", "rulesets", "sections"}
_SECTION_FIELDS = {"key", "title", "mode", "citation", "help", "required", "applies"}


class DefinitionError(ValueError):
    """A report definition file is malformed, or no definition serves the rule set."""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    citation: str
    mode: str  # "prefilled" | "narrative"
    help: str
    required: bool
    applies: str = ""  # "" (always) or one of VARIANTS

    @property
    def is_narrative(self) -> bool:
        return self.mode == "narrative"


@dataclass(frozen=True)
class Definition:
    kind: str
    version: str
    title: str
    sections: tuple[Section, ...]
    rulesets: tuple[tuple[str, str], ...] = ()

    def sections_for(self, data: dict) -> tuple[Section, ...]:
        """The sections that apply to ``data`` (``data["variants"]``: e.g. the determination
        section of a CISA notification only in the update after a major determination)."""
        variants = set(data.get("variants", ()))
        return tuple(s for s in self.sections if not s.applies or s.applies in variants)

    def narrative_sections(self, data: dict | None = None) -> tuple[Section, ...]:
        sections = self.sections if data is None else self.sections_for(data)
        return tuple(s for s in sections if s.is_narrative)

    def section(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)


def _text(value, where: str, *, blank: bool = False) -> str:
    if not isinstance(value, str) or (not blank and not value.strip()):
        raise DefinitionError(f"{where} must be {'text' if blank else 'non-empty text'}")
    return value


def parse_definition(doc, where: str = "report definition") -> Definition:
    """A ``Definition`` from the JSON document ``doc``; ``DefinitionError`` names what is wrong."""
    if not isinstance(doc, dict):
        raise DefinitionError(f"{where}: expected an object")
    missing = sorted(_FIELDS - set(doc))
    if missing:
        raise DefinitionError(f"{where}: missing {', '.join(missing)}")
    extra = sorted(set(doc) - _FIELDS)
    if extra:
        raise DefinitionError(f"{where}: unknown fields {', '.join(extra)}")
    if doc["kind"] not in KINDS:
        raise DefinitionError(f"{where}: kind {doc['kind']!r} is not one of {', '.join(KINDS)}")
    version = _text(doc["version"], f"{where}: version")
    title = _text(doc["title"], f"{where}: title")
    if not isinstance(doc["rulesets"], list) or not doc["rulesets"]:
        raise DefinitionError(f"{where}: rulesets must list at least one rule set")
    rulesets = []
    for i, rs in enumerate(doc["rulesets"]):
        if not isinstance(rs, dict) or set(rs) != {"name", "version"}:
            raise DefinitionError(f"{where}: rulesets[{i}] must be {{name, version}}")
        rulesets.append(
            (
                _text(rs["name"], f"{where}: rulesets[{i}].name"),
                _text(rs["version"], f"{where}: rulesets[{i}].version"),
            )
        )
    if not isinstance(doc["sections"], list) or not doc["sections"]:
        raise DefinitionError(f"{where}: sections must list at least one section")
    sections, seen = [], set()
    for i, s in enumerate(doc["sections"]):
        at = f"{where}: sections[{i}]"
        if not isinstance(s, dict):
            raise DefinitionError(f"{at}: expected an object")
        extra = sorted(set(s) - _SECTION_FIELDS)
        if extra:
            raise DefinitionError(f"{at}: unknown fields {', '.join(extra)}")
        key = s.get("key")
        if not isinstance(key, str) or not _KEY.match(key):
            raise DefinitionError(f"{at}: key must be lower-case letters, digits and hyphens")
        if key in seen:
            raise DefinitionError(f"{at}: key {key!r} repeats")
        seen.add(key)
        if s.get("mode") not in MODES:
            raise DefinitionError(f"{at} ({key}): mode must be prefilled or narrative")
        applies = s.get("applies", "")
        if applies and applies not in VARIANTS:
            raise DefinitionError(f"{at} ({key}): applies must be one of {', '.join(VARIANTS)}")
        required = s.get("required", s["mode"] == "narrative")
        if not isinstance(required, bool):
            raise DefinitionError(f"{at} ({key}): required must be true or false")
        sections.append(
            Section(
                key=key,
                title=_text(s.get("title"), f"{at} ({key}): title"),
                citation=_text(s.get("citation", ""), f"{at} ({key}): citation", blank=True),
                mode=s["mode"],
                help=_text(s.get("help", ""), f"{at} ({key}): help", blank=True),
                required=required,
                applies=applies,
            )
        )
    return Definition(
        kind=doc["kind"],
        version=version,
        title=title,
        sections=tuple(sections),
        rulesets=tuple(rulesets),
    )


def read_definition(path: Path) -> Definition:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DefinitionError(f"{Path(path).name}: {exc}") from exc
    return parse_definition(doc, Path(path).name)


@cache
def all_definitions(directory: Path = DEFINITION_DIR) -> tuple[Definition, ...]:
    """Every definition file, validated; a kind+version twice is an error."""
    found: dict[tuple[str, str], Definition] = {}
    for path in sorted(Path(directory).glob("*.json")):
        d = read_definition(path)
        if (d.kind, d.version) in found:
            raise DefinitionError(f"{path.name}: {d.kind} version {d.version} is defined twice")
        found[(d.kind, d.version)] = d
    return tuple(found.values())


def _version_key(version: str):
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.-]", version))


def definition_for(kind: str, ruleset=None) -> Definition:
    """The definition of ``kind`` serving ``ruleset`` (a ``reporting.RuleSet``: matched by name
    and version, then by the rule sets it supersedes, so an agency's variant of a published set
    inherits its definitions); without a rule set, the newest version of ``kind``."""
    if kind not in KINDS:
        raise DefinitionError(f"Unknown report kind {kind!r}; known: {', '.join(KINDS)}.")
    candidates = sorted(
        (d for d in all_definitions() if d.kind == kind),
        key=lambda d: _version_key(d.version),
        reverse=True,
    )
    if not candidates:
        raise DefinitionError(f"No definition of {kind!r} is on file.")
    if ruleset is None:
        return candidates[0]
    seen = set()
    rs = ruleset
    while rs is not None and rs.pk not in seen:
        seen.add(rs.pk)
        for d in candidates:
            if (rs.name, rs.version) in d.rulesets:
                return d
        rs = rs.supersedes
    raise DefinitionError(
        f"No definition of {kind!r} serves rule set {ruleset.name} v{ruleset.version}: add one "
        f"under reporting/rulesets/reports/ naming it."
    )
