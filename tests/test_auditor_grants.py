"""Time-boxed auditor grants: an auditor reads a granted incident only inside the grant's
window (from, until). Before it and after it, the incident, its evidence and its API answer
404 to that auditor as if it did not exist; the expiry is written to the audit trail once."""

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from audit.models import AuditEntry
from core.errors import InvalidInput
from evidence import services as evidence_services
from incidents.models import AuditorGrant, EventKind, IncidentEvent
from incidents.services import auditor_grant, grants_record_expiries

from .support.data import shared_file

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # 09:00 EST, the Monday after DST ended


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def incident(open_incident):
    return open_incident(now=NOW - timedelta(hours=3))


@pytest.fixture
def stored(ctx, alice, agency_a, incident):
    return evidence_services.evidence_upload(
        ctx=ctx(alice, agency_a),
        incident=incident,
        fileobj=io.BytesIO(shared_file("scap", "curl_google.scap").read_bytes()),
        filename="curl_google.scap",
        kind="scap",
        now=NOW - timedelta(hours=1),
    )


def _reads(client, api_client, incident, stored):
    """The status of each of the auditor's reads of the incident."""
    return {
        "incident page": client.get(f"/incidents/{incident.number}/").status_code,
        "evidence list": client.get(f"/incidents/{incident.number}/evidence/").status_code,
        "evidence item": client.get(f"/evidence/{stored.pk}/").status_code,
        "api incident": api_client.get(f"/api/v1/incidents/{incident.number}/").status_code,
        "api evidence": api_client.get(
            f"/api/v1/incidents/{incident.number}/evidence/"
        ).status_code,
    }


def test_an_expired_grant_answers_404_everywhere(
    client, api, ctx, adam, agency_a, audrey, incident, stored, clock
):
    auditor_grant(
        ctx=ctx(adam, agency_a),
        incident=incident,
        user=audrey,
        valid_until=NOW + timedelta(days=2),
    )
    client.force_login(audrey)
    assert set(_reads(client, api(audrey), incident, stored).values()) == {200}

    clock.move_to(NOW + timedelta(days=2, seconds=1))
    client.force_login(audrey)  # a new session: the old one has timed out
    assert set(_reads(client, api(audrey), incident, stored).values()) == {404}
    # Not in her lists either.
    assert incident.number not in client.get("/incidents/").content.decode()
    assert api(audrey).get("/api/v1/incidents/").json()["count"] == 0


def test_a_grant_not_yet_valid_answers_404_until_it_starts(
    client, api, ctx, olivia, agency_a, audrey, incident, stored, clock
):
    auditor_grant(
        ctx=ctx(olivia, agency_a),
        incident=incident,
        user=audrey,
        valid_from=NOW + timedelta(days=1),
        valid_until=NOW + timedelta(days=8),
    )
    client.force_login(audrey)
    assert set(_reads(client, api(audrey), incident, stored).values()) == {404}
    clock.move_to(NOW + timedelta(days=1))
    client.force_login(audrey)  # a new session: the old one has timed out
    assert set(_reads(client, api(audrey), incident, stored).values()) == {200}


def test_the_default_window_and_its_limits(ctx, adam, agency_a, audrey, incident, settings):
    grant = auditor_grant(ctx=ctx(adam, agency_a), incident=incident, user=audrey)
    assert grant.valid_from == NOW
    assert grant.valid_until == NOW + timedelta(days=settings.DOCKET_AUDITOR_GRANT_DEFAULT_DAYS)
    event = IncidentEvent.objects.filter(incident=incident, kind=EventKind.GRANT).last()
    assert "until 2026-12-02 09:00 EST (America/New_York)" in event.note

    cases = {
        "end after it starts": {"valid_from": NOW, "valid_until": NOW - timedelta(minutes=1)},
        "end in the future": {
            "valid_from": NOW - timedelta(days=3),
            "valid_until": NOW - timedelta(days=1),
        },
        f"at most {settings.DOCKET_AUDITOR_GRANT_MAX_DAYS} days": {
            "valid_until": NOW + timedelta(days=settings.DOCKET_AUDITOR_GRANT_MAX_DAYS + 1)
        },
    }
    for words, window in cases.items():
        with pytest.raises(InvalidInput, match=words) as caught:
            auditor_grant(ctx=ctx(adam, agency_a), incident=incident, user=audrey, **window)
        assert caught.value.extra["field"] == "valid_until"
    grant.refresh_from_db()
    assert grant.valid_until == NOW + timedelta(days=settings.DOCKET_AUDITOR_GRANT_DEFAULT_DAYS)


def test_the_expiry_is_an_audit_entry_once_and_a_renewal_restores_access(
    client, ctx, adam, agency_a, audrey, incident, clock
):
    auditor_grant(
        ctx=ctx(adam, agency_a), incident=incident, user=audrey, valid_until=NOW + timedelta(days=1)
    )
    assert grants_record_expiries() == 0  # still in force
    clock.move_to(NOW + timedelta(days=1, minutes=5))
    assert grants_record_expiries() == 1
    assert grants_record_expiries() == 0
    entries = AuditEntry.objects.filter(act="auditor_grant_expired")
    assert entries.count() == 1
    entry = entries.get()
    assert entry.agency == agency_a and entry.incident_id == incident.pk
    assert entry.subject_ref == f"audrey on {incident.number}"
    assert "expired" in IncidentEvent.objects.filter(kind=EventKind.GRANT).last().note

    client.force_login(audrey)
    assert client.get(f"/incidents/{incident.number}/").status_code == 404
    auditor_grant(
        ctx=ctx(adam, agency_a), incident=incident, user=audrey, valid_until=NOW + timedelta(days=9)
    )
    assert client.get(f"/incidents/{incident.number}/").status_code == 200
    grant = AuditorGrant.objects.get(incident=incident, user=audrey)
    assert grant.expiry_recorded_at is None  # the renewed grant's expiry is recorded again


def test_the_admin_sets_the_window_in_the_agency_zone(client, adam, agency_a, audrey, incident):
    adam.is_staff = True
    adam.save(update_fields=["is_staff"])
    client.force_login(adam)
    url = reverse("admin:incidents_auditorgrant_add")
    form = {"incident": incident.pk, "user": audrey.pk}
    refused = client.post(
        url,
        {
            **form,
            "valid_from_0": "2026-11-02",
            "valid_from_1": "09:00",
            "valid_until_0": "2026-11-01",
            "valid_until_1": "09:00",
        },
    )
    assert refused.status_code == 200
    assert "A grant must end after it starts" in refused.content.decode()
    assert not AuditorGrant.objects.exists()

    response = client.post(
        url,
        {
            **form,
            "valid_from_0": "2026-11-02",
            "valid_from_1": "09:00",
            "valid_until_0": "2026-11-16",
            "valid_until_1": "17:00",
        },
    )
    assert response.status_code == 302
    grant = AuditorGrant.objects.get()
    assert grant.valid_from == NOW  # 09:00 EST
    assert grant.valid_until == datetime(2026, 11, 16, 22, 0, tzinfo=UTC)  # 17:00 EST
    assert grant.granted_by == adam
