"""Report documents (reporting.documents): definitions as data, what each kind gathers, the
suggested and the written narrative, and the PDF's content by its extracted text — from the
demo incident and from factories."""

import io
import json
import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pypdf
import pytest
from django.core.management import call_command
from django.template.loader import select_template
from django.utils import timezone

from accounts.models import Agency
from core.canonical import canonical_json
from incidents.models import Incident
from incidents.services import additional_information_record, determination_record
from reporting.documents import (
    KINDS,
    DefinitionError,
    GatherError,
    definition_for,
    gather,
    render_html,
    render_pdf,
    suggestions,
)
from reporting.documents.definitions import all_definitions, parse_definition
from reporting.models import Obligation
from reporting.services import submission_record

pytestmark = pytest.mark.django_db

MAIN_TITLE = "Compromised store-frontend-ping-php pod"
ZONE = "(America/New_York)"


@pytest.fixture(autouse=True)
def _evidence_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # the demo's evidence files stay out of var/


@pytest.fixture
def demo_incident():
    call_command("load_demo", stdout=io.StringIO())
    agency = Agency.objects.get(abbreviation="DEMO")
    return Incident.objects.get(agency=agency, title=MAIN_TITLE)


def _obligation(incident, key, sequence=1):
    return Obligation.objects.select_related("rule").get(
        incident=incident, rule__key=key, sequence=sequence
    )


def _pages(pdf: bytes) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _render(kind, data, ruleset=None, narrative=None, *, draft=True, label=None):
    definition = definition_for(kind, ruleset)
    label = label or f"{data['meta'].get('incident') or 'FY'} · {definition.title} · version 1"
    html = render_html(definition, data, narrative or {}, label=label, draft=draft)
    return definition, render_pdf(html, title=f"{definition.title} — {label}")


# --- definitions ------------------------------------------------------------------------------


def test_every_definition_file_loads_and_each_kind_has_one():
    definitions = all_definitions()
    assert {d.kind for d in definitions} == set(KINDS)
    assert list(KINDS) == [
        "cisa-notification",
        "congressional-notification",
        "supplemental-report",
        "major-breach-report",
        "post-incident-report",
        "annual-fisma-summary",
    ]
    for d in definitions:
        assert d.sections and d.version and d.rulesets
        for s in d.sections:
            assert s.mode in ("prefilled", "narrative")
            if s.mode == "prefilled":  # each prefilled section has its template
                select_template(
                    [f"reports/sections/{d.kind}/{s.key}.html", f"reports/sections/{s.key}.html"]
                )
            else:
                assert s.help, f"{d.kind}/{s.key} has no help text for the editor"


def test_the_four_statutory_summaries_each_have_a_section():
    d = definition_for("supplemental-report")
    titles = [s.title for s in d.sections if s.mode == "prefilled"]
    for number in ("1.", "2.", "3.", "4."):
        assert any(t.startswith(number) for t in titles)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("sections"), "missing sections"),
        (lambda d: d.update(kind="memo"), "kind 'memo' is not one of"),
        (lambda d: d["sections"][0].update(mode="free"), "mode must be prefilled or narrative"),
        (lambda d: d["sections"].append(dict(d["sections"][0])), "repeats"),
        (lambda d: d["sections"][0].update(key="Bad Key"), "key must be lower-case"),
        (lambda d: d.update(rulesets=[]), "rulesets must list at least one"),
        (lambda d: d["sections"][0].update(colour="red"), "unknown fields colour"),
        (lambda d: d["sections"][0].update(applies="always"), "applies must be one of"),
    ],
)
def test_a_bad_definition_is_refused_naming_the_problem(change, message):
    doc = json.loads(
        json.dumps(
            {
                "kind": "cisa-notification",
                "version": "9",
                "title": "T",
                "rulesets": [{"name": "X", "version": "1"}],
                "sections": [{"key": "a", "title": "A", "mode": "narrative", "help": "h"}],
            }
        )
    )
    parse_definition(doc, "test.json")  # valid as it stands
    change(doc)
    with pytest.raises(DefinitionError, match=re.escape(message)):
        parse_definition(doc, "test.json")


def test_definitions_are_bound_to_the_rule_set_and_its_variants():
    published = SimpleNamespace(pk=1, name="FISMA 2014 / OMB M-17-05", version="1", supersedes=None)
    variant = SimpleNamespace(pk=2, name="DOJ variant", version="3", supersedes=published)
    assert definition_for("cisa-notification", published).version == "1"
    assert definition_for("cisa-notification", variant).version == "1"
    other = SimpleNamespace(pk=3, name="Some future memo", version="1", supersedes=None)
    with pytest.raises(DefinitionError, match="No definition of 'cisa-notification' serves"):
        definition_for("cisa-notification", other)
    with pytest.raises(DefinitionError, match="Unknown report kind"):
        definition_for("press-release")


