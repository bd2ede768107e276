"""Sysdig Secure ingestion: normalising runtime policy events and activity-audit command records
(``incidents.sysdig``, pure), ``POST /api/v1/ingest/sysdig`` (same tokens, limits and answers as
the Falco endpoint), storage, redelivery, grouping, isolation, and ``ingest_sysdig``.

Policy events are built as Sysdig Secure sends them for Falco rules: rule name, tags and
output fields from the real rules in ``../shared/data/falco/falco_rules.yaml``
(``tests.support.alerts``), severity the rule's priority as a syslog level."""

from __future__ import annotations

import gzip
import io
import json
import re
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import IngestToken
from incidents import falco, sysdig
from incidents.models import CommandRecord, Detection, IncidentCandidate

from .support.alerts import CONTAINER, T0_NS, command_record, policy_event, rule_alert

URL = "/api/v1/ingest/sysdig"


@pytest.fixture
def token_a(agency_a):
    return IngestToken.issue(agency=agency_a, name="sysdig-prod")[1]


@pytest.fixture
def token_b(agency_b):
    return IngestToken.issue(agency=agency_b, name="sysdig-other")[1]


@pytest.fixture
def store_system(web_system):
    web_system.image_repositories = ["registry.fta.gov/store/"]
    web_system.save()
    return web_system


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    def _post(body, *, token, content_type="application/json", **headers):
        if not isinstance(body, bytes | str):
            body = json.dumps(body)
        if token is not None:
            headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {token}")
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(URL, data=body, content_type=content_type, **headers)

    return _post


# --- pure normalisation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "priority"),
    [
        (0, "Emergency"),
        (3, "Error"),
        (4, "Warning"),
        (5, "Notice"),
        (6, "Informational"),
        (7, "Debug"),
        ("2", "Critical"),
    ],
)
def test_severity_maps_to_falco_priorities_by_syslog_level(severity, priority):
    assert sysdig.severity_priority(severity) == priority


@pytest.mark.parametrize("severity", [8, -1, "high", True, None, 2.5])
def test_other_severities_are_refused(severity):
    with pytest.raises(falco.Rejected, match="severity must be an integer from 0"):
        sysdig.severity_priority(severity)


def test_a_policy_event_becomes_an_alert_with_context_from_fields_and_labels():
    alert = sysdig.normalise_event(policy_event("Clear Log Activities"))
    assert alert.rule == "Clear Log Activities"
    assert alert.priority == "Warning"  # the rule's priority, sent as severity 4
    assert alert.source == "sysdig"
    assert alert.kind == "alert"
    assert alert.time_ns == T0_NS
    assert alert.time == datetime(2023, 5, 25, 13, 44, 5, 478445, tzinfo=UTC)
    assert alert.hostname == "ip-10-0-1-17.ec2.internal"
    assert alert.container_id == CONTAINER
    assert (alert.k8s_cluster, alert.k8s_namespace, alert.k8s_pod) == (
        "fta-prod",
        "store",
        "frontend-7d9c-xk2lp",
    )
    assert alert.container_image == "registry.fta.gov/store/frontend:1.4.2"
    assert alert.image_repository == "registry.fta.gov/store/frontend"
    assert alert.user_name == "root"
    assert alert.file_path == "/root/.bash_history"
    assert "TA0005 Defense Evasion" in alert.mitre_tactics
    assert "T1070" in alert.mitre_techniques
    assert "NIST SP 800-53 AU-10" in alert.control_refs
    assert alert.raw["actions"][0]["type"] == "POLICY_ACTION_CAPTURE"
    assert alert.group_key == "pod:store/frontend-7d9c-xk2lp"


def test_fields_win_over_labels_and_the_event_without_labels_still_has_its_container():
    event = policy_event("Terminal shell in container", labels={})
    event["content"]["fields"]["k8s.ns.name"] = "payments"
    alert = sysdig.normalise_event(event)
    assert alert.k8s_namespace == "payments"
    assert alert.container_id == CONTAINER
    assert alert.hostname == ""


def test_redelivered_actions_do_not_change_the_hash_but_another_event_id_does():
    first = sysdig.normalise_event(policy_event())
    later = policy_event()
    later["actions"][0]["successful"] = False
    assert sysdig.normalise_event(later).content_hash == first.content_hash
    other = sysdig.normalise_event(policy_event(event_id="another"))
    assert other.content_hash != first.content_hash


