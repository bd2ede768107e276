"""Every time the API takes carries its zone (issue 12, defect 4). A time sent without an
offset used to be stored as UTC without a word: a Guam determination at 23:59 local made the
Congress deadline a day late, and a wall time that a DST night skips was accepted. Now each is
a 400 naming the field and saying what to send, in bodies, multipart fields and query
parameters alike, as the pages and the compliance API already did."""

from __future__ import annotations

import importlib
import io
import pkgutil
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework import serializers

from accounts.api import AwareDateTimeField
from incidents.models import Incident
from reporting.models import Obligation

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
ZONE = "Needs a time zone"
# 02:30 on 8 March 2026 does not exist in New York (clocks jump from 02:00 to 03:00).
SKIPPED = "2026-03-08T02:30:00"


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


# --- every serializer ---------------------------------------------------------------------------


def _api_serializers():
    for app in ("accounts", "compliance", "evidence", "incidents", "reporting"):
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".api" in info.name or info.name.endswith(".api"):
                importlib.import_module(info.name)
    seen, todo = set(), [serializers.Serializer]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    apps = ("accounts.", "compliance.", "evidence.", "incidents.", "reporting.")
    return sorted((c for c in seen if c.__module__.startswith(apps)), key=lambda c: c.__qualname__)


def _writable_times(serializer, path=""):
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        where = f"{path}{name}"
        if isinstance(field, serializers.ListSerializer):
            field = field.child
        if isinstance(field, serializers.Serializer):
            yield from _writable_times(field, f"{where}.")
        elif isinstance(field, serializers.ListField | serializers.DictField):
            if isinstance(field.child, serializers.DateTimeField):
                yield where, field.child
        elif isinstance(field, serializers.DateTimeField):
            yield where, field


def test_every_time_an_api_serializer_takes_needs_its_zone():
    found = {}
    for cls in _api_serializers():
        for where, field in _writable_times(cls()):
            found[f"{cls.__module__}.{cls.__qualname__}.{where}"] = field
    # The walk sees the times it must: a new serializer taking a time is checked too.
    assert any(k.endswith("IncidentSerializer.identified_at") for k in found)
    assert any(k.endswith("IncidentSerializer.first_detected_at") for k in found)
    assert any(k.endswith("UploadParamsSerializer.collected_at") for k in found)
    naive_ok = [k for k, f in found.items() if not isinstance(f, AwareDateTimeField)]
    assert naive_ok == []


# --- through the endpoints ---------------------------------------------------------------------


def _refused(response, field):
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert ZONE in " ".join(body[field]), body


@pytest.mark.parametrize("field", ["identified_at", "first_detected_at", "occurred_at"])
@pytest.mark.parametrize("value", ["2026-11-02T09:00:00", SKIPPED, "2026-11-02"])
def test_opening_an_incident_with_a_time_without_zone_is_refused(api, alice, field, value):
    response = api(alice).post(
        "/api/v1/incidents/", {"title": "Shell", field: value}, format="json"
    )
    _refused(response, field)
    assert not Incident.objects.exists()


