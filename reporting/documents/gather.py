"""What each report is made from: the data of one kind, read from the database.

``gather`` returns a JSON-ready dict (``core.canonical.canonical_json`` works on it): every
instant as a UTC ISO string under its name and, beside it, ``<name>_local`` — the agency's wall
clock with the zone printed (``core.time.format_local``). ``data["meta"]`` says whose report it
is (agency, marking, time zone, incident number) and as of when the figures hold.

It reads the other apps only through their public selectors and models: the incident and its
determination (``incidents.selectors``), the timeline (``incidents.timeline``), the evidence
and its custodian from the ledger (``evidence.services.custodian``), the compliance snapshot
(``compliance.risk.selectors``; built "as of" the incident when none was taken yet) and the
obligations and submissions of ``reporting``.

The caller (the reports services) has already checked that its user sees what the report is
about. A report is the agency's record, not one reader's view: it is gathered through a
reading context of the agency that sees the whole incident (``_reader``), and every query still
goes through ``accounts.scoping.scope``, so nothing of another agency can be read.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from accounts.context import AgencyContext
from accounts.models import Role
from accounts.scoping import scope
from compliance.models import ImpactLevel, InformationSystem
from compliance.risk.selectors import incident_as_of, latest_snapshot
from compliance.snapshots.document import build_document, document_sha256
from core.time import format_local, require_aware
from evidence.models import Evidence
from evidence.services import custodian
from incidents.models import (
    AdditionalInformation,
    AttackVector,
    Decision,
    Detection,
    FunctionalImpact,
    Incident,
    Indicator,
    InformationImpact,
    Location,
    NcissLevel,
    PiiAct,
    Recoverability,
    State,
)
from incidents.selectors import current_determination
from incidents.timeline import incident_timeline, local_time
from reporting.models import Obligation, Submission, cisa_response_for

from .definitions import KINDS

TIMELINE_LIMIT = 5000
OBLIGATION_KINDS = (
    "cisa-notification",
    "congressional-notification",
    "supplemental-report",
    "major-breach-report",
)
UNKNOWN = "Unknown"


class GatherError(ValueError):
    """The arguments do not name what the kind is gathered from."""


# --- small helpers ----------------------------------------------------------------------------


def _reader(agency) -> AgencyContext:
    """A reading context of ``agency`` that sees every incident of it (see the module
    docstring). It carries no user and is never used to write."""
    return AgencyContext(user=None, agency=agency, roles=frozenset({Role.COMPLIANCE_OFFICER}))


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _put(out: dict, name: str, value: datetime | None, tz: ZoneInfo) -> None:
    """``out[name]`` the UTC ISO string, ``out[name + '_local']`` the wall clock with zone."""
    out[name] = _iso(value)
    out[name + "_local"] = format_local(value, tz) if value else None


def _local(value: datetime | str | None, tz: ZoneInfo) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return format_local(value, tz)


def _short_local(value: datetime, tz: ZoneInfo) -> str:
    """``3 Dec 2026 15:39 EST``: for sentences."""
    local = value.astimezone(tz)
    return f"{local.day} {local:%b %Y %H:%M} {local.tzname()}"


def _label(choices, value, default: str = UNKNOWN) -> str:
    if value in (None, ""):
        return default
    try:
        return choices(value).label
    except ValueError:
        return str(value)


def _person(user) -> str:
    if user is None:
        return ""
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return f"{full} ({user.get_username()})" if full else user.get_username()


def _level(value: int | None) -> str:
    return ImpactLevel(value).label if value is not None else UNKNOWN


# --- the incident's parts ---------------------------------------------------------------------


def cisa_tracking_number(incident: Incident) -> str:
    """CISA's tracking number of ``incident``: the one recorded on the incident, else the
    reference of its latest submission through the CISA portal; "" when CISA gave none yet.
    The one place a report reads it."""
    if incident.cisa_tracking_number:
        return incident.cisa_tracking_number
    response = cisa_response_for(incident)
    if response is not None:
        return response.tracking_number
    sub = (
        Submission.objects.filter(
            obligation__incident=incident, channel=Submission.Channel.CISA_PORTAL
        )
        .exclude(reference="")
        .order_by("-submitted_at", "-pk")
        .first()
    )
    return sub.reference if sub else ""


def cisa_severity(incident: Incident) -> str:
    """CISA's severity rating of ``incident`` from its latest answer; "" when none given."""
    response = cisa_response_for(incident)
    return response.get_severity_display() if response and response.severity else ""


