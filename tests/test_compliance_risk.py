"""Risk assessments, POA&M items and compliance snapshots at the time of an incident.

Timeline (UTC, 2026): FTA-WEB's controls are assessed in January; the incident's activity is
first detected on 10 March at 14:00 and identified at 14:30; AC-2 is fixed on 20 March; "now"
is 1 April.
"""

from datetime import UTC, date, datetime, timedelta
from io import BytesIO

import pytest
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction

from compliance.models import (
    AppendOnlyError,
    AssessmentStatus,
    Baseline,
    ComplianceSnapshot,
    Control,
    Framework,
    PoamItem,
    RiskAssessment,
)
from compliance.risk.oscal_poam import poam_json
from compliance.risk.selectors import latest_snapshot, poam_items, prior_risk_assessments
from compliance.risk.services import (
    parse_remediation_lines,
    poam_close,
    poam_create,
    poam_create_from_incident,
    poam_milestone_add,
    risk_assessment_record,
    snapshot_take,
)
from compliance.selectors import system_state_as_of
from compliance.services import assessment_record
from compliance.snapshots.document import document_sha256
from core.errors import Conflict, InvalidInput, NotFound, NotPermitted
from incidents.models import CandidateStatus, Detection, IncidentCandidate
from incidents.services import incident_transition

S = AssessmentStatus
JAN = datetime(2026, 1, 15, 12, tzinfo=UTC)
DETECTED = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
IDENTIFIED = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
FIXED = datetime(2026, 3, 20, 12, tzinfo=UTC)
NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)

NIST_CONTROLS = [
    ("ac-2", "AC-2", "Account Management"),
    ("ac-6", "AC-6", "Least Privilege"),
    ("au-9", "AU-9", "Protection of Audit Information"),
    ("si-4", "SI-4", "System Monitoring"),
]


@pytest.fixture
def nist(db):
    fw = Framework.objects.create(name="NIST SP 800-53", version="5.1.1")
    controls = {
        ident: Control.objects.create(
            framework=fw, identifier=ident, label=label, title=title, sort_key=ident
        )
        for ident, label, title in NIST_CONTROLS
    }
    baseline = Baseline.objects.create(framework=fw, name="MODERATE")
    baseline.controls.set(controls.values())
    return fw, controls, baseline


@pytest.fixture
def history(nist, web_system, carol, agency_a, ctx):
    """January: AC-2 and AU-9 other than satisfied, AC-6 satisfied, SI-4 never assessed.
    20 March (after the incident): AC-2 fixed."""
    _fw, controls, baseline = nist
    web_system.baseline = baseline
    web_system.save()
    c = ctx(carol, agency_a)
    for ident, status, at, finding in [
        ("ac-2", S.OTHER_THAN_SATISFIED, JAN, "Dormant accounts not disabled."),
        ("au-9", S.OTHER_THAN_SATISFIED, JAN, "Audit logs writable by the web user."),
        ("ac-6", S.SATISFIED, JAN, ""),
        ("ac-2", S.SATISFIED, FIXED, ""),
    ]:
        assessment_record(
            ctx=c,
            system=web_system,
            control=controls[ident],
            status=status,
            assessed_at=at,
            finding=finding,
            now=at,
        )
    return nist


@pytest.fixture
def incident(open_incident):
    return open_incident(
        now=IDENTIFIED + timedelta(minutes=5),
        identified_at=IDENTIFIED,
        first_detected_at=DETECTED,
    )


def _detection(agency, incident, *, refs, techniques=(), n=0):
    candidate = IncidentCandidate.objects.create(
        agency=agency,
        group_key=f"pod:store/p{n}",
        first_seen=DETECTED,
        last_seen=DETECTED,
        status=CandidateStatus.PROMOTED,
        incident=incident,
        created_at=DETECTED,
    )
    return Detection.objects.create(
        agency=agency,
        candidate=candidate,
        content_hash=f"{n:064d}",
        kind="alert",
        rule="Delete or rename shell history",
        priority="Warning",
        time=DETECTED,
        time_ns=int(DETECTED.timestamp()) * 10**9,
        control_refs=list(refs),
        mitre_techniques=list(techniques),
        raw={},
        received_at=DETECTED,
    )


def _risk(c, system, at, now=NOW, **kw):
    kw.setdefault("assessor", "Acme Assessors LLC")
    kw.setdefault("method", "qualitative")
    kw.setdefault("overall_risk", "moderate")
    kw.setdefault("summary", "Internet-facing store; moderate residual risk.")
    return risk_assessment_record(ctx=c, system=system, conducted_at=at, now=now, **kw)


