"""axe-core on every page, at a phone width and a desktop width.

``PAGES`` is the one list of pages checked: (name, URL or ``lambda world: URL``, persona).
The persona is the name of a fixture of ``tests/conftest.py`` (``None``: signed out); ``world``
holds the incidents built below. Adding a page is adding one line. A page passes when axe
finds no violation of impact "serious" or "critical" against WCAG 2.0/2.1 A and AA.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.context import context_for
from compliance.demo import compliance_demo, demo_framework
from incidents import falco
from incidents.ingest import alerts_store, detections_group
from incidents.models import Incident, IncidentCandidate
from incidents.services import auditor_grant, determination_record, incident_transition
from reporting.models import Obligation, Report
from reporting.report_pages import report_url
from reporting.reports import report_draft, report_render_now
from reporting.services import submission_record

from ..support.alerts import POD, rule_alert
from ..support.browser import SERIOUS, WIDTHS, describe_violations, run_axe

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@dataclass
class World:
    # determined major by olivia: CISA met, Congress and IG clocks running; granted to audrey
    major: Incident
    triage: Incident  # in triage, CISA notification overdue
    candidate: IncidentCandidate | None = None  # open, of real Falco detections on STORE


PAGES = [
    ("sign-in", "/accounts/login/", None),
    ("mfa-setup", "/accounts/mfa/setup/", "alice"),
    ("board", "/deadlines/", "carol"),
    ("incident-list", "/incidents/", "carol"),
    ("incident-detail-major", lambda w: f"/incidents/{w.major.number}/", "carol"),
    ("incident-create", "/incidents/new/", "alice"),
    ("incident-evidence", lambda w: f"/incidents/{_ev(w).incident.number}/evidence/", "alice"),
    ("evidence-detail", lambda w: f"/evidence/{_ev(w).pk}/", "olivia"),
    ("evidence-detail-failed", lambda w: f"/evidence/{_failed_ev(w).pk}/", "alice"),
    (
        "incident-evidence-failed",
        lambda w: f"/incidents/{_failed_ev(w).incident.number}/evidence/",
        "alice",
    ),
    ("determination-form", lambda w: f"/incidents/{w.triage.number}/determination/", "olivia"),
    ("calendar-settings", "/calendar/", "carol"),
    ("triage-queue", "/triage/", "carol"),
    ("system-list", "/systems/", "carol"),
    ("compliance-import", "/compliance/import/", "carol"),
    ("system-detail", "/systems/FTA-WEB/", "carol"),
    ("system-detail-isso", "/systems/FTA-WEB/", "alice"),
    ("system-detail-past", "/systems/FTA-WEB/?as_of=2026-01-01T12:00", "audrey"),
    (
        "system-control-history",
        lambda w: (
            f"/systems/FTA-WEB/controls/{demo_framework().controls.get(identifier='ac-2').pk}/"
        ),
        "carol",
    ),
    ("incident-timeline", lambda w: f"/incidents/{w.major.number}/timeline/", "carol"),
    ("risk-assessments", lambda w: _risk_assessment(w), "carol"),
    ("risk-assessment-form", "/systems/FTA-WEB/risk-assessments/new/", "alice"),
    ("poam-list", lambda w: _poam_item(w) and "/systems/FTA-WEB/poam/", "carol"),
    ("poam-form", "/systems/FTA-WEB/poam/new/", "alice"),
    ("poam-detail", lambda w: f"/poam/{_poam_item(w).pk}/", "alice"),
    ("incident-compliance", lambda w: f"/incidents/{w.major.number}/compliance/", "alice"),
    ("candidate-detail", lambda w: f"/triage/{w.candidate.pk}/", "carol"),
    ("incident-packages", lambda w: _package(w), "carol"),
    ("auditor-home", lambda w: _package(w) and "/auditor/", "audrey"),
    ("report-editor", lambda w: _report_url(w), "carol"),
    ("report-preview", lambda w: _report_url(w, "preview"), "carol"),
    ("report-versions", lambda w: _report_url(w, "versions", render=True), "carol"),
    ("report-compare", lambda w: _report_url(w, "compare", render=True) + "?a=1&b=1", "carol"),
    ("annual-summaries", "/reports/annual/", "carol"),
]


def _package(world) -> str:
    """A built evidence package of the major incident; the URL of its packages page."""
    from django.contrib.auth import get_user_model

    from packages.services import package_build_run, package_request

    incident = world.major
    carol = get_user_model().objects.get(username="carol")
    package = package_request(ctx=context_for(carol, incident.agency), incident=incident)
    package_build_run(job_id=package.pk)
    return f"/incidents/{incident.number}/packages/"


def _report_url(world, page="edit", *, render=False) -> str:
    """The seven-day notice to Congress of the major incident, drafted by carol (rendered
    once when ``render``); the URL of one of its pages."""
    carol = get_user_model().objects.get(username="carol")
    ctx = context_for(carol, world.major.agency)
    report = Report.objects.filter(incident=world.major, obligation__rule__key="congress-7-day")
    report = report.first() or report_draft(
        ctx, obligation=Obligation.objects.get(incident=world.major, rule__key="congress-7-day")
    )
    if render and not report.versions.exists():
        report_render_now(ctx, report)
    return report_url(report, page)


def _poam_item(world):
    """A POA&M item with a milestone on the major incident's system (for the POA&M pages)."""
    from datetime import date

    from compliance.risk.services import poam_create

    incident = world.major
    return poam_create(
        ctx=context_for(incident.created_by, incident.agency),
        system=incident.systems.get(),
        weakness="Audit logs writable by the web server user",
        source="incident",
        severity="high",
        scheduled_completion=date(2026, 6, 30),
        milestones=[("Ship logs off-host", date(2026, 5, 1))],
        incident=incident,
    )