# --- CISA notification --------------------------------------------------------------------


def test_cisa_notification_of_the_demo_incident(demo_incident):
    now = timezone.now()
    ob = _obligation(demo_incident, "cisa-initial")
    data = gather("cisa-notification", obligation=ob, now=now)
    canonical_json(data)  # JSON-ready
    assert data["meta"]["marking"] == "CUI"
    assert data["meta"]["incident"] == demo_incident.number
    assert data["meta"]["time_zone"] == "America/New_York"
    assert data["variants"] == []

    definition, pdf = _render("cisa-notification", data, demo_incident.ruleset)
    pages = _pages(pdf)
    text = _flat("\n".join(pages))
    for s in definition.sections_for(data):
        assert s.title in text
    assert "Major-incident determination" not in text  # only in the update
    assert "Minimal Impact to Critical Services" in text  # functional impact
    assert "Level 1 – Business DMZ" in text
    assert "198.51.100.23" in text  # an indicator
    assert "isso@demo.example.gov" in text  # point of contact
    first = data["incident"]["first_detected_at_local"]
    assert first.endswith(ZONE) and first in text
    for n, page in enumerate(pages, start=1):
        assert f"Page {n} of {len(pages)}" in page
        assert page.count("CUI") >= 2  # the banner at the top and at the bottom
        assert f"{demo_incident.number} · CISA incident notification · version 1" in page
        assert "DRAFT" in page


def test_cisa_update_adds_the_determination(demo_incident):
    ob = _obligation(demo_incident, "cisa-major-update")
    data = gather("cisa-notification", obligation=ob, now=timezone.now())
    assert data["variants"] == ["major-update"]
    _, pdf = _render("cisa-notification", data, demo_incident.ruleset, draft=False)
    text = _flat("\n".join(_pages(pdf)))
    assert "Major-incident determination" in text
    assert "Major incident" in text
    assert data["determination"]["basis_at_local"] in text
    assert "NCISS level 3" in text  # what fired
    assert "DRAFT" not in text


def test_submitted_reports_print_the_cisa_tracking_number(demo_incident):
    ob = _obligation(demo_incident, "congress-7-day")
    data = gather("congressional-notification", obligation=ob, now=timezone.now())
    assert data["incident"]["cisa_tracking_number"] == "CISA-2026-0417"
    _, pdf = _render("congressional-notification", data, demo_incident.ruleset)
    assert "CISA-2026-0417" in _flat(_pages(pdf)[0])


def test_gather_refuses_what_does_not_fit(demo_incident):
    now = timezone.now()
    ob = _obligation(demo_incident, "cisa-initial")
    with pytest.raises(GatherError, match="asks for a cisa-notification, not a"):
        gather("supplemental-report", obligation=ob, now=now)
    with pytest.raises(GatherError, match="gathered for an obligation"):
        gather("cisa-notification", now=now)
    with pytest.raises(GatherError, match="agency and a fiscal year"):
        gather("annual-fisma-summary", agency=demo_incident.agency, now=now)
    with pytest.raises(ValueError, match="timezone-aware"):
        gather("cisa-notification", obligation=ob, now=now.replace(tzinfo=None))


def test_suggestions_draw_on_the_data(demo_incident):
    ob = _obligation(demo_incident, "cisa-initial")
    data = gather("cisa-notification", obligation=ob, now=timezone.now())
    suggested = suggestions(definition_for("cisa-notification"), data)
    assert set(suggested) <= {s.key for s in definition_for("cisa-notification").sections}
    assert "Terminal shell in container" in suggested["summary"]
    assert "Online Store (STORE" in suggested["summary"]