def _incident(inc: Incident, tz: ZoneInfo) -> dict:
    out = {
        "number": inc.number,
        "title": inc.title,
        "summary": inc.summary,
        "state": inc.state,
        "state_label": _label(State, inc.state),
        "functional_impact": _label(FunctionalImpact, inc.functional_impact),
        "information_impact": [_label(InformationImpact, v) for v in inc.information_impact]
        or [UNKNOWN],
        "recoverability": _label(Recoverability, inc.recoverability),
        "location": _label(Location, inc.location),
        "attack_vectors": [_label(AttackVector, v) for v in inc.attack_vectors] or [UNKNOWN],
        "systems_affected_count": inc.systems_affected_count,
        "records_affected_count": inc.records_affected_count,
        "users_affected_count": inc.users_affected_count,
        "nciss_level": _label(NcissLevel, inc.nciss_level, "Not assessed"),
        "poc": {"name": inc.poc_name, "email": inc.poc_email, "phone": inc.poc_phone},
        "cisa_tracking_number": cisa_tracking_number(inc),
        "cisa_severity": cisa_severity(inc),
        "ruleset": f"{inc.ruleset.name} v{inc.ruleset.version}",
    }
    _put(out, "identified_at", inc.identified_at, tz)
    _put(out, "first_detected_at", inc.first_detected_at, tz)
    _put(out, "occurred_at", inc.occurred_at, tz)
    _put(out, "as_of", incident_as_of(inc), tz)
    return out


def _system(s: InformationSystem) -> dict:
    return {
        "acronym": s.acronym,
        "name": s.name,
        "component": s.component,
        "confidentiality": _level(s.confidentiality),
        "integrity": _level(s.integrity),
        "availability": _level(s.availability),
        "high_water_mark": _level(s.high_water_mark),
        "high_value_asset": s.high_value_asset,
        "owner": s.system_owner,
        "authorizing_official": s.authorizing_official,
        "ato_status": s.get_ato_status_display(),
        "ato_date": s.ato_date.isoformat() if s.ato_date else None,
        "ato_expires": s.ato_expires.isoformat() if s.ato_expires else None,
    }


def _systems(inc: Incident) -> list[dict]:
    return [_system(s) for s in inc.systems.order_by("acronym")]


def _determination(inc: Incident, tz: ZoneInfo) -> dict | None:
    d = current_determination(inc)
    if d is None:
        return None
    out = {
        "decision": d.decision,
        "decision_label": _label(Decision, d.decision),
        "recommendation_label": _label(Decision, d.recommendation),
        "is_major": d.is_major,
        "criteria_fired": [
            f"{c['text']} ({c['detail']})" if isinstance(c, dict) else str(c)
            for c in d.criteria_fired or []
        ],
        "harms_likely": sorted(k for k, v in (d.harms or {}).items() if (v or {}).get("likely")),
        "nciss_level": _label(NcissLevel, d.nciss_level, "Not assessed"),
        "pii_individuals": d.pii_individuals,
        "pii_acts": [_label(PiiAct, a) for a in d.pii_acts or []],
        "breach": d.breach,
        "rationale": d.rationale,
        "decided_by": _person(d.decided_by),
        "ruleset": f"{d.ruleset.name} v{d.ruleset.version}",
    }
    _put(out, "basis_at", d.basis_at, tz)
    _put(out, "recorded_at", d.recorded_at, tz)
    _put(out, "breach_discovered_at", d.breach_discovered_at, tz)
    return out


def _indicators(ctx, inc: Incident) -> list[dict]:
    return [
        {"type": i.get_type_display(), "value": i.value, "note": i.note}
        for i in scope(Indicator.objects.all(), ctx).filter(incident=inc).order_by("type", "pk")
    ]


