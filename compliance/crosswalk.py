"""From detection tags to controls: references and ATT&CK techniques, through the crosswalk.

A detection holds control references as ``incidents.falco.map_tags`` writes them —
``"NIST SP 800-53 AU-10"``, ``"NIST SP 800-53 AC-6(9)"``, ``"PCI DSS 10.2.5"``,
``"CIS 5.1.2"`` — and ATT&CK technique ids (``"T1070.003"``). ``parse_ref`` and
``nist_for_techniques`` are pure; ``controls_for_refs`` finds the controls in the database,
adds those the crosswalk maps them to (one hop, in either direction), and runs at most four
queries however many references it is given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from django.db.models import Q

from .models import Control, ControlMapping, Framework

DATA_DIR = Path(__file__).resolve().parent / "frameworks"
ATTACK_FILE = DATA_DIR / "attack-to-800-53.yaml"
ALIAS_FILE = DATA_DIR / "reference-aliases.yaml"

NIST = "nist-800-53"
PCI = "pci-dss"
CIS = "cis"

_NIST_REF = re.compile(
    r"^NIST (?:SP )?800-53(?: ?r\d+)? (?P<family>[A-Z]{2})-(?P<number>\d{1,3})"
    r"(?:\((?P<enh>\d{1,3})\))?$",
    re.IGNORECASE,
)
_PCI_REF = re.compile(r"^PCI(?: DSS)? (?P<id>\d{1,2}(?:\.\d{1,2}){0,4})$", re.IGNORECASE)
_CIS_REF = re.compile(r"^CIS (?P<id>\d{1,2}(?:\.\d{1,2}){0,4})$", re.IGNORECASE)
_TECHNIQUE = re.compile(r"^T\d{4}(?:\.\d{3})?$")


@dataclass(frozen=True)
class Ref:
    """A reference Docket can resolve: a scheme (``nist-800-53``, ``pci-dss``, ``cis``) and the
    control identifier as frameworks of that scheme store it (NIST: the OSCAL id ``ac-6.9``)."""

    scheme: str
    identifier: str


def parse_ref(ref: str) -> Ref | None:
    """The scheme and identifier of a detection's control reference; ``None`` for references
    to publications Docket holds no catalog of (``"NIST SP 800-190"``, ``"SOC 2 CC6.1"``)."""
    text = " ".join(str(ref).split())
    if m := _NIST_REF.match(text):
        identifier = f"{m['family'].lower()}-{int(m['number'])}"
        if m["enh"]:
            identifier += f".{int(m['enh'])}"
        return Ref(NIST, identifier)
    if m := _PCI_REF.match(text):
        return Ref(PCI, m["id"])
    if m := _CIS_REF.match(text):
        return Ref(CIS, m["id"])
    return None


def scheme_of(framework_name: str) -> str | None:
    """Which scheme a framework's references use, from its name."""
    name = framework_name.upper()
    if "800-53" in name:
        return NIST
    if name.startswith("PCI"):
        return PCI
    if name.startswith("CIS"):
        return CIS
    return None


@cache
def _attack_data() -> dict:
    return yaml.safe_load(ATTACK_FILE.read_text(encoding="utf-8"))


@cache
def aliases() -> dict[str, dict[str, str]]:
    """Older identifiers that resolve to newer ones, per scheme (``pci-dss``: ``10.2.5`` →
    ``10.2.1.5``), used only when the older one is not itself an identifier."""
    data = yaml.safe_load(ALIAS_FILE.read_text(encoding="utf-8")) or {}
    return {scheme_of(name): {str(k): str(v) for k, v in ids.items()} for name, ids in data.items()}


def technique_mapping() -> dict[str, list[str]]:
    """ATT&CK technique → NIST SP 800-53 OSCAL ids, as shipped."""
    return {str(k): list(v) for k, v in (_attack_data().get("techniques") or {}).items()}


def unmapped_techniques() -> dict[str, str]:
    """Techniques deliberately left without controls, with the reason."""
    return {str(k): str(v) for k, v in (_attack_data().get("unmapped") or {}).items()}


