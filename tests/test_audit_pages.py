"""The audit trail's pages and exports: ``/audit/`` for agency administrators and compliance
officers (auditors: the entries of their grants), an incident's entries, CSV and JSON lines
with the same filters; scoped, and every read or export itself an entry."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.context import context_for
from audit.models import AuditEntry
from core import ledger
from incidents import services as incident_services
from incidents.models import AuditorGrant

T0 = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, the night the clocks go back


@pytest.fixture
def world(agency_a, agency_b, carol, alice, bob, audrey, web_system, b_system):
    with time_machine.travel(T0, tick=False):
        granted = incident_services.incident_open(
            ctx=context_for(carol, agency_a), title="Granted breach", systems=[web_system.pk]
        )
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        other = incident_services.incident_open(
            ctx=context_for(alice, agency_a), title="=HYPERLINK(evil)", systems=[web_system.pk]
        )
        incident_services.incident_update(
            ctx=context_for(carol, agency_a), incident=other, changes={"summary": "Widened."}
        )
    theirs = incident_services.incident_open(
        ctx=context_for(bob, agency_b), title="Other agency's", systems=[b_system.pk]
    )
    AuditorGrant.objects.create(incident=granted, user=audrey)
    return {"granted": granted, "other": other, "theirs": theirs}


def _get(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


def test_compliance_officer_sees_the_agencys_entries_in_its_zone(client, carol, world):
    response = _get(client, carol, "/audit/")
    assert response.status_code == 200
    page = response.content.decode()
    assert world["granted"].number in page and world["other"].number in page
    assert world["theirs"].number not in page
    assert "2026-11-01 01:30 EDT (America/New_York)" in page
    assert "2026-11-01 01:30 EST (America/New_York)" in page  # the hour after, clocks back
    assert "Times in America/New_York" in page
    # The read is itself an entry, with the filters used.
    read = AuditEntry.objects.filter(act="read_audit", actor=carol).get()
    assert read.changes == {"filters": {}}


def test_filters_by_act_actor_outcome_subject_and_time(client, carol, alice, world):
    client.force_login(carol)
    by_act = client.get("/audit/", {"act": "incident_edit"}).context["rows"]
    assert [r["entry"].act for r in by_act] == ["incident_edit"]
    by_actor = client.get("/audit/", {"actor": "alice", "act": "incident_open"}).context["rows"]
    assert [r["entry"].subject_id for r in by_actor] == [str(world["other"].pk)]
    by_subject = client.get("/audit/", {"subject": world["granted"].number}).context["rows"]
    assert {r["entry"].incident_id for r in by_subject} == {world["granted"].pk}
    # Local wall times in the agency's zone: 01:30–01:59 EDT is only the first incident.
    timed = client.get(
        "/audit/",
        {"since": "2026-10-31T23:00", "until": "2026-11-01T00:59", "act": "incident_open"},
    ).context["rows"]
    assert timed == []
    failures = client.get("/audit/", {"outcome": "failure"}).context["rows"]
    assert all(r["entry"].outcome == "failure" for r in failures)
    bad = client.get("/audit/", {"since": "2026-11-02T10:00", "until": "2026-11-01T10:00"})
    assert bad.status_code == 400 and "“Until” is before “From”." in bad.content.decode()
    ambiguous = client.get("/audit/", {"since": "2026-11-01T01:30"})
    assert ambiguous.status_code == 400  # the clocks show 01:30 twice that night


def test_an_isso_may_not_read_the_trail(client, alice, world):
    response = _get(client, alice, "/audit/")
    assert response.status_code == 403
    assert "read the audit trail" in response.content.decode()
    assert _get(client, alice, "/audit/export.csv").status_code == 403


def test_outsider_and_ungranted_auditor_see_nothing_of_agency_a(
    client, bob, audrey, agency_a, world
):
    AuditorGrant.objects.filter(user=audrey).delete()
    for user in (bob, audrey):
        response = _get(client, user, "/audit/")
        page = response.content.decode()
        assert world["granted"].number not in page and world["other"].number not in page
        export = _get(client, user, "/audit/export.jsonl")
        body = b"".join(export.streaming_content).decode()
        assert world["granted"].number not in body and world["other"].number not in body
    bobs = _get(client, bob, "/audit/").context["rows"]
    assert {r["entry"].agency_id for r in bobs} <= {world["theirs"].agency_id}
    assert _get(client, audrey, "/audit/").context["rows"] == []
    # An incident's page of entries is not found for them.
    for user in (bob, audrey):
        url = f"/incidents/{world['granted'].number}/audit/"
        assert _get(client, user, url).status_code == 404


def test_a_granted_auditor_sees_only_its_incidents_entries(client, audrey, world):
    rows = _get(client, audrey, "/audit/").context["rows"]
    assert rows and {r["entry"].incident_id for r in rows} == {world["granted"].pk}
    page = _get(client, audrey, f"/incidents/{world['granted'].number}/audit/")
    assert page.status_code == 200
    assert {r["entry"].incident_id for r in page.context["rows"]} == {world["granted"].pk}
    assert _get(client, audrey, f"/incidents/{world['other'].number}/audit/").status_code == 404


def test_incident_page_links_its_trail_for_readers_only(client, carol, alice, world):
    number = world["granted"].number
    assert (
        f"/incidents/{number}/audit/"
        in _get(client, carol, f"/incidents/{number}/").content.decode()
    )
    assert (
        f"/incidents/{number}/audit/"
        not in _get(client, alice, f"/incidents/{number}/").content.decode()
    )


def test_csv_export_streams_the_filtered_entries(client, adam, world):
    response = _get(client, adam, "/audit/export.csv", act="incident_open")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="audit-FTA-' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["act"] for r in rows] == ["incident_open", "incident_open"]
    assert [r["incident_number"] for r in rows] == [world["granted"].number, world["other"].number]
    assert rows[0]["at"] == "2026-11-01T05:30:00.000000Z"
    assert rows[0]["at_local"] == "2026-11-01 01:30 EDT (America/New_York)"
    # A title that a spreadsheet would run is exported as text.
    assert json.loads(rows[1]["changes"])["title"]["after"] == "=HYPERLINK(evil)"
    assert all(not v.startswith("=") for r in rows for v in r.values())
    export = AuditEntry.objects.get(act="export_audit", actor=adam)
    assert export.changes == {"filters": {"act": "incident_open"}, "format": "csv"}


def test_jsonl_export_rows_recompute_their_hashes(client, carol, world):
    number = world["other"].number
    response = _get(client, carol, f"/incidents/{number}/audit/export.jsonl")
    assert response["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    # The export's own entry is about the incident too, written before the rows are read.
    assert [line["act"] for line in lines] == ["incident_open", "incident_edit", "export_audit"]
    assert lines[1]["changes"] == {"summary": {"before": "", "after": "Widened."}}
    for line in lines:
        extra = {"at_local", "incident_number", "prev_hash", "entry_hash"}
        fields = {k: v for k, v in line.items() if k not in extra}
        assert ledger.entry_hash(fields, line["prev_hash"]) == line["entry_hash"]


def test_export_refuses_invalid_filters_naming_them(client, carol, world):
    response = _get(client, carol, "/audit/export.csv", outcome="maybe")
    assert response.status_code == 400
    assert "outcome" in response.content.decode()
    assert not AuditEntry.objects.filter(act="export_audit").exists()