def _detections(ctx, inc: Incident, tz: ZoneInfo) -> dict:
    rows = list(
        scope(Detection.objects.all(), ctx)
        .filter(candidate__incident=inc)
        .order_by("time_ns", "pk")
        .values("rule", "priority", "source", "time", "mitre_tactics", "mitre_techniques")
    )
    rules: dict[str, dict] = {}
    tactics: Counter = Counter()
    techniques: Counter = Counter()
    for r in rows:
        entry = rules.setdefault(
            r["rule"],
            {
                "rule": r["rule"],
                "priority": r["priority"],
                "tool": "Sysdig" if r["source"] == "sysdig" else "Falco",
                "count": 0,
                "first_at": _iso(r["time"]),
                "first_at_local": format_local(r["time"], tz),
            },
        )
        entry["count"] += 1
        tactics.update(t for t in r["mitre_tactics"] or () if isinstance(t, str))
        techniques.update(t for t in r["mitre_techniques"] or () if isinstance(t, str))
    out = {
        "count": len(rows),
        "rules": list(rules.values()),
        "tactics": sorted(tactics),
        "techniques": sorted(techniques),
    }
    _put(out, "first_at", rows[0]["time"] if rows else None, tz)
    _put(out, "last_at", rows[-1]["time"] if rows else None, tz)
    return out


def _timeline(ctx, inc: Incident, tz: ZoneInfo) -> dict:
    tl = incident_timeline(ctx, inc, limit=TIMELINE_LIMIT)
    entries = [
        {
            "source": e.source,
            "source_label": e.source_label,
            "time": _iso(e.time),
            "time_local": local_time(e, tz),
            "user": e.user,
            "container": e.container,
            "command": e.command,
            "detail": e.detail,
            "origin": e.origin,
        }
        for e in tl.entries
    ]
    return {
        "entries": entries,
        "truncated": tl.truncated,
        "limit": tl.limit,
        "commands_decoded": [e for e in entries if e["source"] == "capture"],
        "failed_extractions": [
            {"evidence": x.evidence.original_filename, "error": x.error}
            for x in tl.extractions
            if x.status == "failed"
        ],
    }


def _evidence(ctx, inc: Incident, tz: ZoneInfo) -> list[dict]:
    out = []
    for ev in (
        scope(Evidence.objects.select_related("uploaded_by"), ctx)
        .filter(incident=inc)
        .order_by("uploaded_at", "pk")
    ):
        holder = custodian(ev)
        row = {
            "filename": ev.original_filename,
            "kind": ev.get_kind_display(),
            "sha256": ev.sha256,
            "size": ev.size,
            "custodian": _person(holder),
            "collected_by": ev.collected_by,
            "withdrawn": ev.withdrawn_at is not None,
        }
        _put(row, "collected_at", ev.collected_at, tz)
        _put(row, "uploaded_at", ev.uploaded_at, tz)
        out.append(row)
    return out


def _submissions(inc: Incident, tz: ZoneInfo, *, before: Obligation | None = None) -> list[dict]:
    """The submissions made so far for the incident's obligations (other than ``before``)."""
    qs = (
        Submission.objects.filter(obligation__incident=inc)
        .select_related("obligation__rule", "submitted_by")
        .order_by("submitted_at", "pk")
    )
    if before is not None:
        qs = qs.exclude(obligation=before)
    out = []
    for s in qs:
        row = {
            "obligation": str(s.obligation.rule.title)
            + (f" {s.obligation.sequence}" if s.obligation.rule.repeatable else ""),
            "rule_key": s.obligation.rule.key,
            "report_kind": s.obligation.rule.report_kind,
            "channel": s.get_channel_display(),
            "reference": s.reference,
            "recipients": list(s.recipients or []),
            "submitted_by": _person(s.submitted_by),
        }
        _put(row, "submitted_at", s.submitted_at, tz)
        out.append(row)
    return out


def _snapshot(ctx, inc: Incident, now: datetime, tz: ZoneInfo) -> dict:
    """The compliance snapshot the report rests on: the newest one taken, else one built now
    "as of" the incident (``frozen`` says which)."""
    snap = latest_snapshot(ctx, inc)
    if snap is not None:
        doc, sha, frozen = snap.document, snap.sha256, True
        taken = snap.taken_at
    else:
        doc = build_document(ctx=ctx, incident=inc, known_at=now)
        sha, frozen, taken = document_sha256(doc), False, now
    out = {"document": doc, "sha256": sha, "frozen": frozen}
    _put(out, "taken_at", taken, tz)
    out["as_of_local"] = _local(doc.get("as_of"), tz)
    return out