def test_the_same_time_with_its_offset_is_taken_exactly(api, alice):
    response = api(alice).post(
        "/api/v1/incidents/",
        {"title": "Shell", "identified_at": "2026-03-08T03:30:00-04:00"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert Incident.objects.get().identified_at == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_editing_an_incident_with_a_time_without_zone_is_refused(api, alice, open_incident):
    incident = open_incident(now=NOW - timedelta(hours=1))
    response = api(alice).patch(
        f"/api/v1/incidents/{incident.number}/",
        {"identified_at": "2026-11-02T08:30:00"},
        format="json",
    )
    _refused(response, "identified_at")
    incident.refresh_from_db()
    assert incident.identified_at == NOW - timedelta(hours=1)


@pytest.mark.parametrize("field", ["basis_at", "breach_discovered_at"])
def test_a_determination_at_local_midnight_without_zone_is_refused(
    api, olivia, open_incident, field
):
    incident = open_incident(now=NOW - timedelta(hours=2))
    body = {"decision": "major", "rationale": "Rootkit", "breach": True}
    body[field] = "2026-11-02T08:59:00"
    response = api(olivia).post(
        f"/api/v1/incidents/{incident.number}/determinations/", body, format="json"
    )
    _refused(response, field)
    assert not incident.determinations.exists()
    assert not Obligation.objects.filter(incident=incident, rule__key="congress-7-day").exists()


def test_a_submission_time_without_zone_is_refused(api, carol, open_incident):
    incident = open_incident(now=NOW - timedelta(minutes=30))
    cisa = Obligation.objects.get(incident=incident)
    response = api(carol).post(
        f"/api/v1/obligations/{cisa.pk}/submissions/",
        {"channel": "email", "submitted_at": "2026-11-02T08:45:00"},
        format="json",
    )
    _refused(response, "submitted_at")
    assert not cisa.submissions.exists()


def test_evidence_collected_at_without_zone_is_refused_on_both_upload_paths(
    api, alice, open_incident, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    incident = open_incident(now=NOW - timedelta(hours=1))
    client = api(alice)
    upload = io.BytesIO(b"one line of log\n")
    upload.name = "app.log"
    multipart = client.post(
        f"/api/v1/incidents/{incident.number}/evidence/",
        {"file": upload, "kind": "log", "collected_at": "2026-11-02T08:00:00"},
        format="multipart",
    )
    _refused(multipart, "collected_at")
    raw = client.put(
        f"/api/v1/incidents/{incident.number}/evidence/raw"
        "?filename=app.log&kind=log&collected_at=2026-11-02T08:00:00",
        data=b"one line of log\n",
        content_type="application/octet-stream",
    )
    _refused(raw, "collected_at")
    assert not incident.evidence.exists()


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/incidents/?identified_after=2026-11-02T00:00:00", "identified_after"),
        ("/api/v1/incidents/?identified_before=2026-11-02", "identified_before"),
        ("/api/v1/obligations/?due_before=2026-11-09T23:59:00", "due_before"),
        ("/api/v1/obligations/?due_after=2026-11-09T23:59:00", "due_after"),
    ],
)
def test_time_filters_without_zone_are_refused(api, carol, url, field):
    _refused(api(carol).get(url), field)


def test_time_filters_with_an_offset_work_even_unencoded(api, carol, open_incident):
    open_incident(now=NOW - timedelta(hours=1))
    client = api(carol)
    # "+00:00" unencoded in a query string arrives as " 00:00".
    assert (
        client.get("/api/v1/incidents/?identified_after=2026-11-02T12:00:00+00:00").json()["count"]
        == 1
    )
    assert (
        client.get("/api/v1/incidents/?identified_after=2026-11-02T13:30:00Z").json()["count"] == 0
    )


def test_an_impossible_date_is_invalid_not_an_error(api, alice):
    response = api(alice).post(
        "/api/v1/incidents/",
        {"title": "Shell", "identified_at": "2026-02-30T10:00:00"},
        format="json",
    )
    assert response.status_code == 400
    assert "identified_at" in response.json()


def test_an_impossible_date_in_a_compliance_time_is_invalid_not_an_error(api, carol, web_system):
    client = api(carol)
    client.raise_request_exception = False
    response = client.post(
        "/api/v1/risk-assessments/",
        {"system": web_system.pk, "conducted_at": "2026-02-30T10:00:00"},
        format="json",
    )
    assert response.status_code == 400
    assert "conducted_at" in response.json()


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2026-11-02T08:00:00", "ISO 8601 with a UTC offset"),
        ("2026-02-30T10:00:00Z", "is not a date and time"),
        ("2026-03-08 02:30 America/New_York", "does not exist"),
    ],
)
def test_the_upload_command_refuses_a_zoneless_or_impossible_collection_time(
    alice, open_incident, tmp_path, settings, value, words
):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    settings.MEDIA_ROOT = tmp_path / "media"
    incident = open_incident(now=NOW - timedelta(hours=1))
    path = tmp_path / "app.log"
    path.write_bytes(b"one line of log\n")
    with pytest.raises(CommandError, match=words):
        call_command(
            "upload_evidence",
            incident.number,
            str(path),
            kind="log",
            user="alice",
            collected_at=value,
        )
    assert not incident.evidence.exists()


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2026-03-08 02:30 America/New_York", "does not exist in America/New_York"),
        ("2026-11-01 01:30 America/New_York", "happened twice in America/New_York"),
        ("2026-11-02 08:00 Mars/Olympus_Mons", "unknown time zone"),
        ("2026-11-02T08:00:00-05:00 America/New_York", "gives both an offset and a zone"),
    ],
)
def test_a_zone_named_wall_time_that_dst_skips_or_repeats_is_refused(api, alice, value, words):
    response = api(alice).post(
        "/api/v1/incidents/", {"title": "Shell", "identified_at": value}, format="json"
    )
    assert response.status_code == 400
    assert words in " ".join(response.json()["identified_at"])
    assert not Incident.objects.exists()


def test_a_guam_determination_given_with_its_zone_is_exact(api, olivia, open_incident):
    incident = open_incident(now=NOW - timedelta(hours=2))
    response = api(olivia).post(
        f"/api/v1/incidents/{incident.number}/determinations/",
        {"decision": "major", "rationale": "Rootkit", "basis_at": "2026-11-02 23:59 Pacific/Guam"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert incident.determinations.get().basis_at == datetime(2026, 11, 2, 13, 59, tzinfo=UTC)


def test_time_filters_take_a_zone_name_too(api, carol, open_incident):
    open_incident(now=NOW - timedelta(hours=1))  # 08:00 EST
    client = api(carol)
    url = "/api/v1/incidents/?identified_after=2026-11-02 07:30 America/New_York"
    assert client.get(url).json()["count"] == 1
    skipped = client.get("/api/v1/obligations/?due_before=2026-03-08 02:30 America/New_York")
    assert skipped.status_code == 400
    assert "does not exist" in " ".join(skipped.json()["due_before"])
