"""The submit and waive pages of an obligation: what a compliance officer and an approving
official post from the incident page, and what they see when a post is refused."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents.models import IncidentEvent
from reporting.models import Obligation, Submission

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # 09:00 EST, the Monday after DST ended


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def cisa(open_incident):
    incident = open_incident(now=NOW - timedelta(minutes=30))
    return Obligation.objects.get(incident=incident, rule__key="cisa-initial")


def test_compliance_officer_records_a_submission_from_the_page(client, carol, cisa):
    client.force_login(carol)
    response = client.post(
        f"/obligations/{cisa.pk}/submit/",
        {"channel": "cisa_portal", "submitted_at": "2026-11-02 08:50", "reference": "CISA-1"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/incidents/{cisa.incident.number}/"
    sub = Submission.objects.get(obligation=cisa)
    assert sub.submitted_at == datetime(2026, 11, 2, 13, 50, tzinfo=UTC)  # 08:50 EST
    assert sub.reference == "CISA-1"
    body = response.content.decode()
    assert "submission sent 2026-11-02 08:50 EST (America/New_York) recorded (met on time)" in body


def test_an_unreadable_sent_at_time_shows_the_form_again_and_records_nothing(client, carol, cisa):
    client.force_login(carol)
    response = client.post(
        f"/obligations/{cisa.pk}/submit/", {"channel": "email", "submitted_at": "yesterday"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "The submission was not recorded." in body
    assert "Enter the date and time as YYYY-MM-DD HH:MM" in body
    assert not Submission.objects.exists()


def test_a_future_sent_at_time_is_refused_by_the_service_on_its_field(client, carol, cisa):
    client.force_login(carol)
    response = client.post(
        f"/obligations/{cisa.pk}/submit/", {"channel": "email", "submitted_at": "2026-11-02 10:00"}
    )
    assert response.status_code == 400
    assert "The submission was not recorded:" in response.content.decode()
    assert not Submission.objects.exists()


def test_only_an_approving_official_waives_and_the_reason_is_logged(client, carol, olivia, cisa):
    client.force_login(carol)
    refused = client.post(f"/obligations/{cisa.pk}/waive/", {"reason": "Briefed in person"})
    assert refused.status_code == 403
    assert "The obligation was not waived:" in refused.content.decode()
    cisa.refresh_from_db()
    assert cisa.waived_at is None

    client.force_login(olivia)
    blank = client.post(f"/obligations/{cisa.pk}/waive/", {"reason": "   "})
    assert blank.status_code == 400
    assert "The obligation was not waived. Reason for the waiver: This field is required." in (
        blank.content.decode()
    )

    done = client.post(
        f"/obligations/{cisa.pk}/waive/", {"reason": "Briefed in person"}, follow=True
    )
    assert f"CISA incident notification for {cisa.incident.number} was waived." in (
        done.content.decode()
    )
    cisa.refresh_from_db()
    assert cisa.waived_at == NOW
    assert IncidentEvent.objects.filter(
        incident=cisa.incident, note__contains="Briefed in person"
    ).exists()


def test_another_agency_cannot_reach_the_forms(client, bob, cisa):
    client.force_login(bob)
    assert client.get(f"/obligations/{cisa.pk}/submit/").status_code == 404
    assert client.post(f"/obligations/{cisa.pk}/waive/", {"reason": "x"}).status_code == 404
    assert not Submission.objects.exists()