def test_labels_enriched_between_deliveries_do_not_make_a_new_event():
    first = sysdig.normalise_event(policy_event())
    enriched = policy_event()
    enriched["labels"]["kubernetes.node.name"] = "node-7"
    assert sysdig.normalise_event(enriched).content_hash == first.content_hash


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.pop("timestamp"), "missing required field(s): timestamp"),
        (lambda e: e["content"].pop("ruleName"), "missing required field(s): content.ruleName"),
        (lambda e: e.update(severity=9), "severity must be an integer from 0"),
        (lambda e: e.update(timestamp="yesterday"), "bad timestamp"),
        (lambda e: e.update(timestamp=-5), "outside 1970"),
        (lambda e: e["content"].update(fields=[1]), "content.fields must be an object"),
        (lambda e: e["content"].update(ruleTags="x"), "content.ruleTags must be an array"),
        (lambda e: e.update(labels={"a": {"b": 1}}), "labels.a must be a string"),
        (lambda e: e.update(actions={}), "actions must be an array"),
    ],
)
def test_bad_policy_events_are_refused_naming_the_problem(mutate, reason):
    event = policy_event()
    mutate(event)
    with pytest.raises(falco.Rejected) as exc:
        sysdig.normalise_event(event)
    assert reason in str(exc.value)


def test_an_iso_timestamp_is_accepted_with_its_nanoseconds():
    event = policy_event()
    event["timestamp"] = "2023-05-25T13:44:05.478445995Z"
    alert = sysdig.normalise_event(event)
    assert alert.time_ns == T0_NS


def test_a_command_record_is_normalised_with_labels():
    c = sysdig.normalise_command(command_record())
    assert c.time_ns == T0_NS - 2_000_000_000
    assert (c.pid, c.ppid, c.uid, c.tty) == (4242, 4200, 0, 34816)
    assert (c.user_name, c.comm, c.pcomm, c.cwd) == ("root", "bash", "bash", "/root")
    assert c.cmdline == "bash -c rm -f /root/.bash_history"
    assert (c.k8s_cluster, c.k8s_namespace, c.k8s_pod) == (
        "fta-prod",
        "store",
        "frontend-7d9c-xk2lp",
    )
    assert c.container_image == "registry.fta.gov/store/frontend:1.4.2"
    assert c.group_key == "pod:store/frontend-7d9c-xk2lp"
    assert c.raw["id"].startswith("cmd-")


def test_a_command_records_hash_ignores_its_id_and_labels():
    first = sysdig.normalise_command(command_record())
    again = sysdig.normalise_command(command_record(id="other", labels={}))
    assert again.content_hash == first.content_hash
    assert sysdig.normalise_command(command_record(pid=1)).content_hash != first.content_hash


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"foo": 1}, "neither a Sysdig runtime policy event"),
        ([1, 2], "not a JSON object (got an array)"),
        (rule_alert("Clear Log Activities"), "send it to /api/v1/ingest/falco"),
        ({"type": "connection", "cmdline": "nc -l 4444"}, "type 'connection' is not supported"),
    ],
)
def test_shapes_are_told_apart_by_content(item, reason):
    with pytest.raises(falco.Rejected, match=re.escape(reason)):
        sysdig.shape(item)


def test_the_two_shapes():
    assert sysdig.shape(policy_event()) == sysdig.POLICY_EVENT
    assert sysdig.shape(command_record()) == sysdig.COMMAND


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda r: r.update(cmdline=""), "missing required field(s): cmdline"),
        (lambda r: r.update(pid="forty"), "pid must be an integer"),
        (lambda r: r.update(username=7), "username must be a string"),
        (lambda r: r.update(timestamp=True), "timestamp must be nanoseconds"),
    ],
)
def test_bad_command_records_are_refused_naming_the_problem(mutate, reason):
    record = command_record()
    mutate(record)
    with pytest.raises(falco.Rejected) as exc:
        sysdig.normalise_command(record)
    assert reason in str(exc.value)


# --- the endpoint ----------------------------------------------------------------------------


def test_a_policy_event_is_stored_as_a_detection_and_grouped(post, agency_a, token_a, store_system):
    response = post(policy_event("Clear Log Activities"), token=token_a)
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    d = Detection.objects.get()
    assert (d.agency, d.source, d.rule, d.priority) == (
        agency_a,
        "sysdig",
        "Clear Log Activities",
        "Warning",
    )
    assert d.time_ns == T0_NS
    assert d.system == store_system  # attributed by the image repository selector
    assert d.token == IngestToken.lookup(token_a)
    assert d.raw["name"] == "FTA runtime policy: tampering"
    assert d.candidate is not None and d.candidate.group_key == "pod:store/frontend-7d9c-xk2lp"


