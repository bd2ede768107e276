"""The triage pages: the queue of incident candidates and a candidate's detail, where an ISSO or
compliance officer promotes, attaches or dismisses it."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse as _reverse

from accounts.context import context_for
from incidents import falco
from incidents.ingest import alerts_store, candidate_promote, detections_group
from incidents.models import AuditorGrant, CandidateStatus, Incident, IncidentCandidate

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def reverse(name, args=()):
    return _reverse(name, args=args, urlconf="incidents.urls")


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _alert(*, time="2026-03-10T14:00:00.123456789Z", pod="store-1", rule=None, cmd="bash"):
    return {
        "rule": rule or "Terminal shell in container",
        "priority": "Notice",
        "time": time,
        "hostname": "node-1",
        "source": "syscall",
        "output": f"A shell was spawned in {pod} ({cmd})",
        "tags": ["container", "mitre_execution"],
        "output_fields": {
            "container.id": "abc123",
            "k8s.pod.name": pod,
            "k8s.ns.name": "store",
            "proc.cmdline": cmd,
            "user.name": "www-data",
        },
    }


def _ingest(agency, alerts):
    items = [falco.Item(index=i, value=a) for i, a in enumerate(alerts)]
    result = alerts_store(agency=agency, items=items, now=NOW)
    assert result.accepted == len(alerts), result.as_dict()
    detections_group(agency_id=agency.pk, now=NOW)


@pytest.fixture
def candidate(agency_a):
    _ingest(
        agency_a,
        [
            _alert(time="2026-03-10T14:02:00Z", cmd="bash -i"),
            _alert(time="2026-03-10T14:00:00.123456789Z"),
            _alert(time="2026-03-10T14:05:00Z", rule="Read sensitive file untrusted"),
        ],
    )
    return IncidentCandidate.objects.get(agency=agency_a)


def _text(response):
    return response.content.decode()


def test_queue_lists_open_candidates_with_local_times_and_rules(client, carol, candidate):
    client.force_login(carol)
    response = client.get(reverse("triage-queue"))
    assert response.status_code == 200
    body = _text(response)
    assert reverse("candidate-detail", [candidate.pk]) in body
    assert "pod:store/store-1" in body or candidate.group_key in body
    assert "Unattributed" in body
    # 14:00 UTC = 10:00 EDT (DST began 2026-03-08); the zone is printed.
    assert "2026-03-10 10:00 EDT (America/New_York)" in body
    assert "2026-03-10 10:05 EDT (America/New_York)" in body
    assert "Terminal shell in container (2)" in body
    assert "Read sensitive file untrusted (1)" in body
    assert "<strong>3</strong> detections matched no system" in body


def test_other_agency_sees_nothing_and_gets_404(client, bob, candidate):
    client.force_login(bob)
    response = client.get(reverse("triage-queue"))
    assert response.status_code == 200
    assert reverse("candidate-detail", [candidate.pk]) not in _text(response)
    assert client.get(reverse("candidate-detail", [candidate.pk])).status_code == 404
    post = client.post(
        reverse("candidate-detail", [candidate.pk]), {"action": "dismiss", "reason": "noise"}
    )
    assert post.status_code == 404
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.OPEN


def test_detail_shows_detections(client, carol, candidate):
    client.force_login(carol)
    response = client.get(reverse("candidate-detail", [candidate.pk]))
    assert response.status_code == 200
    body = _text(response)
    assert "2026-03-10 10:00 EDT (America/New_York)" in body
    assert "Terminal shell in container" in body and "Notice" in body
    assert "store/store-1" in body and "abc123" in body
    assert "bash -i" in body and "www-data" in body
    assert 'name="title"' in body and 'name="reason"' in body


def test_promote_opens_incident_detected_at_earliest_detection(client, carol, candidate):
    client.force_login(carol)
    response = client.post(
        reverse("candidate-detail", [candidate.pk]),
        {"action": "promote", "title": "Shell in store-1"},
    )
    incident = Incident.objects.get(title="Shell in store-1")
    assert response.status_code == 302
    assert response["Location"] == reverse("incident-detail", [incident.number])
    assert incident.first_detected_at == datetime(2026, 3, 10, 14, 0, 0, 123456, tzinfo=UTC)
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.PROMOTED and candidate.incident == incident
    followed = client.get(response["Location"])
    assert f"Incident {incident.number} opened" in _text(followed)


def test_promote_without_title_is_refused(client, carol, candidate):
    client.force_login(carol)
    response = client.post(
        reverse("candidate-detail", [candidate.pk]), {"action": "promote", "title": " "}
    )
    assert response.status_code == 400
    assert "An incident needs a title." in _text(response)
    assert not Incident.objects.exists()


def test_attach_to_existing_incident(client, carol, candidate, open_incident):
    incident = open_incident(now=NOW - timedelta(hours=1))
    client.force_login(carol)
    detail = client.get(reverse("candidate-detail", [candidate.pk]))
    assert f'<option value="{incident.number}"' in _text(detail)
    response = client.post(
        reverse("candidate-detail", [candidate.pk]),
        {"action": "attach", "incident": incident.number},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("incident-detail", [incident.number])
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.ATTACHED and candidate.incident == incident


def test_attach_to_unknown_incident_is_refused(client, carol, candidate):
    client.force_login(carol)
    response = client.post(
        reverse("candidate-detail", [candidate.pk]),
        {"action": "attach", "incident": "FTA-2026-9999"},
    )
    assert response.status_code == 400
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.OPEN


def test_dismiss_needs_a_reason(client, carol, candidate):
    client.force_login(carol)
    url = reverse("candidate-detail", [candidate.pk])
    empty = client.post(url, {"action": "dismiss", "reason": "  "})
    assert empty.status_code == 400
    assert "Dismissing a candidate needs a reason." in _text(empty)
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.OPEN and candidate.dismissed_reason == ""

    response = client.post(url, {"action": "dismiss", "reason": "Scheduled maintenance shell"})
    assert response.status_code == 302
    assert response["Location"] == reverse("triage-queue")
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.DISMISSED
    assert candidate.dismissed_reason == "Scheduled maintenance shell"
    queue = client.get(response["Location"])
    assert "Candidate dismissed." in _text(queue)
    assert url not in _text(queue)


def test_auditor_is_refused(client, audrey, carol, agency_a, candidate):
    # An auditor reads a candidate only once it became an incident granted to her.
    incident = candidate_promote(
        ctx=context_for(carol, agency_a), candidate=candidate, title="Shell", now=NOW
    )
    AuditorGrant.objects.create(incident=incident, user=audrey)
    client.force_login(audrey)
    assert client.get(reverse("candidate-detail", [candidate.pk])).status_code == 200
    response = client.post(
        reverse("candidate-detail", [candidate.pk]), {"action": "dismiss", "reason": "noise"}
    )
    assert response.status_code == 403
    assert "may dismiss a candidate" in _text(response)
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.PROMOTED


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_queue_query_count_is_constant(client, carol, agency_a, candidate):
    client.force_login(carol)
    url = reverse("triage-queue")
    one = _queries(client, url)
    _ingest(agency_a, [_alert(pod=f"store-{n}", cmd=f"sh {n}") for n in range(2, 6)])
    assert IncidentCandidate.objects.filter(agency=agency_a).count() == 5
    assert _queries(client, url) == one


def test_detail_query_count_is_constant(client, carol, agency_a, candidate):
    client.force_login(carol)
    url = reverse("candidate-detail", [candidate.pk])
    before = _queries(client, url)
    _ingest(agency_a, [_alert(time=f"2026-03-10T14:0{n}:30Z", cmd=f"sh {n}") for n in range(5)])
    assert _queries(client, url) == before