def nist_for_techniques(techniques: Iterable[str]) -> list[str]:
    """The NIST SP 800-53 OSCAL ids mapped to ``techniques``, in order, without repeats. A
    sub-technique without a row of its own takes its parent's (``T1070.003`` → ``T1070``)."""
    mapping = technique_mapping()
    found: dict[str, None] = {}
    for technique in techniques:
        tid = str(technique).strip().upper()
        if not _TECHNIQUE.match(tid):
            continue
        ids = mapping.get(tid)
        if ids is None and "." in tid:
            ids = mapping.get(tid.split(".")[0])
        for identifier in ids or ():
            found[identifier] = None
    return list(found)


def wanted_refs(refs: Iterable[str], techniques: Iterable[str] = ()) -> list[Ref]:
    """The resolvable references of ``refs`` and ``techniques``, in order, without repeats."""
    found: dict[Ref, None] = {}
    for ref in refs:
        parsed = parse_ref(ref)
        if parsed is not None:
            found[parsed] = None
    for identifier in nist_for_techniques(techniques):
        found[Ref(NIST, identifier)] = None
    return list(found)


def controls_for_refs(
    refs: Iterable[str], *, techniques: Iterable[str] = (), frameworks=None
) -> list[Control]:
    """The controls that detection references ``refs`` and ATT&CK ``techniques`` implicate,
    then the controls the crosswalk maps those to (a PCI reference also yields the NIST
    controls mapped to it), without repeats: direct matches first, in the order given.

    ``frameworks`` limits the search (a queryset or list of frameworks, e.g.
    ``compliance.selectors.frameworks_visible(ctx)``); ``None`` means the reference frameworks
    only, never any agency's licensed one. Crosswalk rows count when they are reference rows or
    belong to an agency owning one of ``frameworks``. At most four queries.
    """
    wanted = wanted_refs(refs, techniques)
    if not wanted:
        return []
    if frameworks is None:
        frameworks = Framework.objects.filter(agency__isnull=True)
    allowed = {f.pk: f for f in frameworks}
    if not allowed:
        return []
    by_scheme: dict[str, list[int]] = {}
    for f in allowed.values():
        scheme = scheme_of(f.name)
        if scheme is not None:
            by_scheme.setdefault(scheme, []).append(f.pk)
    ids: dict[str, set[str]] = {}
    for ref in wanted:
        ids.setdefault(ref.scheme, set()).add(ref.identifier)
        alias = aliases().get(ref.scheme, {}).get(ref.identifier)
        if alias:
            ids[ref.scheme].add(alias)
    conditions = [
        Q(framework_id__in=by_scheme[scheme], identifier__in=identifiers)
        for scheme, identifiers in ids.items()
        if scheme in by_scheme
    ]
    if not conditions:
        return []
    condition = conditions[0]
    for other in conditions[1:]:
        condition |= other
    found: dict[tuple[str, str], list] = {}
    for control in Control.objects.filter(condition).defer("statement"):
        control.framework = allowed[control.framework_id]
        key = (scheme_of(control.framework.name), control.identifier)
        found.setdefault(key, []).append(control)

    direct: dict[int, Control] = {}
    for ref in wanted:
        hits = found.get((ref.scheme, ref.identifier))
        if not hits:  # an older number: its successor, when that is what is stored
            alias = aliases().get(ref.scheme, {}).get(ref.identifier)
            hits = found.get((ref.scheme, alias)) if alias else None
        for control in sorted(hits or (), key=lambda c: (c.framework.name, c.framework.version)):
            direct.setdefault(control.pk, control)
    if not direct:
        return []

    owners = {f.agency_id for f in allowed.values() if f.agency_id is not None}
    visible_rows = Q(agency__isnull=True) | Q(agency_id__in=owners)
    linked: dict[int, None] = {}
    for source_id, target_id in ControlMapping.objects.filter(
        visible_rows, Q(source_control_id__in=direct) | Q(target_control_id__in=direct)
    ).values_list("source_control_id", "target_control_id"):
        for pk in (source_id, target_id):
            if pk not in direct:
                linked[pk] = None
    mapped = []
    if linked:
        mapped = list(
            Control.objects.filter(pk__in=linked, framework_id__in=allowed).defer("statement")
        )
        for control in mapped:
            control.framework = allowed[control.framework_id]
        mapped.sort(key=lambda c: (c.framework.name, c.framework.version, c.sort_key))
    return [*direct.values(), *mapped]