# --- risk assessments ------------------------------------------------------------------------


def test_risk_assessment_document_is_stored_with_its_sha256(web_system, carol, agency_a, ctx):
    import hashlib

    body = b"%PDF-1.7 risk assessment report\n" * 1000
    ra = _risk(
        ctx(carol, agency_a), web_system, JAN, document=BytesIO(body), document_filename="ra.pdf"
    )
    assert ra.document_sha256 == hashlib.sha256(body).hexdigest()
    assert ra.document_size == len(body)
    assert ra.document_filename == "ra.pdf"
    with default_storage.open(ra.document_name, "rb") as fh:
        assert fh.read() == body
    default_storage.delete(ra.document_name)


def test_rejected_document_leaves_no_file_and_no_row(
    web_system, carol, agency_a, ctx, settings, tmp_path
):
    settings.DOCKET_DOCUMENT_MAX_BYTES = 100
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    with pytest.raises(InvalidInput, match="larger than the limit"):
        _risk(
            ctx(carol, agency_a),
            web_system,
            JAN,
            document=BytesIO(b"x" * 101),
            document_filename="big.pdf",
        )
    with pytest.raises(InvalidInput, match="empty"):
        _risk(
            ctx(carol, agency_a),
            web_system,
            JAN,
            document=BytesIO(b""),
            document_filename="empty.pdf",
        )
    assert not RiskAssessment.objects.exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_risk_assessment_cannot_be_in_the_future_or_carry_unknown_levels(
    web_system, carol, agency_a, ctx
):
    c = ctx(carol, agency_a)
    with pytest.raises(InvalidInput, match="Conducted at cannot be in the future"):
        _risk(c, web_system, NOW + timedelta(seconds=1))
    with pytest.raises(InvalidInput, match="Overall risk level: 'extreme' is not one of"):
        _risk(c, web_system, JAN, overall_risk="extreme")
    with pytest.raises(InvalidInput, match="Assessor"):
        _risk(c, web_system, JAN, assessor="  ")
    assert not RiskAssessment.objects.exists()


def test_only_compliance_officers_and_the_systems_issos_record_risk_assessments(
    web_system,
    hr_system,
    alice,
    audrey,
    olivia,
    bob,
    agency_a,
    ctx,
    b_system,
    agency_b,
    audit_grant,
):
    assert _risk(ctx(alice, agency_a), web_system, JAN).pk
    audit_grant(audrey, web_system)  # she reads FTA-WEB through a granted incident
    for person, system in ((audrey, web_system), (olivia, web_system)):
        with pytest.raises(NotPermitted):
            _risk(ctx(person, agency_a), system, JAN)
    # Systems an ISSO is not assigned to are out of their sight, as on the inventory pages.
    with pytest.raises(NotFound):
        _risk(ctx(alice, agency_a), hr_system, JAN)
    with pytest.raises(NotFound):
        _risk(ctx(bob, agency_b), web_system, JAN)


def test_prior_risk_assessments_are_those_conducted_strictly_before_first_detection(
    incident, web_system, hr_system, carol, agency_a, ctx
):
    c = ctx(carol, agency_a)
    before = _risk(c, web_system, DETECTED - timedelta(microseconds=1))
    _risk(c, web_system, DETECTED)  # at the very instant: not "before the incident"
    _risk(c, web_system, FIXED)
    _risk(c, hr_system, JAN)  # a system the incident does not affect
    assert prior_risk_assessments(c, incident) == [before]


def test_prior_risk_assessments_fall_back_to_identified_at(
    open_incident, web_system, carol, agency_a, ctx
):
    c = ctx(carol, agency_a)
    incident = open_incident(now=IDENTIFIED, identified_at=IDENTIFIED)
    inside = _risk(c, web_system, DETECTED + timedelta(minutes=10))
    assert prior_risk_assessments(c, incident) == [inside]


# --- POA&M -----------------------------------------------------------------------------------


