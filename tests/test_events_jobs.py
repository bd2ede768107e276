"""Domain events (``core.events``) and durable jobs (``core.jobs``): a subscriber's refusal or
error rolls the act back; work that must not be lost is a row written in the act's
transaction, and when its broker message is lost the sweep finishes it."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from compliance import tasks as compliance_tasks
from compliance.models import ComplianceSnapshot, SnapshotJob
from core import events
from core.errors import Conflict, InvalidInput
from core.jobs import JobState, sweep_now
from evidence import services as evidence_services
from evidence import tasks as evidence_tasks
from incidents.models import CommandExtraction, ExtractionStatus, Incident
from incidents.services import incident_open, incident_transition

from .support.captures import fake_sysdig
from .support.data import shared_file


@pytest.fixture
def subscribed():
    """Subscribe a handler for the test only."""
    added = []

    def add(event_type, phase, handler):
        events.subscribe(event_type, phase=phase)(handler)
        added.append((event_type, phase, handler))

    yield add
    for event_type, phase, handler in added:
        events.unsubscribe(event_type, phase=phase, handler=handler)


def test_an_in_transaction_subscriber_error_rolls_the_act_back(alice, agency_a, ctx, subscribed):
    def refuse(event):
        raise InvalidInput("the clocks could not be started")

    subscribed(events.IncidentOpened, events.Phase.IN_TRANSACTION, refuse)
    with pytest.raises(InvalidInput, match="clocks could not be started"):
        incident_open(ctx=ctx(alice, agency_a), title="Never stored")
    assert not Incident.objects.filter(title="Never stored").exists()


def test_a_guard_refuses_before_the_act(open_incident, alice, agency_a, ctx, subscribed):
    incident = open_incident(now=timezone.now() - timedelta(hours=1))
    seen = []

    def guard(event):
        seen.append((event.transition, event.incident.state))
        raise Conflict("not today")

    subscribed(events.IncidentTransitioning, events.Phase.GUARD, guard)
    with pytest.raises(Conflict, match="not today"):
        incident_transition(ctx=ctx(alice, agency_a), incident=incident, transition="start_triage")
    incident.refresh_from_db()
    assert seen == [("start_triage", "detected")] and incident.state == "detected"


def test_on_commit_subscribers_run_after_commit_and_never_undo_the_act(
    open_incident, alice, agency_a, ctx, subscribed, django_capture_on_commit_callbacks
):
    incident = open_incident(now=timezone.now() - timedelta(hours=1))
    ran = []

    def after(event):
        ran.append(event.to_state)
        raise RuntimeError("mail server down")

    subscribed(events.IncidentTransitioned, events.Phase.ON_COMMIT, after)
    with django_capture_on_commit_callbacks(execute=True):
        incident_transition(ctx=ctx(alice, agency_a), incident=incident, transition="start_triage")
        assert ran == []  # not before the commit
    incident.refresh_from_db()
    assert ran == ["triage"] and incident.state == "triage"


def test_a_lost_snapshot_message_is_finished_by_the_sweep(
    open_incident, alice, agency_a, ctx, monkeypatch, django_capture_on_commit_callbacks
):
    incident = open_incident(now=timezone.now() - timedelta(hours=1))
    c = ctx(alice, agency_a)
    confirmed_at = timezone.now()
    incident_transition(ctx=c, incident=incident, transition="start_triage", now=confirmed_at)
    with monkeypatch.context() as broker:
        broker.setattr(compliance_tasks.take_snapshot, "delay", lambda *a, **k: None)
        with django_capture_on_commit_callbacks(execute=True):
            incident_transition(ctx=c, incident=incident, transition="confirm", now=confirmed_at)
    job = SnapshotJob.objects.get(incident=incident)
    assert (job.state, job.requested_by, job.requested_at) == (
        JobState.QUEUED,
        alice,
        confirmed_at,
    )
    assert not ComplianceSnapshot.objects.exists()  # the message was lost
    # Not yet stale: the sweep leaves it alone.
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_now(confirmed_at + timedelta(minutes=1))["compliance.snapshots"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_now(confirmed_at + timedelta(minutes=10))["compliance.snapshots"] == 1
    job.refresh_from_db()
    snap = ComplianceSnapshot.objects.get(incident=incident)
    assert (job.state, job.snapshot, job.attempts) == (JobState.DONE, snap, 1)
    # Taken as known at the confirmation, by the person who confirmed.
    assert (snap.reason, snap.taken_by, snap.taken_at) == ("confirmed", alice, confirmed_at)
    # Run again (a duplicated message): nothing more.
    compliance_tasks.take_snapshot(job.pk)
    assert ComplianceSnapshot.objects.filter(incident=incident).count() == 1


def test_a_lost_decoding_message_is_finished_by_the_sweep(
    open_incident,
    alice,
    agency_a,
    ctx,
    monkeypatch,
    settings,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DOCKET_SYSDIG_BINARY = fake_sysdig(
        tmp_path, '[ "$1" = "--version" ] && echo "sysdig version 0.29.3"\nexit 0'
    )
    incident = open_incident(now=timezone.now() - timedelta(hours=1))
    uploaded_at = timezone.now()
    with monkeypatch.context() as broker:
        broker.setattr(evidence_tasks.extract_capture_commands, "delay", lambda *a, **k: None)
        with django_capture_on_commit_callbacks(execute=True):
            ev = evidence_services.evidence_upload(
                ctx=ctx(alice, agency_a),
                incident=incident,
                fileobj=io.BytesIO(shared_file("scap", "curl_google.scap").read_bytes()),
                filename="curl_google.scap",
                kind="scap",
                now=uploaded_at,
            )
    extraction = CommandExtraction.objects.get(evidence=ev)
    assert (extraction.status, extraction.runs) == (ExtractionStatus.PENDING, 0)
    assert extraction.queued_at == uploaded_at
    # The broker is back; the sweep queues the stale job again and the worker runs it.
    with django_capture_on_commit_callbacks(execute=True):
        swept = sweep_now(uploaded_at + timedelta(minutes=10))
    assert swept["evidence.command_extraction"] == 1
    extraction.refresh_from_db()
    assert (extraction.status, extraction.runs) == (ExtractionStatus.SUCCEEDED, 1), extraction.error
    assert CommandExtraction.objects.filter(evidence=ev).count() == 1
