"""From the control references on detections to Control rows.

A minimal resolver: ``"NIST SP 800-53 AU-10"`` or ``"NIST SP 800-53 AC-2(1)"`` resolves to the
control labelled ``AU-10``/``AC-2(1)`` (or identified ``au-10``/``ac-2.1``) in every framework
whose name starts with "NIST SP 800-53" or "NIST Special Publication 800-53". Other references
and ATT&CK ``techniques`` resolve to nothing here: the crosswalk helper's version (ATT&CK → 800-53
mappings, other frameworks) replaces this module with the same signature.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db.models import Q

from .models import Control

NIST_PREFIXES = ("NIST SP 800-53", "NIST Special Publication 800-53")
_REF = re.compile(
    r"^NIST SP 800-53(?:\s*r\d+)?\s+(?P<family>[A-Z]{2})-(?P<number>\d{1,3})"
    r"(?:\((?P<enh>\d{1,3})\))?$",
    re.I,
)


def _parse(ref: str) -> tuple[str, str] | None:
    """``(label, identifier)`` of a NIST SP 800-53 reference, else None."""
    m = _REF.match(ref.strip())
    if m is None:
        return None
    family, number, enh = m["family"].upper(), int(m["number"]), m["enh"]
    label = f"{family}-{number}" + (f"({int(enh)})" if enh else "")
    identifier = f"{family.lower()}-{number}" + (f".{int(enh)}" if enh else "")
    return label, identifier


def controls_for_refs(
    refs: Iterable[str], *, techniques: Iterable[str] = (), frameworks=None
) -> list[Control]:
    """The controls ``refs`` name, in catalog order, each once. ``frameworks`` (a queryset or
    list of frameworks) narrows the NIST frameworks searched."""
    parsed = [p for p in (_parse(r) for r in refs if isinstance(r, str)) if p]
    if not parsed:
        return []
    by_name = Q()
    for prefix in NIST_PREFIXES:
        by_name |= Q(framework__name__startswith=prefix)
    wanted = Q()
    for label, identifier in parsed:
        wanted |= Q(label=label) | Q(identifier=identifier)
    qs = Control.objects.filter(by_name & wanted).select_related("framework")
    if frameworks is not None:
        qs = qs.filter(framework__in=list(frameworks))
    return list(qs.defer("statement").order_by("framework__name", "sort_key", "identifier"))