def _risk_summary(snapshot: dict, inc: Incident, tz: ZoneInfo) -> list[dict]:
    as_of = incident_as_of(inc)
    rows = []
    for s in snapshot["document"]["systems"]:
        assessments = [
            {**r, "conducted_at_local": _local(r.get("conducted_at"), tz)}
            for r in s.get("prior_risk_assessments", [])
        ]
        auth = s.get("authorization") or {}
        rows.append(
            {
                "acronym": s["acronym"],
                "name": s["name"],
                "assessments": assessments,
                "latest": assessments[0] if assessments else None,
                "absent": ""
                if assessments
                else (
                    f"No risk assessment of {s['acronym']} was recorded before "
                    f"{_short_local(as_of, tz)}."
                ),
                "ato": auth,
                "open_poam_items": s.get("open_poam_items", []),
            }
        )
    return rows


def _compliance_summary(snapshot: dict, tz: ZoneInfo) -> list[dict]:
    rows = []
    for s in snapshot["document"]["systems"]:
        frameworks = []
        for fw in s.get("frameworks", []):
            frameworks.append(
                {
                    **fw,
                    "percent_rows": [
                        {"status": k.replace("_", " "), "count": fw["counts"].get(k, 0), "pct": v}
                        for k, v in fw.get("percentages", {}).items()
                    ],
                    "other_than_satisfied": [
                        {**c, "assessed_at_local": _local(c.get("assessed_at"), tz)}
                        for c in fw.get("other_than_satisfied", [])
                    ],
                }
            )
        rows.append(
            {
                "acronym": s["acronym"],
                "name": s["name"],
                "fips199": s.get("fips199", {}),
                "authorization": s.get("authorization") or {},
                "frameworks": frameworks,
                "implicated_controls": [
                    {**c, "assessed_at_local": _local(c.get("assessed_at"), tz)}
                    for c in s.get("implicated_controls", [])
                ],
                "open_poam_items": s.get("open_poam_items", []),
            }
        )
    return rows


def _four_summaries(ctx, inc: Incident, now: datetime, tz: ZoneInfo) -> dict:
    snapshot = _snapshot(ctx, inc, now, tz)
    return {
        "threats": {
            "detections": _detections(ctx, inc, tz),
            "indicators": _indicators(ctx, inc),
        },
        "snapshot": {k: v for k, v in snapshot.items() if k != "document"},
        "risk_assessments": _risk_summary(snapshot, inc, tz),
        "compliance": _compliance_summary(snapshot, tz),
        "poam_from_incident": snapshot["document"].get("poam_items_from_incident", []),
        "timeline": _timeline(ctx, inc, tz),
        "evidence": _evidence(ctx, inc, tz),
    }


def _meta(kind: str, agency, now: datetime, *, incident=None, ruleset=None) -> dict:
    tz = agency.tz
    out = {
        "kind": kind,
        "kind_title": KINDS[kind],
        "agency": {"name": agency.name, "abbreviation": agency.abbreviation},
        "marking": agency.marking,
        "time_zone": agency.time_zone,
        "incident": incident.number if incident is not None else None,
        "ruleset": f"{ruleset.name} v{ruleset.version}" if ruleset is not None else None,
    }
    _put(out, "as_of", now, tz)
    local = now.astimezone(tz)
    out["date_local"] = f"{local.day} {local:%B %Y}"
    return out


# --- per kind ---------------------------------------------------------------------------------


def _obligation_base(kind: str, ob: Obligation, now: datetime) -> tuple[dict, dict]:
    inc = ob.incident
    agency = inc.agency
    tz = agency.tz
    ctx = _reader(agency)
    determination = _determination(inc, tz)
    variants = []
    if ob.rule.key == "cisa-major-update":
        variants.append("major-update")
    if determination and determination["breach"]:
        variants.append("breach")
    obligation = {
        "rule_key": ob.rule.key,
        "title": ob.rule.title,
        "citation": ob.rule.citation,
        "sequence": ob.sequence,
        "recipients": list(ob.recipients or ob.rule.recipients or []),
    }
    _put(obligation, "due_at", ob.due_at, tz)
    _put(obligation, "anchor_at", ob.anchor_at, tz)
    data = {
        "meta": _meta(kind, agency, now, incident=inc, ruleset=inc.ruleset),
        "variants": variants,
        "obligation": obligation,
        "incident": _incident(inc, tz),
        "systems": _systems(inc),
        "determination": determination,
        "submissions": _submissions(inc, tz, before=ob),
        # The report's own recipients (editable per report) replace these when it has them.
        "recipients": list(obligation["recipients"]),
    }
    return data, {"ctx": ctx, "incident": inc, "tz": tz}