# --- the other kinds, from factories --------------------------------------------------------


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def breach_incident(agency_a, open_incident, ctx, olivia, carol):
    """A major breach of FTA-WEB (no risk assessment, no snapshot, no evidence), on the night
    the clocks go back in New York, with one supplemental due and the CISA report submitted."""
    agency_a.marking = "CUI//SP-PRVCY"
    agency_a.save()
    incident = open_incident(
        now=utc(2026, 11, 1, 6, 30),
        identified_at=utc(2026, 11, 1, 5, 30),  # 01:30 EDT, the first of two
        first_detected_at=utc(2026, 11, 1, 5, 10),
        attack_vectors=["web"],
        location="1",
        indicators=[{"type": "ipv4", "value": "203.0.113.9", "note": "Scanner"}],
    )
    determination_record(
        ctx=ctx(olivia, agency_a),
        incident=incident,
        decision="major",
        rationale="Exfiltration of applicant records.",
        pii_individuals=250000,
        pii_acts=["exfiltration"],
        breach=True,
        breach_discovered_at=utc(2026, 11, 1, 6, 50),  # 01:50 EST, the second
        basis_at=utc(2026, 11, 1, 7),
        now=utc(2026, 11, 1, 7),
    )
    additional_information_record(
        ctx=ctx(carol, agency_a),
        incident=incident,
        summary="The <b>attacker</b> used a stolen session cookie.",
        now=utc(2026, 11, 3, 15),
    )
    submission_record(
        ctx=ctx(carol, agency_a),
        obligation=_obligation(incident, "cisa-initial"),
        submitted_at=utc(2026, 11, 1, 6, 0),
        channel="cisa_portal",
        reference="CISA-2026-9999",
        now=utc(2026, 11, 1, 6, 1),
    )
    return Incident.objects.get(pk=incident.pk)


def test_supplemental_says_in_words_what_is_absent(breach_incident):
    now = utc(2026, 11, 4, 12)
    data = gather(
        "supplemental-report", obligation=_obligation(breach_incident, "supplemental"), now=now
    )
    assert data["sequence"] == 1
    assert set(data["variants"]) == {"breach"}
    definition, pdf = _render("supplemental-report", data, breach_incident.ruleset)
    pages = _pages(pdf)
    text = _flat("\n".join(pages))
    assert "Contents" in _flat(pages[0])  # a table of contents for a long report
    for s in definition.sections_for(data):
        assert s.title in text
    # Each of the four summaries is there, with its absence said in words.
    assert "No risk assessment of FTA-WEB was recorded before 1 Nov 2026 01:10 EDT." in text
    assert "no compliance snapshot was taken" in text
    assert "No command was decoded from a capture of this incident." in text
    assert "No evidence has been collected for this incident." in text
    assert "The incident's detections carry no ATT&CK tags." in text
    # The earlier report, its channel and CISA's tracking number; the breach.
    assert "CISA-2026-9999" in text
    assert "250000" in text
    assert "The <b>attacker</b> used a stolen session cookie." in text  # data, as text
    assert "CUI//SP-PRVCY" in _flat(pages[0])
    for page in pages:
        assert page.count("CUI//SP-PRVCY") >= 2


def test_times_on_the_fall_back_night_keep_their_zone(breach_incident):
    data = gather(
        "major-breach-report",
        obligation=_obligation(breach_incident, "major-breach-30-day"),
        now=utc(2026, 11, 4, 12),
    )
    assert data["incident"]["identified_at_local"] == "2026-11-01 01:30 EDT (America/New_York)"
    assert (
        data["determination"]["breach_discovered_at_local"]
        == "2026-11-01 01:50 EST (America/New_York)"
    )
    definition, pdf = _render("major-breach-report", data, breach_incident.ruleset)
    text = _flat("\n".join(_pages(pdf)))
    assert "2026-11-01 01:30 EDT (America/New_York)" in text
    assert "2026-11-01 01:50 EST (America/New_York)" in text
    for s in definition.sections_for(data):
        assert s.title in text
    assert "House Committee on the Judiciary" in text  # the breach report's recipients
    assert "Senate Committee on the Judiciary" in text
    assert "Exfiltration" in text


def test_report_recipients_replace_the_rules(breach_incident):
    ob = _obligation(breach_incident, "ig-7-day")
    data = gather("congressional-notification", obligation=ob, now=utc(2026, 11, 4, 12))
    assert data["recipients"] == ["Office of Inspector General"]
    data["recipients"] = ["Inspector General, Federal Test Agency"]
    data["signer"] = "Olivia Grant, Chief Information Officer"  # set by the report's approval
    _, pdf = _render("congressional-notification", data, breach_incident.ruleset)
    text = _flat("\n".join(_pages(pdf)))
    assert "Inspector General, Federal Test Agency" in text
    assert "Signed by Olivia Grant, Chief Information Officer" in text
    assert "44 U.S.C. §3554(b)(7)(C)(iii)(III) and OMB M-17-05" in text
    assert "CISA incident notification" in text and "CISA-2026-9999" in text  # made already


def test_post_incident_report(breach_incident):
    data = gather("post-incident-report", incident=breach_incident, now=utc(2026, 11, 20, 12))
    definition, pdf = _render("post-incident-report", data, breach_incident.ruleset)
    text = _flat("\n".join(_pages(pdf)))
    for s in definition.sections_for(data):
        assert s.title in text
    assert "203.0.113.9" in text  # an indicator to watch
    assert "Major-incident determination" in text  # a handler action, from the history
    assert "No POA&M item has been opened from this incident." in text
    with pytest.raises(GatherError, match="for an incident"):
        gather("post-incident-report", now=utc(2026, 11, 20, 12))