def test_poam_item_lifecycle_milestones_and_close(nist, web_system, alice, agency_a, ctx):
    _, controls, _ = nist
    c = ctx(alice, agency_a)
    item = poam_create(
        ctx=c,
        system=web_system,
        weakness="Audit logs writable by the web server user",
        source="assessment",
        severity="high",
        scheduled_completion=date(2026, 6, 30),
        controls=[controls["au-9"].pk],
        milestones=[("Move logs to the collector", date(2026, 5, 1))],
        now=NOW,
    )
    poam_milestone_add(
        ctx=c, item=item, description="Verify permissions", due_date=date(2026, 6, 1), now=NOW
    )
    item = poam_items(c).get(pk=item.pk)
    assert [m.description for m in item.milestones.all()] == [
        "Move logs to the collector",
        "Verify permissions",
    ]
    assert [x.label for x in item.controls.all()] == ["AU-9"]
    closed = poam_close(ctx=c, item=item, note="Logs shipped off-host.", now=NOW)
    assert (closed.status, closed.closed_at, closed.closed_by) == ("closed", NOW, alice)
    with pytest.raises(Conflict, match="already closed"):
        poam_close(ctx=c, item=item, note="again", now=NOW)
    with pytest.raises(Conflict):
        poam_milestone_add(ctx=c, item=item, description="x", due_date=date(2026, 7, 1), now=NOW)


def test_only_an_approving_official_accepts_a_risk(web_system, carol, olivia, agency_a, ctx):
    item = poam_create(
        ctx=ctx(carol, agency_a),
        system=web_system,
        weakness="Legacy TLS on the admin port",
        source="scan",
        severity="low",
        scheduled_completion=date(2026, 9, 1),
        now=NOW,
    )
    with pytest.raises(NotPermitted, match="approving official"):
        poam_close(ctx=ctx(carol, agency_a), item=item, note="ok", status="risk_accepted")
    with pytest.raises(NotPermitted):
        poam_close(ctx=ctx(olivia, agency_a), item=item, note="fixed")
    accepted = poam_close(
        ctx=ctx(olivia, agency_a), item=item, note="Port is internal only.", status="risk_accepted"
    )
    assert accepted.status == "risk_accepted"


def test_bad_poam_input_names_the_problem_and_stores_nothing(web_system, carol, agency_a, ctx):
    c = ctx(carol, agency_a)
    base = {
        "ctx": c,
        "system": web_system,
        "weakness": "W",
        "source": "scan",
        "severity": "low",
        "scheduled_completion": date(2026, 9, 1),
        "now": NOW,
    }
    with pytest.raises(InvalidInput, match="Severity: 'urgent'"):
        poam_create(**{**base, "severity": "urgent"})
    with pytest.raises(InvalidInput, match="Related controls: no control"):
        poam_create(**base, controls=[999999])
    with pytest.raises(InvalidInput, match=r"milestones\[1\]: a milestone needs a description"):
        poam_create(**base, milestones=[("ok", date(2026, 5, 1)), ("", date(2026, 5, 2))])
    assert not PoamItem.objects.exists()


def test_remediation_lines_are_parsed_and_errors_name_the_line():
    assert parse_remediation_lines("2026-04-10 Rotate the token\n\n2026-05-01: Rebuild image") == [
        ("Rotate the token", date(2026, 4, 10)),
        ("Rebuild image", date(2026, 5, 1)),
    ]
    with pytest.raises(InvalidInput, match="Remediation actions, line 2: start with the due date"):
        parse_remediation_lines("2026-04-10 ok\nRotate it soon")
    with pytest.raises(InvalidInput, match="Remediation actions, line 1: 2026-02-30 is not a date"):
        parse_remediation_lines("2026-02-30 Rotate")


def test_poam_from_an_incident_carries_its_implicated_controls_and_milestones(
    nist, incident, web_system, hr_system, agency_a, carol, ctx
):
    from incidents.services import incident_update

    c = ctx(carol, agency_a)
    incident_update(
        ctx=c, incident=incident, changes={"systems": [web_system.pk, hr_system.pk]}, now=NOW
    )
    _detection(agency_a, incident, refs=["NIST SP 800-53 AU-9", "PCI DSS 10.3.2"])
    items = poam_create_from_incident(
        ctx=c,
        incident=incident,
        weakness="Shell history could be destroyed by the web user",
        severity="high",
        remediation=parse_remediation_lines("2026-04-10 Rotate token\n2026-05-01 Read-only root"),
        now=NOW,
    )
    assert [i.system.acronym for i in items] == ["FTA-HR", "FTA-WEB"]
    for item in items:
        assert item.incident == incident and item.source == "incident"
        # The NIST reference, and the PCI DSS requirement of the shipped skeleton.
        assert {x.label for x in item.controls.all()} == {"AU-9", "10.3.2"}
        assert item.scheduled_completion == date(2026, 5, 1)
        assert item.milestones.count() == 2