def _risk_assessment(world) -> str:
    """A risk assessment of the major incident's system; the URL of its list."""
    from compliance.risk.services import risk_assessment_record

    incident = world.major
    system = incident.systems.get()
    risk_assessment_record(
        ctx=context_for(incident.created_by, incident.agency),
        system=system,
        conducted_at=incident.identified_at - timedelta(days=40),
        assessor="Acme Assessors LLC",
        method="qualitative",
        overall_risk="moderate",
        summary="Internet-facing store; moderate residual risk.",
    )
    return f"/systems/{system.acronym}/risk-assessments/"


@pytest.fixture(autouse=True)
def _evidence_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # evidence files of these tests stay out of var/


def _ev(world):
    """A real capture of the major incident, uploaded by alice with a pending transfer to carol
    (made on first use; the same item for both evidence pages of one test)."""
    import io

    from django.contrib.auth import get_user_model

    from evidence.models import Evidence
    from evidence.services import evidence_upload, transfer_offer

    from ..support.data import shared_file

    existing = Evidence.objects.filter(incident=world.major).first()
    if existing is not None:
        return existing
    alice = get_user_model().objects.get(username="alice")
    ctx = context_for(alice, world.major.agency)
    ev = evidence_upload(
        ctx=ctx,
        incident=world.major,
        fileobj=io.BytesIO(shared_file("scap", "curl_google.scap").read_bytes()),
        filename="curl_google.scap",
        kind="scap",
        collected_at=timezone.now() - timedelta(hours=5),
        metadata={"source_host": "node-7.k8s.example.gov", "collecting_tool": "sysdig 0.38.1"},
    )
    transfer_offer(ctx=ctx, evidence=ev, to_user=get_user_model().objects.get(username="carol"))
    return ev


def _failed_ev(world):
    """A log of the triage incident whose stored file was altered after upload; a
    verification found it (the error alert at the top of its pages)."""
    import io
    from pathlib import Path

    from django.contrib.auth import get_user_model
    from django.core.files.storage import default_storage

    from evidence.services import evidence_upload, evidence_verify

    alice = get_user_model().objects.get(username="alice")
    ctx = context_for(alice, world.triage.agency)
    ev = evidence_upload(
        ctx=ctx,
        incident=world.triage,
        fileobj=io.BytesIO(b"".join(b"Nov 02 08:%02d:00 node kubelet: ok\n" % m for m in range(9))),
        filename="node.log",
        kind="log",
    )
    path = Path(default_storage.path(ev.storage_name))
    path.write_bytes(path.read_bytes().replace(b"ok", b"KO", 1))
    evidence_verify(ctx=ctx, evidence=ev)
    return ev


