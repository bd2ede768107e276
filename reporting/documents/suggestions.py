"""Suggested narrative: a first draft of each narrative section, drawn from the data where it
allows. People edit it; a section the data says nothing about gets no suggestion."""

from __future__ import annotations

from .definitions import Definition


def _join(items) -> str:
    items = [i for i in items if i]
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _detected(data: dict) -> str:
    det = data.get("detections") or data.get("threats", {}).get("detections") or {}
    rules = det.get("rules") or []
    if not rules:
        return ""
    first = rules[0]
    return (
        f"The activity was first detected at {first['first_at_local']} by the {first['tool']} "
        f"rule “{first['rule']}”; {det['count']} detection(s) of "
        f"{len(rules)} rule(s) followed."
    )


def _summary(data: dict) -> str:
    inc = data.get("incident") or {}
    parts = [f"{inc.get('title', '')}."] if inc.get("title") else []
    if inc.get("summary"):
        parts.append(inc["summary"].strip())
    systems = data.get("systems") or []
    if systems:
        parts.append(
            "Affected: "
            + _join(
                f"{s['name']} ({s['acronym']}, FIPS 199 {s['high_water_mark']})" for s in systems
            )
            + "."
        )
    if d := _detected(data):
        parts.append(d)
    return " ".join(parts)


def _actions(data: dict) -> str:
    entries = [
        e
        for e in (data.get("timeline") or {}).get("entries", data.get("actions") or [])
        if e.get("source") == "action"
    ]
    if not entries:
        return ""
    return "\n".join(f"- {e['time_local']}: {e['detail']} ({e['user']})" for e in entries)


def _determination(data: dict) -> str:
    d = data.get("determination")
    if not d:
        return ""
    text = (
        f"On {d['basis_at_local']} the agency had a reasonable basis to conclude that a "
        f"{d['decision_label'].lower()} had occurred; {d['decided_by']} decided on "
        f"{d['recorded_at_local']}."
    )
    if d.get("criteria_fired"):
        text += " Criteria met: " + _join(d["criteria_fired"]) + "."
    if d.get("pii_individuals"):
        text += f" Personally identifiable information of {d['pii_individuals']:,} individuals"
        if d.get("pii_acts"):
            text += " (" + _join(a.lower() for a in d["pii_acts"]) + ")"
        text += " is involved."
    if d.get("rationale"):
        text += "\n\n" + d["rationale"].strip()
    return text


def _changes(data: dict) -> str:
    infos = data.get("additional_information") or []
    if not infos:
        return ""
    latest = infos[-1]
    return f"Recorded {latest['recorded_at_local']}: {latest['summary'].strip()}"


def _threats(data: dict) -> str:
    det = (data.get("threats") or {}).get("detections") or {}
    parts = []
    if det.get("techniques"):
        parts.append("ATT&CK techniques observed: " + ", ".join(det["techniques"]) + ".")
    if det.get("tactics"):
        parts.append("Tactics: " + ", ".join(det["tactics"]) + ".")
    inc = data.get("incident") or {}
    if inc:
        parts.append(
            f"Functional impact: {inc['functional_impact']}; information impact: "
            f"{', '.join(inc['information_impact'])}; recoverability: {inc['recoverability']}."
        )
    return " ".join(parts)


def _remaining(data: dict) -> str:
    items = data.get("poam_from_incident") or []
    if not items:
        return ""
    return "\n".join(
        f"- {i['weakness']} (POA&M {i['id']}, due {i['scheduled_completion']})" for i in items
    )


def _precursors(data: dict) -> str:
    indicators = (data.get("threats") or {}).get("indicators") or []
    if not indicators:
        return ""
    return "\n".join(f"- {i['type']}: `{i['value']}`" for i in indicators)


def _breach(data: dict) -> str:
    d = data.get("determination") or {}
    if not d.get("breach"):
        return ""
    n = d.get("pii_individuals")
    who = f"{n:,} individuals" if n else "an unknown number of individuals"
    acts = _join(a.lower() for a in d.get("pii_acts") or [])
    return f"The breach concerns {who}" + (f" ({acts})" if acts else "") + "."


def _annual(data: dict) -> str:
    fy = data.get("fiscal_year")
    majors = data.get("major_incidents") or []
    text = (
        f"In fiscal year {fy} the agency recorded {data.get('incident_count', 0)} incident(s), "
        f"{len(majors)} of them major."
    )
    for m in majors:
        text += (
            f"\n\n- {m['incident']['number']}: {m['incident']['title']} "
            f"(determined {m['determination']['basis_at_local']})"
        )
    return text


_SUGGESTERS = {
    "summary": _summary,
    "what-happened": _summary,
    "how-occurred": _summary,
    "mitigations": _actions,
    "actions-taken": _actions,
    "determination-statement": _determination,
    "changes": _changes,
    "threats-narrative": _threats,
    "response-narrative": _remaining,
    "precursors-narrative": _precursors,
    "risk-of-harm": _breach,
    "agency-summary": _annual,
}


def suggestions(definition: Definition, data: dict) -> dict[str, str]:
    """Suggested Markdown for the narrative sections of ``definition`` the data speaks to."""
    out = {}
    for section in definition.narrative_sections(data):
        make = _SUGGESTERS.get(section.key)
        if make is None:
            continue
        text = make(data).strip()
        if text:
            out[section.key] = text
    return out
