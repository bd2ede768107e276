"""What keeps Falco ingestion fast (``bench/ingest.py`` measures it): a constant number of
queries per request whatever the batch size (its audit entry included), the token, agency and
selectors read in one query, the batch written in one statement with exact accepted/duplicate
counts, and grouping messages coalesced per process and agency.

Alerts are built from the real rules (``tests.test_falco_normalise.rule_alert``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import IngestToken
from incidents import ingest
from incidents.api.ingest import _lookup
from incidents.ingest import agency_selectors
from incidents.models import Detection

from .support.alerts import POD, rule_alert

URL = "/api/v1/ingest/falco"
T0 = datetime(2026, 11, 2, 14, 0, 0, tzinfo=UTC)
RULES = ("Terminal shell in container", "Clear Log Activities", "Delete or rename shell history")


def alerts(n: int, *, start: int = 0) -> list[dict]:
    out = []
    for i in range(start, start + n):
        when = T0 + timedelta(milliseconds=i)
        stamp = f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond * 1000 + i % 1000:09d}Z"
        out.append(rule_alert(RULES[i % 3], time=stamp, container=POD))
    return out


@pytest.fixture
def token(agency_a):
    return IngestToken.issue(agency=agency_a, name="falco-prod")[1]


@pytest.fixture
def send(client, token):
    def _send(body):
        return client.post(
            URL,
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    return _send


@pytest.mark.parametrize("size", [1, 40, 1000])
def test_a_batch_costs_two_queries_whatever_its_size(
    send, web_system, size, django_assert_num_queries
):
    web_system.image_repositories = ["registry.fta.gov/store/"]
    web_system.save()
    assert send(alerts(1, start=5000)).status_code == 200  # records the token's first use
    # The token with its agency and selectors; then the delivery's transaction (a savepoint
    # here, inside the test's): one INSERT for the whole batch and the delivery's one audit
    # entry (its chain's head locked and advanced, then the entry with the head's new hash).
    with django_assert_num_queries(1 + 2 + 1 + 2):
        response = send(alerts(size))
    assert response.json() == {"accepted": size, "duplicates": 0, "rejected": []}
    assert Detection.objects.filter(system=web_system).count() == size + 1


def test_a_redelivered_batch_is_counted_exactly_by_the_insert(send, agency_a):
    first = alerts(30)
    assert send(first).json()["accepted"] == 30
    again = [*first[10:], *alerts(5, start=30), first[0]]  # 21 known (one twice), 5 new
    assert send(again).json() == {"accepted": 5, "duplicates": 21, "rejected": []}
    assert Detection.objects.filter(agency=agency_a).count() == 35


def test_the_one_query_lookup_reads_what_the_orm_would(
    agency_a, agency_b, web_system, hr_system, b_system, token, django_assert_num_queries
):
    web_system.image_repositories = ["registry.fta.gov/store/"]
    web_system.save()
    hr_system.host_patterns = ["hr-*"]
    hr_system.k8s_namespaces = ["hr"]
    hr_system.save()
    b_system.host_patterns = ["*"]  # another agency's system: never among A's selectors
    b_system.save()
    with django_assert_num_queries(1):
        row = _lookup(token)
        assert row.agency.abbreviation == agency_a.abbreviation
        assert row.agency.tz == agency_a.tz
    orm = IngestToken.lookup(token)
    for field in IngestToken._meta.concrete_fields:
        assert getattr(row, field.attname) == getattr(orm, field.attname), field.name
    assert row.agency_selectors == agency_selectors(agency_a)
    assert {s.system_id for s in row.agency_selectors} == {web_system.pk, hr_system.pk}


def test_the_lookup_of_an_agency_without_systems_and_of_an_unknown_token(agency_a, token):
    assert _lookup(token).agency_selectors == []
    assert _lookup("dkt_" + "A" * 43) is None


def test_grouping_messages_are_coalesced_per_agency(monkeypatch, settings):
    from incidents.tasks import group_detections

    sent = []
    clock = [1000.0]
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(group_detections, "apply_async", lambda args, **kw: sent.append((args, kw)))
    monkeypatch.setattr(ingest, "_clock", lambda: clock[0])
    monkeypatch.setattr(ingest, "_grouping_queued", {})
    settings.DOCKET_GROUPING_DELAY_SECONDS = 2

    ingest._enqueue_grouping(7)
    clock[0] += 0.5
    ingest._enqueue_grouping(7)  # the queued task starts after this commit: nothing more
    ingest._enqueue_grouping(8)  # another agency
    assert sent == [((7,), {"countdown": 2.0}), ((8,), {"countdown": 2.0})]
    clock[0] += 0.6  # past half the delay: the queued task may have started
    ingest._enqueue_grouping(7)
    assert sent[-1] == ((7,), {"countdown": 2.0}) and len(sent) == 3


def test_a_failed_grouping_message_is_not_remembered(monkeypatch, settings):
    from incidents.tasks import group_detections

    calls = []

    def broker_down(args, **kw):
        calls.append(args)
        raise ConnectionError("broker down")

    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(group_detections, "apply_async", broker_down)
    monkeypatch.setattr(ingest, "_grouping_queued", {})
    settings.DOCKET_GROUPING_DELAY_SECONDS = 2
    for _ in range(2):
        with pytest.raises(ConnectionError):
            ingest._enqueue_grouping(7)
    assert calls == [(7,), (7,)]


def test_without_a_delay_every_commit_queues_grouping(monkeypatch, settings):
    from incidents.tasks import group_detections

    sent = []
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(group_detections, "delay", lambda *args: sent.append(args))
    monkeypatch.setattr(ingest, "_grouping_queued", {})
    settings.DOCKET_GROUPING_DELAY_SECONDS = 0
    ingest._enqueue_grouping(7)
    ingest._enqueue_grouping(7)
    assert sent == [(7,), (7,)]


@pytest.mark.parametrize(
    "where",
    ["tag", "extra key", "output", "hostname", "field name"],
)
def test_the_scrub_fast_path_still_finds_what_postgresql_cannot_store(where):
    from incidents import falco

    alert = rule_alert("Clear Log Activities", container=POD)
    bad = "x\x00y\udc80z"
    if where == "tag":
        alert["tags"] = [*alert["tags"], bad]
    elif where == "extra key":
        alert["falcosidekick"] = {"note": bad}
    elif where == "output":
        alert["output"] += bad
    elif where == "hostname":
        alert["hostname"] = bad
    else:
        alert["output_fields"][bad] = 1
    text = json.dumps(falco.normalise(alert).__dict__, ensure_ascii=False, default=str)
    assert "\\u0000" not in text
    assert not any("\ud800" <= ch <= "\udfff" for ch in text)


def test_a_clean_alert_is_stored_as_received():
    from incidents import falco

    alert = rule_alert("Clear Log Activities", container=POD, fields={"fd.name": "a\\u0000b"})
    normalised = falco.normalise(alert)
    assert normalised.output_fields == alert["output_fields"]
    assert normalised.raw == alert