@pytest.fixture
def world(agency_a, alice, carol, olivia, audrey, open_incident, web_system) -> World:
    now = timezone.now().replace(microsecond=0)
    alice_ctx = context_for(alice, agency_a)
    major = open_incident(
        now=now - timedelta(hours=6),
        identified_at=now - timedelta(hours=6, minutes=10),
        title="Compromised store-frontend pod",
        summary="Falco: shell history shredded in the store-frontend pod.",
    )
    for step, minutes in (("start_triage", 350), ("confirm", 340)):
        major = incident_transition(
            ctx=alice_ctx, incident=major, transition=step, now=now - timedelta(minutes=minutes)
        )
    submission_record(
        ctx=alice_ctx,
        obligation=Obligation.objects.get(incident=major, rule__key="cisa-initial"),
        channel="cisa_portal",
        reference="CISA-2026-0001",
        now=now - timedelta(hours=5, minutes=30),
    )
    determination_record(
        ctx=context_for(olivia, agency_a),
        incident=major,
        decision="major",
        rationale="Root-level tooling staged in an internet-facing production pod.",
        harms={"public_confidence": {"likely": True, "note": "Public storefront."}},
        nciss_level=3,
        now=now - timedelta(hours=3),
    )
    # audrey, of the Inspector General, reads the major incident and so its system.
    auditor_grant(ctx=context_for(olivia, agency_a), incident=major, user=audrey)
    triage = open_incident(
        now=now - timedelta(hours=3),
        title="Credential-phishing emails to case workers",
    )
    triage = incident_transition(
        ctx=alice_ctx, incident=triage, transition="start_triage", now=now - timedelta(hours=2)
    )
    compliance_demo(ctx=context_for(carol, agency_a), systems=list(agency_a.systems.all()), now=now)
    return World(major=major, triage=triage, candidate=_candidate(agency_a, web_system, now))


def _candidate(agency, system, now) -> IncidentCandidate:
    """An open candidate of the store pod's detections, built from the real Falco rules."""
    system.image_repositories = ["registry.fta.gov/store/"]
    system.save()
    steps = [
        ("Terminal shell in container", "bash"),
        ("Clear Log Activities", "truncate -s 0 /var/log/nginx/access.log"),
        ("Delete or rename shell history", "shred -f /var/www/.bash_history"),
    ]
    items = []
    for i, (rule, cmdline) in enumerate(steps):
        when = now - timedelta(minutes=30 - 2 * i)
        alert = rule_alert(
            rule,
            time=f"{when:%Y-%m-%dT%H:%M:%S}.{i:09d}Z",
            container=POD,
            fields={"proc.cmdline": cmdline, "user.name": "www-data"},
        )
        items.append(falco.Item(index=i, value=alert))
    assert alerts_store(agency=agency, items=items, now=now).accepted == len(steps)
    detections_group(agency_id=agency.pk, now=now)
    return IncidentCandidate.objects.get(agency=agency, system=system)


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
@pytest.mark.parametrize(("name", "url", "persona"), PAGES, ids=[p[0] for p in PAGES])
def test_no_serious_accessibility_violations(
    request, new_page, signed_in_page, world, name, url, persona, width
):
    if callable(url):
        url = url(world)
    if persona is None:
        page = new_page(width, axe=True)
    else:
        page = signed_in_page(request.getfixturevalue(persona), width, axe=True)
    response = page.goto(url)
    assert response is not None and response.status == 200, (
        f"{name}: GET {url} as {persona or 'a visitor'} answered "
        f"{response.status if response else 'nothing'} (page not written yet?)"
    )
    page.wait_for_load_state("load")
    violations = [v for v in run_axe(page) if v["impact"] in SERIOUS]
    assert not violations, (
        f"{name} ({url}) at {width}px has {len(violations)} serious/critical axe "
        f"violation(s):\n{describe_violations(violations)}"
    )


@pytest.mark.parametrize(("name", "url", "persona"), PAGES, ids=[p[0] for p in PAGES])
def test_no_horizontal_scrolling_at_360px(
    request, new_page, signed_in_page, world, name, url, persona
):
    """WCAG 1.4.10 Reflow (axe does not check it): at 360 px the page itself never scrolls
    sideways; wide tables scroll inside their own container."""
    if callable(url):
        url = url(world)
    user = request.getfixturevalue(persona) if persona else None
    page = signed_in_page(user, 360) if user else new_page(360)
    response = page.goto(url)
    assert response is not None and response.status == 200, (name, url, response.status)
    page.wait_for_load_state("load")
    overflow = page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const culprits = [];
          for (const el of document.querySelectorAll('body *')) {
            const box = el.getBoundingClientRect();
            const parent = el.parentElement.getBoundingClientRect();
            if (box.width > 0 && box.right > width + 1 && parent.right <= width + 1) {
              const right = Math.round(box.right);
              culprits.push(el.outerHTML.slice(0, 160) + ` (right edge at ${right} px)`);
            }
          }
          return {scrollWidth: document.documentElement.scrollWidth, width, culprits};
        }"""
    )
    assert overflow["scrollWidth"] <= overflow["width"], (
        f"{name} ({url}) is {overflow['scrollWidth']} px wide at 360 px; widest elements:\n"
        + "\n".join(overflow["culprits"][:5])
    )
