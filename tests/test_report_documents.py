"""Report documents (reporting.documents): definitions as data, what each kind gathers, the
suggested and the written narrative, and the PDF's content by its extracted text — from the
demo incident and from factories."""

import io
import json
import re
from types import SimpleNamespace

import pypdf
import pytest
from django.core.management import call_command
from django.template.loader import select_template
from django.utils import timezone

from accounts.models import Agency
from core.canonical import canonical_json
from incidents.models import Incident
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