def test_a_mixed_ndjson_body_stores_events_and_commands(post, agency_a, token_a):
    lines = [
        json.dumps(command_record("bash", pid=4200, ppid=1, ts=T0_NS - 9_000_000_000)),
        json.dumps(policy_event("Terminal shell in container", event_id="e1")),
        json.dumps(command_record()),
        json.dumps(policy_event("Delete or rename shell history", event_id="e2")),
    ]
    response = post("\n".join(lines), token=token_a, content_type="application/x-ndjson")
    assert response.json() == {"accepted": 4, "duplicates": 0, "rejected": []}
    assert Detection.objects.filter(agency=agency_a).count() == 2
    rows = list(CommandRecord.objects.order_by("time_ns"))
    assert [r.cmdline for r in rows] == ["bash", "bash -c rm -f /root/.bash_history"]
    row = rows[1]
    assert row.agency == agency_a and row.token == IngestToken.lookup(token_a)
    assert (row.time_ns, row.pid, row.ppid, row.user_name, row.uid) == (
        T0_NS - 2_000_000_000,
        4242,
        4200,
        "root",
        0,
    )
    assert (row.container_id, row.hostname, row.k8s_namespace, row.k8s_pod) == (
        CONTAINER,
        "ip-10-0-1-17.ec2.internal",
        "store",
        "frontend-7d9c-xk2lp",
    )
    assert row.group_key == "pod:store/frontend-7d9c-xk2lp"
    assert row.time == datetime(2023, 5, 25, 13, 44, 3, 478445, tzinfo=UTC)
    assert row.raw["procExepath"] == "/bin/bash"


def test_a_gzip_array_body(post, agency_a, token_a):
    body = gzip.compress(json.dumps([policy_event(), command_record()]).encode())
    response = post(body, token=token_a, HTTP_CONTENT_ENCODING="gzip")
    assert response.json()["accepted"] == 2


def test_bad_items_are_listed_by_index_and_the_rest_stored(post, agency_a, token_a):
    body = [
        policy_event(),
        {"hello": "world"},
        command_record(),
        {**command_record(pid=9), "timestamp": "soon"},
        policy_event(severity="critical", event_id="x"),
        rule_alert("Clear Log Activities"),
    ]
    data = post(body, token=token_a).json()
    assert data["accepted"] == 2 and data["duplicates"] == 0
    reasons = {r["index"]: r["reason"] for r in data["rejected"]}
    assert sorted(reasons) == [1, 3, 4, 5]
    assert "neither a Sysdig runtime policy event" in reasons[1]
    assert "bad timestamp" in reasons[3]
    assert "severity must be an integer" in reasons[4]
    assert "/api/v1/ingest/falco" in reasons[5]
    assert [r["index"] for r in data["rejected"]] == [1, 3, 4, 5]


def test_a_bad_line_is_listed_with_its_line(post, agency_a, token_a):
    body = f"{json.dumps(command_record())}\n{{oops\n"
    data = post(body, token=token_a, content_type="application/x-ndjson").json()
    assert data["accepted"] == 1
    assert data["rejected"][0]["line"] == 2 and "invalid JSON" in data["rejected"][0]["reason"]


@pytest.mark.parametrize(
    ("body", "code", "status", "extra"),
    [
        (b"", "unreadable", 400, {}),
        (b"\x1f\x8b\x08\x00junk", "bad_gzip", 400, {}),
        (b'{"content": {}}', "unsupported_encoding", 415, {"HTTP_CONTENT_ENCODING": "br"}),
    ],
)
def test_unreadable_bodies_store_nothing(post, agency_a, token_a, body, code, status, extra):
    response = post(body, token=token_a, **extra)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert not Detection.objects.exists() and not CommandRecord.objects.exists()


def test_a_body_over_the_limit_gets_413(post, agency_a, token_a, settings):
    settings.DOCKET_INGEST_MAX_BYTES = 2048
    response = post([command_record(pid=i) for i in range(20)], token=token_a)
    assert response.status_code == 413
    assert not CommandRecord.objects.exists()


