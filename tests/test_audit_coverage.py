"""What the audit trail records (audit.acts): one entry per act through the services, with
who, what, when, where from and the outcome (PCI DSS 10.2.2); refusals written although the
act rolled back; sign-in, sign-out and second-factor failures; the administration's changes
with before and after; evidence pages that are audit entries and no longer custody ones."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.context import context_for as _ctx
from accounts.models import IngestToken, Membership, Role
from audit.acts import ACTS
from audit.context import act_context
from audit.models import AuditEntry
from audit.trail import check_agency_chain, record
from evidence import services as evidence_services
from incidents import services as incident_services
from incidents.models import AuditorGrant
from reporting import services as reporting_services

from .support.alerts import rule_alert

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"  # tests/support/factories.py


def _acts(agency, **filters):
    return list(
        AuditEntry.objects.filter(agency=agency, **filters)
        .order_by("seq")
        .values_list("act", flat=True)
    )


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_each_service_act_is_one_entry_of_a_known_act(ctx, agency_a, carol, olivia, media):
    carol_ctx, olivia_ctx = ctx(carol, agency_a), ctx(olivia, agency_a)
    start = AuditEntry.objects.filter(agency=agency_a).count()
    incident = incident_services.incident_open(
        ctx=carol_ctx, title="Coverage", now=NOW - timedelta(hours=2)
    )
    incident_services.incident_update(
        ctx=carol_ctx, incident=incident, changes={"title": "Coverage, renamed"}
    )
    incident_services.indicator_add(
        ctx=carol_ctx, incident=incident, type="domain", value="bad.example"
    )
    incident_services.determination_record(
        ctx=olivia_ctx, incident=incident, decision="major", rationale="Many records."
    )
    incident_services.additional_information_record(
        ctx=carol_ctx, incident=incident, summary="More hosts."
    )
    obligation = incident.obligations.order_by("pk").first()
    reporting_services.submission_record(ctx=carol_ctx, obligation=obligation, channel="email")
    ev = evidence_services.evidence_upload(
        ctx=carol_ctx,
        incident=incident,
        fileobj=io.BytesIO(b"a log line\n"),
        filename="host.log",
        kind="log",
    )
    evidence_services.evidence_verify(ctx=carol_ctx, evidence=ev)
    evidence_services.evidence_withdraw(ctx=olivia_ctx, evidence=ev, reason="Wrong host.")
    acts = _acts(agency_a)[start:]
    assert acts == [
        "incident_open",
        "incident_edit",
        "incident_indicator_add",
        "incident_determine",
        "incident_additional_information",
        "obligation_submit",
        "evidence_upload",
        "evidence_verify",
        "evidence_withdraw",
    ]
    assert set(acts) <= set(ACTS)
    edit = AuditEntry.objects.get(act="incident_edit")
    assert edit.changes == {"title": {"before": "Coverage", "after": "Coverage, renamed"}}
    assert edit.incident == incident and edit.subject_ref.startswith(incident.number)
    assert check_agency_chain(agency_a) == []


def test_an_entry_rolls_back_with_a_failed_act(ctx, agency_a, carol):
    incident = incident_services.incident_open(ctx=ctx(carol, agency_a), title="Kept")
    before = AuditEntry.objects.count()
    with pytest.raises(Exception, match="cannot be in the future"):
        incident_services.incident_update(
            ctx=ctx(carol, agency_a),
            incident=incident,
            changes={"identified_at": datetime(2999, 1, 1, tzinfo=UTC)},
        )
    assert AuditEntry.objects.count() == before


def test_a_refused_act_is_an_entry_while_its_rows_rolled_back(client, agency_a, audrey, carol):
    incident = incident_services.incident_open(ctx=_ctx(carol, agency_a), title="Refusal")
    AuditorGrant.objects.create(incident=incident, user=audrey)
    client.force_login(audrey)
    response = client.post(
        f"/incidents/{incident.number}/additional-information/",
        {"summary": "An auditor only reads."},
        REMOTE_ADDR="198.51.100.20",
        HTTP_USER_AGENT="Refused/1.0",
        HTTP_X_REQUEST_ID="req-refused-1",
    )
    assert response.status_code == 403
    assert response["X-Request-ID"] == "req-refused-1"
    assert not incident.additional_information.exists()
    entry = AuditEntry.objects.get(act="incident_additional_information")
    assert (entry.outcome, entry.actor, entry.agency) == ("failure", audrey, agency_a)
    assert "Only" in entry.reason
    assert (entry.address, entry.user_agent, entry.request_id) == (
        "198.51.100.20",
        "Refused/1.0",
        "req-refused-1",
    )
    assert check_agency_chain(agency_a) == []


def test_a_conflict_answered_by_a_page_is_an_entry(client, agency_a, carol):
    incident = incident_services.incident_open(ctx=_ctx(carol, agency_a), title="Conflict")
    client.force_login(carol)
    response = client.post(f"/incidents/{incident.number}/transition/", {"transition": "close"})
    assert response.status_code == 409
    entry = AuditEntry.objects.get(act="request_refused")
    assert entry.outcome == "failure" and "not allowed" in entry.reason
    assert entry.subject_ref == f"POST /incidents/{incident.number}/transition/"


def test_another_agencys_incident_asked_for_is_an_entry_of_that_agency(
    client, agency_a, agency_b, carol, bob
):
    incident = incident_services.incident_open(ctx=_ctx(carol, agency_a), title="Secret")
    client.force_login(bob)
    assert client.get(f"/incidents/{incident.number}/").status_code == 404
    assert client.get("/incidents/FTA-1999-0001/").status_code == 404  # absent: no entry
    (entry,) = AuditEntry.objects.filter(act="out_of_scope")
    assert (entry.agency, entry.actor, entry.incident) == (agency_a, bob, incident)
    assert entry.outcome == "failure"
    # Nothing of it on bob's own agency's chain.
    assert not AuditEntry.objects.filter(agency=agency_b, act="out_of_scope").exists()


def test_api_out_of_scope_detail_is_an_entry(api, agency_a, carol, bob):
    incident = incident_services.incident_open(ctx=_ctx(carol, agency_a), title="Secret")
    assert api(bob).get(f"/api/v1/incidents/{incident.number}/").status_code == 404
    entry = AuditEntry.objects.get(act="out_of_scope")
    assert (entry.agency, entry.actor, entry.subject_id) == (agency_a, bob, str(incident.pk))


def test_pci_fields_of_a_web_act(client, agency_a, carol):
    client.force_login(carol)
    incident = incident_services.incident_open(ctx=_ctx(carol, agency_a), title="Web act")
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            f"/incidents/{incident.number}/additional-information/",
            {"summary": "Seen from the page."},
            REMOTE_ADDR="203.0.113.5",
            HTTP_USER_AGENT="Browser/2",
        )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(act="incident_additional_information")
    assert entry.actor == carol and entry.actor_label.startswith("carol")
    assert (entry.subject_type, entry.incident) == ("incidents.AdditionalInformation", incident)
    assert entry.changes == {"summary": {"before": None, "after": "Seen from the page."}}
    assert entry.at == NOW and entry.outcome == "success"
    assert (entry.address, entry.user_agent) == ("203.0.113.5", "Browser/2")
    assert len(entry.request_id) == 32 and response["X-Request-ID"] == entry.request_id


def test_pci_fields_of_an_api_token_act(agency_a, carol):
    incident = incident_services.incident_open(ctx=_ctx(carol, agency_a), title="API act")
    token = Token.objects.create(user=carol)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}", REMOTE_ADDR="192.0.2.44")
    response = client.patch(
        f"/api/v1/incidents/{incident.number}/",
        data='{"title": "API act, renamed"}',
        content_type="application/json",
        HTTP_USER_AGENT="docket-cli/1",
        HTTP_X_REQUEST_ID="cli-42",
    )
    assert response.status_code == 200, response.content
    entry = AuditEntry.objects.get(act="incident_edit")
    assert entry.actor == carol and "(API token)" in entry.actor_label
    assert (entry.address, entry.user_agent, entry.request_id) == (
        "192.0.2.44",
        "docket-cli/1",
        "cli-42",
    )
    assert entry.changes["title"] == {"before": "API act", "after": "API act, renamed"}


def test_a_delivery_of_detections_is_one_entry_by_its_token(client, agency_a, web_system):
    token, plain = IngestToken.issue(agency=agency_a, name="falco-prod")
    alerts = [
        rule_alert("Terminal shell in container", time=f"2023-05-25T13:44:0{n}.000000000Z")
        for n in range(5)
    ]
    response = client.post(
        "/api/v1/ingest/falco",
        data=json.dumps(alerts),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {plain}",
        HTTP_USER_AGENT="Falcosidekick",
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 200 and response.json()["accepted"] == 5
    (entry,) = AuditEntry.objects.filter(act="detections_ingest")
    assert entry.changes == {"accepted": 5, "duplicates": 0, "rejected": 0}
    assert entry.actor is None and entry.actor_label.startswith("ingest token 'falco-prod'")
    assert (entry.address, entry.user_agent, entry.subject_id) == (
        "10.1.2.3",
        "Falcosidekick",
        str(token.pk),
    )


def test_pci_fields_of_a_command(agency_a, carol, capsys):
    call_command("create_ingest_token", "--agency", "FTA", "--name", "falco-test")
    (entry,) = AuditEntry.objects.filter(act="ingest_token_issue")
    assert entry.actor is None and entry.actor_label.startswith("command create_ingest_token")
    assert entry.user_agent.startswith("manage.py on ")
    assert entry.agency == agency_a and "ingest token falco-test" in entry.subject_ref


def test_sign_in_failure_success_and_sign_out(agency_a, carol):
    client = Client()
    wrong = client.post(
        "/accounts/login/",
        {"username": "carol", "password": "not it"},
        REMOTE_ADDR="203.0.113.7",
    )
    assert wrong.status_code == 200
    unknown = client.post(
        "/accounts/login/", {"username": "nobody", "password": "x"}, REMOTE_ADDR="203.0.113.7"
    )
    assert unknown.status_code == 200
    right = client.post(
        "/accounts/login/", {"username": "carol", "password": PASSWORD}, REMOTE_ADDR="203.0.113.7"
    )
    assert right.status_code == 302
    client.post("/accounts/logout/", REMOTE_ADDR="203.0.113.7")
    mine = AuditEntry.objects.filter(agency=agency_a, act__startswith="sign_").order_by("seq")
    assert [(e.act, e.outcome, e.actor) for e in mine] == [
        ("sign_in_failed", "failure", carol),
        ("sign_in", "success", carol),
        ("sign_out", "success", carol),
    ]
    assert all(e.address == "203.0.113.7" for e in mine)
    (stranger,) = AuditEntry.objects.filter(agency=None, act="sign_in_failed")
    assert (stranger.subject_ref, stranger.actor, stranger.chain) == (
        "nobody",
        None,
        "installation",
    )
    assert check_agency_chain(None) == []


def test_a_wrong_second_factor_is_an_entry(client, agency_a, carol, settings):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=carol, name="app", confirmed=True)
    client.force_login(carol)
    response = client.post("/accounts/mfa/verify/", {"token": "000000"})
    assert response.status_code == 400
    entry = AuditEntry.objects.get(act="second_factor_failed")
    assert (entry.actor, entry.outcome, entry.agency) == (carol, "failure", agency_a)


def test_admin_change_records_before_and_after(client, agency_a, adam, alice, hr_system):
    adam.is_staff = True
    adam.save(update_fields=["is_staff"])
    membership = Membership.objects.get(user=alice, role=Role.ISSO)
    client.force_login(adam)
    url = f"/admin/accounts/membership/{membership.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(
        url,
        {"user": alice.pk, "role": Role.ISSO, "systems": [hr_system.pk]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.filter(act="membership_change", actor=adam).get()
    assert entry.changes["systems"]["after"] == [hr_system.pk]
    assert entry.changes["systems"]["before"] != [hr_system.pk]
    assert entry.subject_id == str(membership.pk)


def test_ingest_token_revoked_in_the_admin(client, agency_a, adam):
    adam.is_staff = True
    adam.save(update_fields=["is_staff"])
    token, _ = IngestToken.issue(agency=agency_a, name="falco-old")
    client.force_login(adam)
    response = client.post(
        "/admin/accounts/ingesttoken/",
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(act="ingest_token_revoke")
    assert entry.actor == adam and entry.subject_id == str(token.pk)


def test_opening_an_evidence_page_is_an_audit_entry_and_no_custody_entry(
    client, ctx, agency_a, carol, media
):
    incident = incident_services.incident_open(ctx=ctx(carol, agency_a), title="Evidence")
    ev = evidence_services.evidence_upload(
        ctx=ctx(carol, agency_a),
        incident=incident,
        fileobj=io.BytesIO(b"line\n"),
        filename="e.log",
        kind="log",
    )
    client.force_login(carol)
    for _ in range(3):
        assert client.get(f"/evidence/{ev.pk}/").status_code == 200
    assert list(ev.custody.values_list("action", flat=True)) == ["upload"]
    assert AuditEntry.objects.filter(act="evidence_view", subject_id=str(ev.pk)).count() == 3
    download = client.get(f"/evidence/{ev.pk}/download/")
    b"".join(download.streaming_content)
    assert list(ev.custody.values_list("action", flat=True)) == ["upload", "download"]
    assert AuditEntry.objects.filter(act="evidence_download", subject_id=str(ev.pk)).count() == 1


def test_a_snapshot_taken_by_its_job_is_an_entry(
    agency_a, carol, web_system, django_capture_on_commit_callbacks
):
    from compliance.models import SnapshotJob

    incident = incident_services.incident_open(
        ctx=_ctx(carol, agency_a), title="Confirmed", systems=[web_system.pk]
    )
    incident_services.incident_transition(
        ctx=_ctx(carol, agency_a), incident=incident, transition="start_triage"
    )
    with django_capture_on_commit_callbacks(execute=True):
        incident_services.incident_transition(
            ctx=_ctx(carol, agency_a), incident=incident, transition="confirm"
        )
    assert SnapshotJob.objects.filter(incident=incident).exists()
    entry = AuditEntry.objects.filter(act="snapshot_take", incident=incident).get()
    assert entry.outcome == "success"


def test_the_act_context_names_a_task(agency_a):
    with act_context(actor_label="task compliance.tasks.take_snapshot"):
        entry = record("snapshot_take", agency=agency_a, subject_type="x", subject_id=1)
    assert entry.actor_label == "task compliance.tasks.take_snapshot" and entry.actor is None


def _recorded_act_names() -> set[str]:
    """The act names the code records: the first argument of each ``record``-like call and
    the ``audit_acts`` of the admin classes."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    calls = {"record", "record_for", "record_refusal", "refusal_for"}
    names = set()
    for app in ("accounts", "audit", "compliance", "evidence", "incidents", "reporting"):
        for path in (root / app).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    func = node.func
                    name = getattr(func, "id", None) or getattr(func, "attr", None)
                    args = node.args
                    if name in calls and args:
                        first = args[1] if name in ("record_for", "refusal_for") else args[0]
                        if isinstance(first, ast.Constant) and isinstance(first.value, str):
                            names.add(first.value)
                        elif isinstance(first, ast.IfExp):
                            names.update(
                                b.value
                                for b in (first.body, first.orelse)
                                if isinstance(b, ast.Constant)
                            )
                        elif isinstance(first, (ast.Name, ast.BoolOp)):
                            continue  # forwarded: the trail's own, the admin's, require()'s
                        else:
                            names.add(f"<not a literal at {path.name}:{node.lineno}>")
                if isinstance(node, ast.Dict):
                    for value in node.values:
                        if isinstance(value, ast.Constant) and str(value.value).startswith(
                            ("membership_", "ingest_token_")
                        ):
                            names.add(value.value)
    return names


def test_every_recorded_act_and_every_permission_act_is_in_the_list():
    from accounts.permissions import ACTS as PERMISSION_ACTS

    recorded = _recorded_act_names()
    assert len(recorded) > 30  # the scan finds the calls
    assert recorded - set(ACTS) == set()
    assert set(PERMISSION_ACTS) - set(ACTS) == set()  # require() records refusals by them
    assert {"admin_add", "admin_change", "admin_delete"} <= set(ACTS)  # AgencyScopedAdmin