def test_annual_summary_counts_the_fiscal_year(breach_incident, agency_a, open_incident):
    # One more incident, not major, in FY2027; one in FY2026 that must not count.
    open_incident(now=utc(2026, 12, 1, 12), title="Phishing", attack_vectors=["email_phishing"])
    open_incident(now=utc(2026, 9, 30, 12), title="Last year's")
    data = gather(
        "annual-fisma-summary", agency=agency_a, fiscal_year=2027, now=utc(2027, 1, 10, 12)
    )
    assert data["meta"]["incident"] is None
    assert data["period_start_local"] == "2026-10-01 00:00 EDT (America/New_York)"
    assert data["incident_count"] == 2
    assert data["major_count"] == 1
    assert {r["label"]: r["count"] for r in data["totals_vector"]} == {
        "Web": 1,
        "Email/Phishing": 1,
    }
    assert [r["number"] for r in data["reported_to_cisa"]] == [breach_incident.number]
    assert data["breaches"][0]["individuals"] == 250000
    definition, pdf = _render(
        "annual-fisma-summary", data, None, label="FTA · FY2027 annual summary · version 1"
    )
    pages = _pages(pdf)
    text = _flat("\n".join(pages))
    assert "Contents" in _flat(pages[0])
    for s in definition.sections_for(data):
        assert s.title in text
    assert breach_incident.number in text
    assert "Last year's" not in text
    assert "No risk assessment of FTA-WEB was recorded before" in text


# --- the demo's supplemental ----------------------------------------------------------------


def test_demo_supplemental_draws_the_four_summaries_from_the_demo(demo_incident):
    ob = _obligation(demo_incident, "supplemental")
    data = gather("supplemental-report", obligation=ob, now=timezone.now())
    _, pdf = _render("supplemental-report", data, demo_incident.ruleset)
    text = _flat("\n".join(_pages(pdf)))
    # (2) the risk assessment dated before the incident, with its assessor.
    store = next(r for r in data["risk_assessments"] if r["acronym"] == "STORE")
    assert store["latest"] is not None
    assert store["latest"]["conducted_at"] < data["incident"]["as_of"]
    assert store["latest"]["conducted_at_local"] in text
    assert store["latest"]["assessor"] in text
    # (3) the snapshot's percentages, and its hash.
    assert data["snapshot"]["frozen"] is True
    fw = data["compliance"][0]["frameworks"][0]
    for row in fw["percent_rows"]:
        assert f"{row['pct']}%" in text
    assert data["snapshot"]["sha256"] in text
    # (4) the attacker's shred, with its time and zone; the evidence's SHA-256 and custodian.
    shred = [
        e for e in data["timeline"]["entries"] if "shred -f /var/www/.bash_history" in e["command"]
    ]
    assert shred
    assert shred[0]["time_local"].endswith(("EST", "EDT"))
    # In the timeline: its time (to the nanosecond, with the zone), then the command.
    assert re.search(re.escape(shred[0]["time_local"]) + r".{0,120}shred -f /var/www/", text)
    assert "shred -f /var/www/.bash_history" in text
    if data["timeline"]["commands_decoded"]:  # sysdig decoded the capture
        assert any("shred" in e["command"] for e in data["timeline"]["commands_decoded"])
    else:  # the report says why not
        assert data["timeline"]["failed_extractions"] or "No command was decoded" in text
    assert data["evidence"]
    for ev in data["evidence"]:
        assert ev["sha256"] in text.replace(" ", "")
        assert ev["custodian"] and ev["custodian"] in text


def test_demo_annual_summary_of_the_current_fiscal_year(demo_incident):
    now = timezone.now()
    local = now.astimezone(demo_incident.agency.tz)
    fiscal_year = local.year + 1 if local.month >= 10 else local.year
    data = gather(
        "annual-fisma-summary", agency=demo_incident.agency, fiscal_year=fiscal_year, now=now
    )
    majors = [m["incident"]["number"] for m in data["major_incidents"]]
    assert demo_incident.number in majors
    assert demo_incident.number in [r["number"] for r in data["reported_to_cisa"]]
    assert sum(r["count"] for r in data["totals_impact"]) == data["incident_count"]
    _, pdf = _render("annual-fisma-summary", data, label="DEMO · annual summary · version 1")
    text = _flat("\n".join(_pages(pdf)))
    assert f"FY{fiscal_year}" in text
    assert "CISA-2026-0417" in text
    assert "STORE (Moderate)" in text  # the affected system with its FIPS 199 level