@pytest.mark.parametrize("header", [None, "Bearer dkt_" + "B" * 43, "Basic abc"])
def test_bad_tokens_are_refused(post, agency_a, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = post([policy_event(), command_record()], token=None, **extra)
    assert response.status_code == 401
    assert not Detection.objects.exists() and not CommandRecord.objects.exists()


def test_a_revoked_token_is_refused(post, agency_a, token_a):
    IngestToken.lookup(token_a).revoke()
    assert post(command_record(), token=token_a).json()["code"] == "token_revoked"
    assert not CommandRecord.objects.exists()


def test_redelivery_stores_nothing_new(post, agency_a, token_a):
    body = [policy_event(), command_record()]
    assert post(body, token=token_a).json()["accepted"] == 2
    again = [policy_event(), {**command_record(), "id": "redelivered"}]
    assert post(again, token=token_a).json() == {"accepted": 0, "duplicates": 2, "rejected": []}
    twice = post([command_record(pid=1), command_record(pid=1)], token=token_a).json()
    assert twice == {"accepted": 1, "duplicates": 1, "rejected": []}
    assert Detection.objects.count() == 1 and CommandRecord.objects.count() == 2


def test_a_failing_command_store_keeps_the_events_out_too(post, agency_a, token_a, monkeypatch):
    """One transaction: when storing the commands fails, the events of the batch are not
    committed either, and the sender gets no 2xx (so it may retry)."""
    from django.db import DatabaseError

    from incidents import ingest

    def boom(**kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(ingest, "commands_store", boom)
    with pytest.raises(DatabaseError):
        post([policy_event(), command_record()], token=token_a)
    assert not Detection.objects.exists()


def test_agency_b_token_never_stores_into_agency_a(
    post, agency_a, agency_b, token_a, token_b, store_system
):
    body = [policy_event(), command_record()]
    post(body, token=token_a)
    assert post(body, token=token_b).json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert CommandRecord.objects.filter(agency=agency_a).count() == 1
    assert CommandRecord.objects.filter(agency=agency_b).count() == 1
    b_detection = Detection.objects.get(agency=agency_b)
    assert b_detection.system is None  # agency A's selectors are not consulted
    assert b_detection.candidate.agency == agency_b
    assert IncidentCandidate.objects.filter(agency=agency_a).count() == 1
    post([command_record(pid=77)], token=token_b)
    assert CommandRecord.objects.filter(agency=agency_a).count() == 1


def test_get_is_not_allowed(client, token_a):
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token_a}").status_code == 405


# --- the file command ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sysdig.jsonl", "sysdig.jsonl.gz"])
def test_ingest_sysdig_reads_json_lines(tmp_path, agency_a, store_system, name):
    lines = [
        json.dumps(policy_event()),
        "",
        json.dumps(command_record()),
        "{broken",
        json.dumps({"nothing": "known"}),
    ]
    content = ("\n".join(lines) + "\n").encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
    out, err = io.StringIO(), io.StringIO()
    call_command("ingest_sysdig", str(path), "--agency", "fta", stdout=out, stderr=err)
    assert "accepted 2, duplicates 0, rejected 2" in out.getvalue()
    assert "line 4: invalid JSON" in err.getvalue()
    assert "line 5: neither a Sysdig runtime policy event" in err.getvalue()
    assert Detection.objects.get(agency=agency_a, token__isnull=True).system == store_system
    assert CommandRecord.objects.filter(agency=agency_a, token__isnull=True).count() == 1
    out = io.StringIO()
    call_command("ingest_sysdig", str(path), "--agency", "FTA", stdout=out, stderr=io.StringIO())
    assert "accepted 0, duplicates 2, rejected 2" in out.getvalue()


def test_ingest_sysdig_reads_a_json_array_in_batches(tmp_path, agency_a):
    items = [command_record(pid=i) for i in range(5)] + [{"x": 1}, policy_event()]
    path = tmp_path / "export.json.gz"
    path.write_bytes(gzip.compress(("\n  " + json.dumps(items, indent=2)).encode()))
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "ingest_sysdig", str(path), "--agency", "FTA", "--batch-size", "2", stdout=out, stderr=err
    )
    assert "accepted 6, duplicates 0, rejected 1" in out.getvalue()
    assert "item 5: neither" in err.getvalue()
    assert CommandRecord.objects.count() == 5 and Detection.objects.count() == 1


def test_ingest_sysdig_refuses_an_unreadable_file(tmp_path, agency_a):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("ingest_sysdig", str(tmp_path / "none.json"), "--agency", "FTA")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("ingest_sysdig", str(bad), "--agency", "FTA", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No agency"):
        call_command("ingest_sysdig", str(bad), "--agency", "NOPE")