def _gather_cisa(ob: Obligation, now: datetime) -> dict:
    data, env = _obligation_base("cisa-notification", ob, now)
    data["indicators"] = _indicators(env["ctx"], env["incident"])
    data["detections"] = _detections(env["ctx"], env["incident"], env["tz"])
    return data


def _gather_congressional(ob: Obligation, now: datetime) -> dict:
    data, env = _obligation_base("congressional-notification", ob, now)
    data["detections"] = _detections(env["ctx"], env["incident"], env["tz"])
    data["legal_basis"] = (
        "Notification of a major incident under 44 U.S.C. §3554(b)(7)(C)(iii)(III) and "
        f"{_memo(env['incident'])}"
    )
    return data


def _memo(inc: Incident) -> str:
    """The memo named by the rule set ("FISMA 2014 / OMB M-17-05" → "OMB M-17-05")."""
    name = inc.ruleset.name
    return name.split("/", 1)[1].strip() if "/" in name else name


def _gather_supplemental(ob: Obligation, now: datetime, sequence: int | None) -> dict:
    data, env = _obligation_base("supplemental-report", ob, now)
    inc, tz = env["incident"], env["tz"]
    data["sequence"] = sequence if sequence is not None else ob.sequence
    data["additional_information"] = []
    for info in (
        scope(AdditionalInformation.objects.select_related("recorded_by"), env["ctx"])
        .filter(incident=inc, recorded_at__lte=now)
        .order_by("recorded_at", "pk")
    ):
        row = {"summary": info.summary, "recorded_by": _person(info.recorded_by)}
        _put(row, "recorded_at", info.recorded_at, tz)
        data["additional_information"].append(row)
    data.update(_four_summaries(env["ctx"], inc, now, tz))
    return data


def _gather_breach(ob: Obligation, now: datetime) -> dict:
    data, env = _obligation_base("major-breach-report", ob, now)
    data["detections"] = _detections(env["ctx"], env["incident"], env["tz"])
    return data


def _gather_post_incident(incident: Incident, now: datetime) -> dict:
    agency = incident.agency
    tz = agency.tz
    ctx = _reader(agency)
    summaries = _four_summaries(ctx, incident, now, tz)
    actions = [e for e in summaries["timeline"]["entries"] if e["source"] == "action"]
    return {
        "meta": _meta(
            "post-incident-report", agency, now, incident=incident, ruleset=incident.ruleset
        ),
        "variants": [],
        "incident": _incident(incident, tz),
        "systems": _systems(incident),
        "determination": _determination(incident, tz),
        "submissions": _submissions(incident, tz),
        "actions": actions,
        "threats": summaries["threats"],
        "timeline": summaries["timeline"],
        "poam_from_incident": summaries["poam_from_incident"],
        "snapshot": summaries["snapshot"],
    }


