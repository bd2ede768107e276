"""Error messages name a field as a person reads it ("Submitted at"), never by its code name
("submitted_at"); the API keeps the code name in its ``field`` key for programs."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from accounts.labels import field_label, first_error
from core.errors import InvalidInput
from evidence.services import evidence_upload
from incidents.models import Incident
from incidents.services import additional_information_record, incident_open
from reporting.models import Obligation
from reporting.services import submission_record

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 15, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
CODE_NAME = re.compile(r"\b[a-z]+_[a-z_]+\b")  # submitted_at, first_detected_at, …


def _refusal(call) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        call()
    return caught.value


@pytest.fixture
def incident(open_incident):
    return open_incident(now=NOW - timedelta(minutes=30))


@pytest.mark.parametrize(
    ("name", "label", "refuse"),
    [
        (
            "submitted_at",
            "Submitted at",
            lambda ctx, incident: submission_record(
                ctx=ctx,
                obligation=Obligation.objects.get(incident=incident, rule__key="cisa-initial"),
                submitted_at=LATER,
                channel="cisa_portal",
                now=NOW,
            ),
        ),
        (
            "identified_at",
            "Identified at",
            lambda ctx, incident: incident_open(
                ctx=ctx, title="Later", identified_at=LATER, now=NOW
            ),
        ),
        (
            "recorded_at",
            "Recorded at",
            lambda ctx, incident: additional_information_record(
                ctx=ctx, incident=incident, summary="More.", recorded_at=LATER, now=NOW
            ),
        ),
        (
            "collected_at",
            "Collected at",
            lambda ctx, incident: evidence_upload(
                ctx=ctx,
                incident=incident,
                fileobj=io.BytesIO(b"log line\n"),
                filename="app.log",
                kind="log",
                collected_at=LATER,
                now=NOW,
            ),
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_future_time_is_refused_by_its_label(ctx, alice, agency_a, incident, name, label, refuse):
    error = _refusal(lambda: refuse(ctx(alice, agency_a), incident))
    assert error.message == f"{label} cannot be in the future."
    assert not CODE_NAME.search(error.message), error.message
    assert error.extra["field"] == name


def test_the_api_keeps_the_code_name_as_its_field_key(api, alice, incident):
    ob = Obligation.objects.get(incident=incident, rule__key="cisa-initial")
    response = api(alice).post(
        f"/api/v1/obligations/{ob.pk}/submissions/",
        {"channel": "cisa_portal", "submitted_at": "2999-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert response.json() == {
        "detail": "Submitted at cannot be in the future.",
        "field": "submitted_at",
    }


def test_model_validation_errors_lead_with_the_label():
    exc = ValidationError({"first_detected_at": ["Enter a valid date/time."]})
    assert first_error(Incident, exc) == (
        "first_detected_at",
        "First detected at: Enter a valid date/time.",
    )
    whole = ValidationError({"__all__": ["Expiry is before the date."]})
    assert first_error(Incident, whole) == ("__all__", "Expiry is before the date.")
    assert field_label(Incident, "not_a_field") == "Not a field"