# --- snapshots -------------------------------------------------------------------------------


def test_snapshot_freezes_the_state_as_of_first_detection(
    history, incident, web_system, carol, agency_a, ctx
):
    c = ctx(carol, agency_a)
    _detection(agency_a, incident, refs=["NIST SP 800-53 AC-2", "NIST SP 800-53 SI-4"])
    prior = _risk(c, web_system, JAN, now=JAN)
    poam_create(
        ctx=c,
        system=web_system,
        weakness="Dormant accounts",
        source="assessment",
        severity="moderate",
        scheduled_completion=date(2026, 3, 31),
        now=JAN,
    )
    snap = snapshot_take(ctx=c, incident=incident, now=NOW)

    assert snap.as_of == DETECTED and snap.taken_at == NOW and snap.taken_by == carol
    doc = snap.document
    assert doc["schema_version"] == 1 and doc["as_of"] == DETECTED.isoformat()
    # The inventory has no history: the document says its fields are as known when taken.
    assert doc["inventory_as_of"] == "known_at" and doc["known_at"] == NOW.isoformat()
    (system,) = doc["systems"]
    (fw,) = system["frameworks"]
    assert fw["counts"] == {
        "satisfied": 1,
        "other_than_satisfied": 2,
        "not_applicable": 0,
        "not_assessed": 1,
    }
    assert fw["percentages"]["other_than_satisfied"] == 50.0
    # AC-2 was fixed on 20 March, after the incident: still other than satisfied here.
    assert [x["label"] for x in fw["other_than_satisfied"]] == ["AC-2", "AU-9"]
    assert {x["label"]: x["status"] for x in system["implicated_controls"]} == {
        "AC-2": "other_than_satisfied",
        "SI-4": "not_assessed",
    }
    assert [p["weakness"] for p in system["open_poam_items"]] == ["Dormant accounts"]
    assert [r["id"] for r in system["prior_risk_assessments"]] == [prior.pk]
    # Exactly the selector's state as of first detection, and the hash survives the round trip.
    fw_row = Framework.objects.get(name="NIST SP 800-53")
    state = system_state_as_of(ctx=c, system=web_system, framework=fw_row, at=DETECTED)
    assert fw["counts"] == state.counts and fw["percentages"] == state.percentages
    stored = ComplianceSnapshot.objects.get(pk=snap.pk)
    assert stored.sha256 == document_sha256(stored.document) == document_sha256(snap.document)


def test_an_assessment_recorded_after_the_incident_does_not_change_the_snapshot(
    history, incident, web_system, carol, agency_a, ctx
):
    c = ctx(carol, agency_a)
    first = snapshot_take(ctx=c, incident=incident, now=NOW)
    _, controls, _ = history
    assessment_record(
        ctx=c,
        system=web_system,
        control=controls["au-9"],
        status=S.SATISFIED,
        assessed_at=NOW,
        now=NOW + timedelta(hours=1),
    )
    second = snapshot_take(ctx=c, incident=incident, now=NOW + timedelta(hours=2))
    assert second.document["systems"] == first.document["systems"]
    assert latest_snapshot(c, incident) == second


def test_snapshots_are_append_only(history, incident, carol, agency_a, ctx):
    snap = snapshot_take(ctx=ctx(carol, agency_a), incident=incident, now=NOW)
    snap.reason = "confirmed"
    with pytest.raises(AppendOnlyError):
        snap.save()
    with pytest.raises(AppendOnlyError):
        snap.delete()
    with pytest.raises(AppendOnlyError):
        ComplianceSnapshot.objects.filter(pk=snap.pk).update(sha256="0" * 64)
    with pytest.raises(AppendOnlyError):
        ComplianceSnapshot.objects.all().delete()