def fiscal_year_bounds(fiscal_year: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """FY2027 = from 1 Oct 2026 00:00 to 1 Oct 2027 00:00 on the agency's wall clock (UTC)."""
    start = datetime.combine(date(fiscal_year - 1, 10, 1), time(0), tzinfo=tz)
    end = datetime.combine(date(fiscal_year, 10, 1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def _gather_annual(agency, fiscal_year: int, now: datetime) -> dict:
    tz = agency.tz
    ctx = _reader(agency)
    start, end = fiscal_year_bounds(fiscal_year, tz)
    incidents = list(
        scope(Incident.objects.select_related("ruleset"), ctx)
        .filter(identified_at__gte=start, identified_at__lt=end, identified_at__lte=now)
        .exclude(state=State.DISMISSED)
        .prefetch_related("systems")
        .order_by("identified_at", "pk")
    )
    by_impact: Counter = Counter()
    by_vector: Counter = Counter()
    by_location: Counter = Counter()
    reported = []
    majors = []
    breaches = []
    for inc in incidents:
        levels = [s.high_water_mark for s in inc.systems.all()]
        by_impact[_level(max(levels)) if levels else "No system recorded"] += 1
        for v in inc.attack_vectors or [AttackVector.UNKNOWN]:
            by_vector[_label(AttackVector, v)] += 1
        by_location[_label(Location, inc.location)] += 1
        cisa = (
            Submission.objects.filter(
                obligation__incident=inc, obligation__rule__report_kind="cisa-notification"
            )
            .order_by("submitted_at", "pk")
            .first()
        )
        if cisa is not None:
            row = {"number": inc.number, "title": inc.title}
            row["tracking_number"] = cisa_tracking_number(inc)
            _put(row, "submitted_at", cisa.submitted_at, tz)
            reported.append(row)
        det = _determination(inc, tz)
        if det and det["is_major"]:
            s = _four_summaries(ctx, inc, now, tz)
            majors.append(
                {
                    "incident": _incident(inc, tz),
                    "determination": det,
                    "systems": _systems(inc),
                    "threats": s["threats"],
                    "risk_assessments": s["risk_assessments"],
                    "compliance": s["compliance"],
                    "snapshot": s["snapshot"],
                    "response": {
                        "timeline_count": len(s["timeline"]["entries"]),
                        "commands_decoded": s["timeline"]["commands_decoded"],
                        "actions": [e for e in s["timeline"]["entries"] if e["source"] == "action"],
                        "evidence": s["evidence"],
                    },
                }
            )
            if det["breach"]:
                breaches.append(
                    {
                        "number": inc.number,
                        "title": inc.title,
                        "individuals": det["pii_individuals"],
                        "pii_acts": det["pii_acts"],
                        "information": _incident(inc, tz)["information_impact"],
                    }
                )

    def rows(counter: Counter) -> list[dict]:
        return [{"label": k, "count": v} for k, v in sorted(counter.items())]

    out = {
        "meta": _meta("annual-fisma-summary", agency, now),
        "variants": [],
        "fiscal_year": fiscal_year,
        "incident_count": len(incidents),
        "major_count": len(majors),
        "totals_impact": rows(by_impact),
        "totals_vector": rows(by_vector),
        "totals_location": rows(by_location),
        "reported_to_cisa": reported,
        "major_incidents": majors,
        "breaches": breaches,
    }
    _put(out, "period_start", start, tz)
    _put(out, "period_end", end, tz)
    return out


def gather(
    kind: str,
    *,
    obligation: Obligation | None = None,
    incident: Incident | None = None,
    agency=None,
    fiscal_year: int | None = None,
    sequence: int | None = None,
    now: datetime,
) -> dict:
    """The data of a report of ``kind`` (see the module docstring). Obligation kinds take
    ``obligation``; the post-incident report ``incident``; the annual summary ``agency`` and
    ``fiscal_year``. ``GatherError`` names a missing or mismatched argument."""
    require_aware("now", now)
    if kind not in KINDS:
        raise GatherError(f"Unknown report kind {kind!r}; known: {', '.join(KINDS)}.")
    if kind in OBLIGATION_KINDS:
        if obligation is None:
            raise GatherError(f"A {KINDS[kind]} is gathered for an obligation.")
        if obligation.rule.report_kind != kind:
            raise GatherError(
                f"Obligation {obligation} asks for a {obligation.rule.report_kind}, not a {kind}."
            )
        if kind == "cisa-notification":
            return _gather_cisa(obligation, now)
        if kind == "congressional-notification":
            return _gather_congressional(obligation, now)
        if kind == "supplemental-report":
            return _gather_supplemental(obligation, now, sequence)
        return _gather_breach(obligation, now)
    if kind == "post-incident-report":
        if incident is None:
            raise GatherError("A post-incident report is gathered for an incident.")
        return _gather_post_incident(incident, now)
    if agency is None or fiscal_year is None:
        raise GatherError("An annual FISMA summary is gathered for an agency and a fiscal year.")
    if not 2000 <= int(fiscal_year) <= 2200:
        raise GatherError(f"Fiscal year {fiscal_year} is out of range.")
    return _gather_annual(agency, int(fiscal_year), now)
