"""Load a rule set from its JSON document (``reporting/rulesets/*.json``).

Takes the model classes as arguments so a data migration can pass its historical models.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from .clock import Counting, Unit
from .criteria import validate_criteria
from .models.ruleset import RULE_DATA_FIELDS

RULESET_DIR = Path(__file__).resolve().parent / "rulesets"


class RuleSetDocumentError(ValueError):
    pass


def read_document(path: Path) -> dict:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RuleSetDocumentError(f"{path}: {exc}") from exc
    validate_document(doc, str(path))
    return doc


def validate_document(doc: dict, where: str = "rule set") -> None:
    for key in ("name", "version", "effective_from", "source", "major_criteria", "rules"):
        if key not in doc:
            raise RuleSetDocumentError(f"{where}: missing {key!r}")
    validate_criteria(doc["major_criteria"])
    seen = set()
    anchors = {
        "identified",
        "determined_major",
        "breach_discovered",
        "additional_information",
        "previous_submission",
    }
    for i, rule in enumerate(doc["rules"]):
        at = f"{where}: rules[{i}]"
        extra = set(rule) - set(RULE_DATA_FIELDS)
        if extra:
            raise RuleSetDocumentError(f"{at}: unknown fields {sorted(extra)}")
        if rule.get("key") in seen:
            raise RuleSetDocumentError(f"{at}: key {rule.get('key')!r} repeats")
        seen.add(rule.get("key"))
        if rule.get("anchor") not in anchors:
            raise RuleSetDocumentError(f"{at}: anchor must be one of {sorted(anchors)}")
        if rule.get("offset_unit") not in {u.value for u in Unit}:
            raise RuleSetDocumentError(f"{at}: offset_unit must be minutes, hours or days")
        if rule.get("counting") not in {c.value for c in Counting}:
            raise RuleSetDocumentError(f"{at}: counting must be elapsed or end_of_local_day")
        if rule["counting"] == Counting.END_OF_LOCAL_DAY and rule["offset_unit"] != Unit.DAYS:
            raise RuleSetDocumentError(f"{at}: calendar-day counting needs an offset in days")
        if rule.get("applies_to") not in {"all", "major", "major_breach"}:
            raise RuleSetDocumentError(f"{at}: applies_to must be all, major or major_breach")
        if not isinstance(rule.get("offset_amount"), int) or rule["offset_amount"] < 0:
            raise RuleSetDocumentError(f"{at}: offset_amount must be a whole number ≥ 0")


def load_document(doc: dict, *, RuleSet, ObligationRule):
    """Create the rule set of ``doc`` unless that name and version exist. Returns the set."""
    validate_document(doc)
    existing = RuleSet.objects.filter(name=doc["name"], version=doc["version"]).first()
    if existing is not None:
        return existing
    rs = RuleSet.objects.create(
        name=doc["name"],
        version=doc["version"],
        effective_from=date.fromisoformat(doc["effective_from"]),
        effective_to=date.fromisoformat(doc["effective_to"]) if doc.get("effective_to") else None,
        source=doc["source"],
        major_criteria=doc["major_criteria"],
    )
    for order, rule in enumerate(doc["rules"]):
        ObligationRule.objects.create(ruleset=rs, order=order, **rule)
    return rs