def test_the_database_refuses_to_rewrite_a_snapshot(history, incident, carol, agency_a, ctx):
    assert connection.vendor == "postgresql"
    pk = snapshot_take(ctx=ctx(carol, agency_a), incident=incident, now=NOW).pk
    for sql in (
        "UPDATE compliance_compliancesnapshot SET sha256 = 'x' WHERE id = %s",
        "DELETE FROM compliance_compliancesnapshot WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [pk])
    assert ComplianceSnapshot.objects.filter(pk=pk).exists()


def test_confirming_an_incident_takes_a_snapshot_after_commit(
    history, incident, alice, agency_a, ctx, django_capture_on_commit_callbacks
):
    c = ctx(alice, agency_a)
    incident_transition(ctx=c, incident=incident, transition="start_triage", now=NOW)
    assert not ComplianceSnapshot.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        incident_transition(ctx=c, incident=incident, transition="confirm", now=NOW)
    snap = ComplianceSnapshot.objects.get()
    assert (snap.reason, snap.taken_by, snap.taken_at, snap.as_of) == (
        "confirmed",
        alice,
        NOW,
        DETECTED,
    )


def test_who_may_take_a_snapshot(history, incident, olivia, audrey, bob, agency_a, agency_b, ctx):
    with pytest.raises(NotPermitted):
        snapshot_take(ctx=ctx(olivia, agency_a), incident=incident, now=NOW)
    with pytest.raises(NotPermitted):
        snapshot_take(ctx=ctx(audrey, agency_a), incident=incident, now=NOW)
    with pytest.raises(NotFound):
        snapshot_take(ctx=ctx(bob, agency_b), incident=incident, now=NOW)
    with pytest.raises(NotFound):
        latest_snapshot(ctx(bob, agency_b), incident)


# --- OSCAL and the crosswalk placeholder -----------------------------------------------------


def test_poam_oscal_export_parses_back_with_trestle(
    nist, incident, web_system, carol, olivia, agency_a, ctx
):
    import json

    from trestle.oscal.poam import PlanOfActionAndMilestones

    c = ctx(carol, agency_a)
    _, controls, _ = nist
    open_item = poam_create(
        ctx=c,
        system=web_system,
        weakness="Audit logs writable",
        source="incident",
        severity="high",
        scheduled_completion=date(2026, 6, 30),
        incident=incident,
        controls=[controls["au-9"].pk],
        milestones=[("Ship logs", date(2026, 5, 1))],
        now=NOW,
    )
    accepted = poam_create(
        ctx=c,
        system=web_system,
        weakness="Legacy TLS",
        source="scan",
        severity="low",
        scheduled_completion=date(2026, 9, 1),
        now=NOW,
    )
    poam_close(
        ctx=ctx(olivia, agency_a),
        item=accepted,
        note="Internal only.",
        status="risk_accepted",
        now=NOW,
    )

    text = poam_json(web_system, poam_items(c).filter(system=web_system), now=NOW)
    body = json.loads(text)["plan-of-action-and-milestones"]
    parsed = PlanOfActionAndMilestones.model_validate(body)
    titles = {i.title for i in parsed.poam_items}
    assert titles == {"Audit logs writable", "Legacy TLS"}
    assert len(parsed.risks) == 2
    status = {r["title"]: r["status"] for r in body["risks"]}
    assert status == {"Audit logs writable": "open", "Legacy TLS": "deviation-approved"}
    item = next(i for i in body["poam-items"] if i["title"] == "Audit logs writable")
    props = {(p["name"], p["value"]) for p in item["props"]}
    assert {("control-id", "au-9"), ("incident", incident.number), ("severity", "high")} <= props
    risk = next(r for r in body["risks"] if r["title"] == "Audit logs writable")
    (task,) = risk["remediations"][0]["tasks"]
    assert task["type"] == "milestone" and task["title"] == "Ship logs"
    # End of the due day in the agency's zone (23:59:59 EDT), written in UTC.
    assert task["timing"]["on-date"]["date"] == "2026-05-02T03:59:59+00:00"
    assert open_item.pk  # exported twice: same identifiers
    assert json.loads(poam_json(web_system, poam_items(c).filter(system=web_system), now=NOW)) == (
        json.loads(text)
    )


def test_trestle_validate_accepts_the_export_and_refuses_a_broken_one(
    nist, web_system, carol, agency_a, ctx, tmp_path
):
    import json
    import subprocess
    import sys
    from pathlib import Path

    trestle = [str(Path(sys.executable).with_name("trestle"))]
    c = ctx(carol, agency_a)
    poam_create(
        ctx=c,
        system=web_system,
        weakness="Audit logs writable",
        source="assessment",
        severity="high",
        scheduled_completion=date(2026, 6, 30),
        milestones=[("Ship logs", date(2026, 5, 1))],
        now=NOW,
    )
    subprocess.run([*trestle, "init"], cwd=tmp_path, check=True, capture_output=True)  # noqa: S603 (the venv's trestle)

    def validate(document) -> subprocess.CompletedProcess:
        folder = tmp_path / "plan-of-action-and-milestones" / "fta-web"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "plan-of-action-and-milestones.json"
        path.write_text(json.dumps(document))
        return subprocess.run(  # noqa: S603 (the venv's trestle)
            [*trestle, "validate", "-f", str(path)], cwd=tmp_path, capture_output=True, text=True
        )

    document = json.loads(poam_json(web_system, poam_items(c), now=NOW))
    ok = validate(document)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    del document["plan-of-action-and-milestones"]["poam-items"]
    assert validate(document).returncode != 0


def test_a_milestone_is_marked_done_once_and_never_in_the_future(web_system, alice, agency_a, ctx):
    from compliance.risk.services import poam_milestone_complete

    c = ctx(alice, agency_a)
    item = poam_create(
        ctx=c,
        system=web_system,
        weakness="W",
        source="scan",
        severity="low",
        scheduled_completion=date(2026, 6, 30),
        milestones=[("Patch", date(2026, 5, 1)), ("Rescan", date(2026, 5, 8))],
        now=NOW,
    )
    first, second = item.milestones.order_by("due_date")
    with pytest.raises(InvalidInput, match="Completed on cannot be in the future"):
        poam_milestone_complete(ctx=c, milestone=first, completed_on=date(2026, 4, 2), now=NOW)
    done = poam_milestone_complete(ctx=c, milestone=first, now=NOW)
    assert done.completed_on == date(2026, 4, 1)  # today in New York at NOW
    with pytest.raises(Conflict, match="already completed"):
        poam_milestone_complete(ctx=c, milestone=first, now=NOW)
    poam_close(ctx=c, item=item, note="Done.", now=NOW)
    with pytest.raises(Conflict):
        poam_milestone_complete(ctx=c, milestone=second, now=NOW)


# --- the demo's compliance history -----------------------------------------------------------


def test_demo_history_leaves_controls_weak_at_the_incident_and_fixes_some_after(
    web_system, hr_system, alice, carol, agency_a, ctx
):
    from django.utils import timezone

    from compliance.risk.demo import compliance_demo_load

    now = timezone.now().replace(second=0, microsecond=0)
    incident = incident_open_at(alice, agency_a, web_system, now)
    people = {"isso": ctx(alice, agency_a), "compliance": ctx(carol, agency_a)}
    compliance_demo_load(store=web_system, case=hr_system, ctx=people, incident=incident, now=now)

    web_system.refresh_from_db()
    assert web_system.baseline.framework.name.startswith("NIST SP 800-53")
    snap = latest_snapshot(people["compliance"], incident)
    (store,) = snap.document["systems"]
    (fw,) = store["frameworks"]
    assert {c["label"] for c in fw["other_than_satisfied"]} == {"AU-9", "CM-7", "RA-5"}
    assert fw["counts"]["not_assessed"] == 1  # SI-3 never assessed
    today = system_state_as_of(
        ctx=people["compliance"],
        system=web_system,
        framework=web_system.baseline.framework,
        at=now,
    )
    assert {c.control.label for c in today.with_status("other_than_satisfied")} == {"RA-5"}


def test_demo_keeps_an_existing_history_as_it_is(
    nist, web_system, hr_system, alice, carol, agency_a, ctx
):
    from django.utils import timezone

    from compliance.models import ControlAssessment
    from compliance.risk.demo import compliance_demo_load

    now = timezone.now().replace(second=0, microsecond=0)
    _, controls, _ = nist
    people = {"isso": ctx(alice, agency_a), "compliance": ctx(carol, agency_a)}
    assessment_record(
        ctx=people["compliance"],
        system=web_system,
        control=controls["au-9"],
        status=S.OTHER_THAN_SATISFIED,
        assessed_at=now - timedelta(days=30),
        now=now,
    )
    incident = incident_open_at(alice, agency_a, web_system, now)
    compliance_demo_load(store=web_system, case=hr_system, ctx=people, incident=incident, now=now)

    assert ControlAssessment.objects.count() == 1
    web_system.refresh_from_db()
    assert web_system.baseline is None
    labels = {c.label for i in PoamItem.objects.filter(system=web_system) for c in i.controls.all()}
    assert labels == {"AU-9"}  # RA-5 and CM-2 are not in that framework
    assert latest_snapshot(people["compliance"], incident) is not None


def incident_open_at(user, agency, system, now):
    from accounts.context import context_for
    from incidents.services import incident_open

    return incident_open(
        ctx=context_for(user, agency),
        title="Compromised store-frontend pod",
        systems=[system.pk],
        identified_at=now - timedelta(hours=6),
        first_detected_at=now - timedelta(hours=6, minutes=4),
        now=now - timedelta(hours=5, minutes=50),
    )
