"""The major-incident test of a rule set, as data, and its evaluation. Pure Python.

A rule set's ``major_criteria`` looks like::

    {"harm_categories": [{"key": "economy", "label": "Economy of the United States"}, ...],
     "criteria": [
        {"key": "nciss", "type": "nciss_at_least", "value": 3, "text": "..."},
        {"key": "pii", "type": "pii_individuals_at_least", "value": 100000,
         "acts": ["modification", "deletion", "exfiltration", "access"], "text": "..."},
        {"key": "harm", "type": "any_harm_likely", "text": "..."}]}

Criterion *types* are code (how to test); thresholds, categories and wording are data, so a
new OMB memo is a new rule-set version, not a release.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

CRITERION_TYPES = ("nciss_at_least", "pii_individuals_at_least", "any_harm_likely")
PII_ACTS = ("modification", "deletion", "exfiltration", "access")


class CriteriaError(ValueError):
    """The criteria document or an assessment does not fit the expected shape."""


@dataclass(frozen=True)
class Assessment:
    harms: Mapping[str, Mapping] = field(default_factory=dict)
    nciss_level: int | None = None
    pii_individuals: int | None = None
    pii_acts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recommendation:
    major: bool
    fired: tuple[dict, ...]

    @property
    def decision(self) -> str:
        return "major" if self.major else "not_major"


def validate_criteria(doc: Mapping) -> None:
    """Raise CriteriaError naming the first problem in a ``major_criteria`` document."""
    if not isinstance(doc, Mapping):
        raise CriteriaError("major_criteria must be an object")
    cats = doc.get("harm_categories", [])
    if not isinstance(cats, list) or not all(
        isinstance(c, Mapping) and c.get("key") and c.get("label") for c in cats
    ):
        raise CriteriaError("harm_categories must be a list of {key, label}")
    crits = doc.get("criteria")
    if not isinstance(crits, list) or not crits:
        raise CriteriaError("criteria must be a non-empty list")
    for i, c in enumerate(crits):
        if not isinstance(c, Mapping) or not c.get("key") or not c.get("text"):
            raise CriteriaError(f"criteria[{i}] needs a key and a text")
        if c.get("type") not in CRITERION_TYPES:
            raise CriteriaError(
                f"criteria[{i}].type {c.get('type')!r} is not one of {', '.join(CRITERION_TYPES)}"
            )
        if c["type"] != "any_harm_likely" and not isinstance(c.get("value"), int):
            raise CriteriaError(f"criteria[{i}].value must be a whole number")
        bad_acts = set(c.get("acts", [])) - set(PII_ACTS)
        if bad_acts:
            raise CriteriaError(f"criteria[{i}].acts has unknown acts: {sorted(bad_acts)}")


def validate_assessment(doc: Mapping, assessment: Assessment) -> None:
    """Raise CriteriaError naming what in ``assessment`` the criteria cannot accept."""
    keys = {c["key"] for c in doc.get("harm_categories", [])}
    unknown = set(assessment.harms) - keys
    if unknown:
        raise CriteriaError(
            f"unknown harm categories {sorted(unknown)}; this rule set knows {sorted(keys)}"
        )
    for key, value in assessment.harms.items():
        if not isinstance(value, Mapping) or not isinstance(value.get("likely"), bool):
            raise CriteriaError(f"harms.{key} must be {{'likely': true|false, 'note': '...'}}")
    bad_acts = set(assessment.pii_acts) - set(PII_ACTS)
    if bad_acts:
        raise CriteriaError(f"unknown PII acts {sorted(bad_acts)}; allowed: {', '.join(PII_ACTS)}")
    if assessment.nciss_level is not None and not 0 <= assessment.nciss_level <= 5:
        raise CriteriaError("nciss_level must be between 0 and 5")


def recommend(doc: Mapping, assessment: Assessment) -> Recommendation:
    """Weigh ``assessment`` against the criteria; name every criterion that fired."""
    validate_assessment(doc, assessment)
    labels = {c["key"]: c["label"] for c in doc.get("harm_categories", [])}
    fired = []
    for c in doc["criteria"]:
        kind = c["type"]
        if kind == "nciss_at_least":
            if assessment.nciss_level is not None and assessment.nciss_level >= c["value"]:
                fired.append(
                    {
                        "key": c["key"],
                        "text": c["text"],
                        "detail": f"assessed NCISS level {assessment.nciss_level}",
                    }
                )
        elif kind == "pii_individuals_at_least":
            acts = set(c.get("acts") or PII_ACTS) & set(assessment.pii_acts)
            count = assessment.pii_individuals or 0
            if acts and count >= c["value"]:
                fired.append(
                    {
                        "key": c["key"],
                        "text": c["text"],
                        "detail": f"{count:,} individuals; {', '.join(sorted(acts))}",
                    }
                )
        elif kind == "any_harm_likely":
            likely = [k for k, v in assessment.harms.items() if v.get("likely")]
            if likely:
                fired.append(
                    {
                        "key": c["key"],
                        "text": c["text"],
                        "detail": "; ".join(labels.get(k, k) for k in likely),
                    }
                )
    return Recommendation(major=bool(fired), fired=tuple(fired))
