"""Falco ingestion end to end: tokens, ``POST /api/v1/ingest/falco`` with every payload shape
and every kind of bad input, storage and deduplication, attribution, grouping into incident
candidates and their triage, agency isolation, and the two management commands.

Payloads are built from the real rules in ``../shared/data/falco/*.yaml``
(``tests.test_falco_normalise.rule_alert``)."""

from __future__ import annotations

import gzip
import io
import json
import sys
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import IngestToken
from accounts.models.ingest_token import token_digest
from core.errors import Conflict, InvalidInput, NotFound, NotPermitted
from incidents import falco
from incidents.ingest import candidate_attach, candidate_dismiss, candidate_promote
from incidents.models import CandidateStatus, Detection, IncidentCandidate, IncidentEvent

from .support.alerts import POD, TIME, TIME_NS, rule_alert

URL = "/api/v1/ingest/falco"
T0 = datetime(2023, 5, 25, 13, 44, 5, tzinfo=UTC)


def iso(when: datetime, ns: int = 0) -> str:
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond * 1000 + ns:09d}Z"


@pytest.fixture
def token_a(agency_a):
    return IngestToken.issue(agency=agency_a, name="falco-prod")[1]


@pytest.fixture
def token_b(agency_b):
    return IngestToken.issue(agency=agency_b, name="falco-other")[1]


@pytest.fixture
def store_system(web_system):
    web_system.image_repositories = ["registry.fta.gov/store/"]
    web_system.host_patterns = ["web-*.store.fta.gov"]
    web_system.save()
    return web_system


@pytest.fixture
def hr_hosts(hr_system):
    hr_system.host_patterns = ["hr-*"]
    hr_system.save()
    return hr_system


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """``post(body, token=..., **headers)``: a delivery, with after-commit work (grouping) run
    as it would be once the transaction commits."""

    def _post(body, *, token, content_type="application/json", **headers):
        if not isinstance(body, bytes | str):
            body = json.dumps(body)
        if token is not None:
            headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {token}")
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(URL, data=body, content_type=content_type, **headers)

    return _post


def shell(**kw):
    kw.setdefault("container", POD)
    return rule_alert("Terminal shell in container", **kw)


# --- tokens ---------------------------------------------------------------------------------


def test_create_ingest_token_prints_the_token_alone_on_its_last_line(agency_a):
    out = io.StringIO()
    call_command("create_ingest_token", "--agency", "fta", "--name", "falco-east", stdout=out)
    last = out.getvalue().rstrip("\n").splitlines()[-1]
    assert last.startswith("dkt_") and len(last) == 47 and " " not in last
    row = IngestToken.objects.get(name="falco-east")
    assert row.agency == agency_a
    assert row.token_hash == token_digest(last)
    # Only the hash is kept.
    assert not IngestToken.objects.filter(token_hash=last).exists()
    assert last not in str(IngestToken.objects.values().get(pk=row.pk))


def test_create_ingest_token_refuses_an_unknown_agency(db):
    with pytest.raises(CommandError, match="No agency"):
        call_command("create_ingest_token", "--agency", "NOPE", stdout=io.StringIO())


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "token_missing"),
        ("Token abc", "token_malformed"),
        ("Bearer", "token_malformed"),
        ("Bearer not-a-docket-token", "token_malformed"),
        ("Bearer dkt_" + "A" * 43, "token_unknown"),
    ],
)
def test_bad_tokens_get_401_naming_the_problem(post, agency_a, header, code):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = post(shell(), token=None, **extra)
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Detection.objects.exists()


def test_a_revoked_token_is_refused(post, agency_a, token_a):
    row = IngestToken.lookup(token_a)
    row.revoke()
    first = row.revoked_at
    row.revoke()  # idempotent
    assert IngestToken.lookup(token_a).revoked_at == first
    response = post(shell(), token=token_a)
    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"
    assert not Detection.objects.exists()


def test_last_used_is_recorded_at_most_once_a_minute(post, agency_a, token_a):
    assert IngestToken.lookup(token_a).last_used_at is None
    post(shell(time=iso(T0)), token=token_a)
    first = IngestToken.lookup(token_a).last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        post(shell(time=iso(T0 + timedelta(seconds=1))), token=token_a)
    assert not [q for q in queries if "UPDATE" in q["sql"] and "ingesttoken" in q["sql"]]
    assert IngestToken.lookup(token_a).last_used_at == first
    row = IngestToken.lookup(token_a)
    row.touch(now=first + timedelta(minutes=2))
    assert IngestToken.lookup(token_a).last_used_at == first + timedelta(minutes=2)


def test_a_failure_to_record_last_used_still_answers_stored(post, agency_a, token_a, monkeypatch):
    # The alert is committed before the token's bookkeeping: an error status then would make
    # falcosidekick drop (or resend) what is stored.
    from django.db import DatabaseError

    def fail(self, *, now):
        raise DatabaseError("lock timeout")

    monkeypatch.setattr(IngestToken, "touch", fail)
    response = post(shell(time=iso(T0)), token=token_a)
    assert response.status_code == 200 and response.json()["accepted"] == 1
    assert Detection.objects.filter(agency=agency_a).count() == 1


def test_get_is_not_allowed(client, token_a):
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token_a}").status_code == 405


# --- shapes ---------------------------------------------------------------------------------


def test_one_raw_falco_alert(post, agency_a, token_a):
    response = post(shell(), token=token_a)
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    d = Detection.objects.get()
    assert d.agency == agency_a
    assert d.rule == "Terminal shell in container"
    assert d.priority == "Notice"
    assert d.time_ns == TIME_NS
    assert d.time == datetime(2023, 5, 25, 13, 44, 5, 478445, tzinfo=UTC)
    assert d.output_fields["evt.time"] == TIME_NS
    assert (d.container_id, d.k8s_namespace, d.k8s_pod) == (
        "ee97d9c4186f",
        "store",
        "frontend-7d9c-xk2lp",
    )
    assert d.container_image == "registry.fta.gov/store/frontend:1.4.2"
    assert d.process_cmdline == "bash -c rm -f /root/.bash_history"
    assert d.user_name == "root"
    assert d.kind == "alert"
    assert d.token == IngestToken.lookup(token_a)
    assert d.raw["rule"] == "Terminal shell in container"


def test_a_falcosidekick_payload_with_its_headers(post, agency_a, token_a):
    payload = {**shell(), "uuid": "5d8c0d4a-2a52-4b8f-8a0a-0c0f7c8f0a11", "source": "syscalls"}
    response = post(
        payload,
        token=token_a,
        content_type="application/json; charset=utf-8",
        HTTP_USER_AGENT="Falcosidekick",
    )
    assert response.status_code == 200 and response.json()["accepted"] == 1
    d = Detection.objects.get()
    assert "uuid" not in d.raw
    assert d.source == "syscalls"


def test_the_falcosidekick_ui_envelope_is_unwrapped(post, agency_a, token_a):
    response = post({"event": {**shell(), "uuid": "x"}, "outputs": ["WebUI"]}, token=token_a)
    assert response.json()["accepted"] == 1
    assert Detection.objects.get().rule == "Terminal shell in container"


def test_an_array_of_every_shape(post, agency_a, token_a):
    body = [
        rule_alert("Clear Log Activities", time=iso(T0)),
        {**rule_alert("Delete or rename shell history", time=iso(T0)), "uuid": "u-1"},
        {"event": shell(time=iso(T0)), "outputs": ["WebUI", "Slack"]},
    ]
    assert post(body, token=token_a).json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    assert set(Detection.objects.values_list("rule", flat=True)) == {
        "Clear Log Activities",
        "Delete or rename shell history",
        "Terminal shell in container",
    }


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "application/json"])
def test_json_lines(post, agency_a, token_a, content_type):
    lines = [json.dumps(shell(time=iso(T0 + timedelta(seconds=i)))) for i in range(3)]
    response = post("\n".join(lines) + "\n", token=token_a, content_type=content_type)
    assert response.json() == {"accepted": 3, "duplicates": 0, "rejected": []}


def test_gzip_body(post, agency_a, token_a):
    lines = [json.dumps(shell(time=iso(T0 + timedelta(seconds=i)))) for i in range(5)]
    body = gzip.compress("\n".join(lines).encode())
    response = post(
        body, token=token_a, content_type="application/x-ndjson", HTTP_CONTENT_ENCODING="gzip"
    )
    assert response.status_code == 200
    assert response.json()["accepted"] == 5
    assert Detection.objects.count() == 5


# --- bad input ------------------------------------------------------------------------------


def test_a_batch_with_bad_items_stores_the_good_ones_and_lists_the_rest(post, agency_a, token_a):
    good = rule_alert("Clear Log Activities", time=iso(T0))
    no_rule = {k: v for k, v in good.items() if k != "rule"}
    body = [
        good,
        "not an alert",
        no_rule,
        {**good, "priority": "Severe"},
        {**good, "time": "25 May 2023"},
        {**good, "rule": "Other", "priority": "info", "time": iso(T0, 7)},
        [good],
    ]
    response = post(body, token=token_a)
    assert response.status_code == 200
    data = response.json()
    assert data["accepted"] == 2 and data["duplicates"] == 0
    reasons = {r["index"]: r["reason"] for r in data["rejected"]}
    assert sorted(reasons) == [1, 2, 3, 4, 6]
    assert "not a JSON object" in reasons[1]
    assert "missing required field(s): rule" in reasons[2]
    assert "unknown priority 'Severe'" in reasons[3]
    assert "bad time" in reasons[4]
    assert "not a JSON object" in reasons[6]
    other = Detection.objects.get(rule="Other")
    assert other.priority == "Informational"
    assert other.time_ns % 1_000_000_000 == 7


def test_a_bad_line_in_json_lines_is_listed_with_its_line(post, agency_a, token_a):
    good = json.dumps(shell())
    response = post(f"{good}\n{{broken\n", token=token_a, content_type="application/x-ndjson")
    assert response.status_code == 200
    assert response.json()["rejected"][0]["index"] == 1
    assert response.json()["rejected"][0]["line"] == 2
    assert Detection.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "code", "extra"),
    [
        (b'{"rule": "x", ', "unreadable", {}),
        (b"", "unreadable", {}),
        ('{"rule": "caf\u00e9"}'.encode("latin-1"), "invalid_utf8", {}),
        (b"\x1f\x8b\x08\x00garbage", "bad_gzip", {}),
        (gzip.compress(b'{"rule": 1}')[:-6], "bad_gzip", {"HTTP_CONTENT_ENCODING": "gzip"}),
    ],
)
def test_unreadable_bodies_get_400_and_store_nothing(post, agency_a, token_a, body, code, extra):
    response = post(body, token=token_a, **extra)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not Detection.objects.exists()


def test_an_unsupported_encoding_gets_415(post, agency_a, token_a):
    response = post(json.dumps(shell()), token=token_a, HTTP_CONTENT_ENCODING="br")
    assert response.status_code == 415
    assert not Detection.objects.exists()


def test_a_body_over_the_limit_gets_413(post, agency_a, token_a, settings):
    settings.DOCKET_INGEST_MAX_BYTES = 4096
    body = [shell(time=iso(T0 + timedelta(seconds=i))) for i in range(20)]
    response = post(body, token=token_a)
    assert response.status_code == 413
    assert "4096" in response.json()["detail"]
    assert not Detection.objects.exists()


def test_a_gzip_bomb_stops_at_the_default_cap(post, agency_a, token_a):
    # 64 MiB of spaces around one alert compress to a few tens of KiB.
    raw = json.dumps(shell()).encode() + b" " * (64 * 1024 * 1024)
    bomb = gzip.compress(raw, compresslevel=9)
    assert len(bomb) < 200_000
    response = post(bomb, token=token_a, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413
    assert str(10 * 1024 * 1024) in response.json()["detail"]
    assert not Detection.objects.exists()


def test_redelivery_with_a_new_uuid_is_a_duplicate(post, agency_a, token_a):
    alert = shell()
    first = post({**alert, "uuid": "11111111-1111-4111-8111-111111111111"}, token=token_a)
    again = post({**alert, "uuid": "22222222-2222-4222-8222-222222222222"}, token=token_a)
    assert first.json()["accepted"] == 1
    assert again.json() == {"accepted": 0, "duplicates": 1, "rejected": []}
    twice = post([alert, alert], token=token_a)
    assert twice.json() == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert Detection.objects.count() == 1


def test_test_events_and_internal_messages_are_kept_but_never_grouped(post, agency_a, token_a):
    body = [
        {
            "output": "This is a test from falcosidekick",
            "priority": "Debug",
            "rule": "Test rule",
            "time": TIME,
            "hostname": "falcosidekick",
            "tags": ["example", "test"],
            "output_fields": {"proc.name": "falcosidekick", "user.name": "falcosidekick"},
            "uuid": "x",
        },
        {
            "output": "Falco internal: syscall event drop. 9 system calls dropped in last second.",
            "priority": "Critical",
            "rule": "Falco internal: syscall event drop",
            "time": TIME,
            "hostname": "web-01.store.fta.gov",
            "source": "internal",
            "output_fields": {"n_drops": 9},
        },
    ]
    assert post(body, token=token_a).json()["accepted"] == 2
    assert dict(Detection.objects.values_list("rule", "kind")) == {
        "Test rule": "test",
        "Falco internal: syscall event drop": "internal",
    }
    assert not IncidentCandidate.objects.exists()
    assert not Detection.objects.filter(candidate__isnull=False).exists()


def test_tags_are_mapped_and_stored(post, agency_a, token_a):
    post(rule_alert("Clear Log Activities"), token=token_a)
    d = Detection.objects.get()
    assert d.mitre_tactics == ["TA0005 Defense Evasion"]
    assert d.mitre_techniques == ["T1070"]
    assert d.control_refs == ["NIST SP 800-53 AU-10"]
    assert "maturity_stable" in d.tags


# --- attribution and grouping ---------------------------------------------------------------


def test_attribution_to_a_system_and_to_the_triage_queue(
    post, agency_a, token_a, store_system, hr_hosts
):
    body = [
        shell(time=iso(T0), hostname="node-7"),  # image under registry.fta.gov/store/
        rule_alert("Clear Log Activities", time=iso(T0), hostname="HR-db-1"),  # hr-*
        rule_alert("Delete or rename shell history", time=iso(T0), hostname="build-3"),
    ]
    assert post(body, token=token_a).json()["accepted"] == 3
    by_rule = dict(Detection.objects.values_list("rule", "system__acronym"))
    assert by_rule == {
        "Terminal shell in container": "FTA-WEB",
        "Clear Log Activities": "FTA-HR",
        "Delete or rename shell history": None,
    }
    triage = IncidentCandidate.objects.get(system__isnull=True)
    assert triage.group_key == "host:build-3"


def test_detections_of_one_pod_within_the_window_form_one_candidate(
    post, agency_a, token_a, store_system
):
    times = [T0, T0 + timedelta(minutes=4), T0 + timedelta(minutes=13)]  # 9 minutes apart
    post([shell(time=iso(t)) for t in times], token=token_a)
    candidate = IncidentCandidate.objects.get()
    assert candidate.count == 3
    assert candidate.system == store_system
    assert candidate.group_key == "pod:store/frontend-7d9c-xk2lp"
    assert (candidate.first_seen, candidate.last_seen) == (T0, times[-1])
    # A later delivery within the window joins it too.
    post(shell(time=iso(T0 + timedelta(minutes=20))), token=token_a)
    candidate.refresh_from_db()
    assert candidate.count == 4


def test_beyond_the_window_or_another_pod_is_another_candidate(
    post, agency_a, token_a, store_system
):
    other_pod = {**POD, "k8s.pod.name": "frontend-7d9c-zz9q1", "container.id": "aa11bb22cc33"}
    post(
        [
            shell(time=iso(T0)),
            shell(time=iso(T0 + timedelta(minutes=10, seconds=1))),
            shell(time=iso(T0 + timedelta(minutes=1)), container=other_pod),
        ],
        token=token_a,
    )
    assert sorted(IncidentCandidate.objects.values_list("group_key", "count")) == [
        ("pod:store/frontend-7d9c-xk2lp", 1),
        ("pod:store/frontend-7d9c-xk2lp", 1),
        ("pod:store/frontend-7d9c-zz9q1", 1),
    ]


def test_the_window_is_configurable(post, agency_a, token_a, store_system, settings):
    settings.DOCKET_CANDIDATE_WINDOW_MINUTES = 30
    post([shell(time=iso(T0)), shell(time=iso(T0 + timedelta(minutes=25)))], token=token_a)
    assert IncidentCandidate.objects.get().count == 2


def test_a_dismissed_candidate_takes_no_new_detections(post, ctx, alice, token_a, store_system):
    post(shell(time=iso(T0)), token=token_a)
    candidate = IncidentCandidate.objects.get()
    candidate_dismiss(ctx=ctx(alice, store_system.agency), candidate=candidate, reason="drill")
    post(shell(time=iso(T0 + timedelta(minutes=1))), token=token_a)
    assert IncidentCandidate.objects.filter(status=CandidateStatus.OPEN).get().count == 1


# --- triage ---------------------------------------------------------------------------------


@pytest.fixture
def candidate(post, token_a, store_system):
    post(
        [shell(time=iso(T0 + timedelta(minutes=3))), shell(time=iso(T0, 123))],
        token=token_a,
    )
    return IncidentCandidate.objects.get()


def test_promote_opens_an_incident_first_detected_at_the_earliest_detection(
    ctx, alice, agency_a, candidate, store_system
):
    incident = candidate_promote(
        ctx=ctx(alice, agency_a), candidate=candidate, title="Shell in store frontend"
    )
    assert incident.first_detected_at == T0
    assert list(incident.systems.all()) == [store_system]
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.PROMOTED
    assert candidate.incident == incident
    assert candidate.resolved_by == alice
    event = IncidentEvent.objects.filter(incident=incident, data__candidate=candidate.pk).get()
    assert event.data["detections"] == 2
    with pytest.raises(Conflict):
        candidate_promote(ctx=ctx(alice, agency_a), candidate=candidate, title="Again")


def test_attach_adds_the_candidates_system_to_an_existing_incident(
    ctx, carol, agency_a, candidate, open_incident, hr_system, store_system
):
    incident = open_incident(now=datetime.now(UTC), systems=[hr_system.pk], by=carol)
    candidate_attach(ctx=ctx(carol, agency_a), candidate=candidate, incident=incident)
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.ATTACHED
    assert candidate.incident == incident
    assert set(incident.systems.all()) == {hr_system, store_system}


def test_dismiss_needs_a_reason(ctx, alice, agency_a, candidate):
    with pytest.raises(InvalidInput):
        candidate_dismiss(ctx=ctx(alice, agency_a), candidate=candidate, reason="  ")
    candidate_dismiss(ctx=ctx(alice, agency_a), candidate=candidate, reason="Red-team exercise")
    candidate.refresh_from_db()
    assert (candidate.status, candidate.dismissed_reason) == ("dismissed", "Red-team exercise")


def test_an_auditor_cannot_triage(ctx, audrey, agency_a, candidate):
    with pytest.raises(NotPermitted):
        candidate_dismiss(ctx=ctx(audrey, agency_a), candidate=candidate, reason="no")


def test_another_agency_cannot_touch_a_candidate(ctx, bob, agency_b, candidate, b_system):
    with pytest.raises(NotFound):
        candidate_promote(ctx=ctx(bob, agency_b), candidate=candidate, title="Mine now")
    with pytest.raises(NotFound):
        candidate_dismiss(ctx=ctx(bob, agency_b), candidate=candidate, reason="gone")
    assert IncidentCandidate.objects.get().status == CandidateStatus.OPEN


# --- isolation ------------------------------------------------------------------------------


def test_agency_b_token_never_touches_agency_a_data(
    post, agency_a, agency_b, token_a, token_b, store_system
):
    alert = shell(time=iso(T0))
    post(alert, token=token_a)
    response = post(alert, token=token_b)
    # The same alert is new to agency B: hashes are unique per agency, not across them.
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    b_row = Detection.objects.get(agency=agency_b)
    assert b_row.system is None  # agency A's selectors are not consulted
    assert b_row.candidate.agency == agency_b
    a_row = Detection.objects.get(agency=agency_a)
    assert a_row.system == store_system
    assert a_row.candidate.count == 1
    assert IncidentCandidate.objects.filter(agency=agency_a).count() == 1


# --- the file command -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["events.json.gz", "events.json"])
def test_ingest_falco_reads_falco_file_output(tmp_path, agency_a, store_system, name):
    lines = [json.dumps(shell(time=iso(T0 + timedelta(seconds=i)))) for i in range(4)]
    lines.insert(2, "{not json")
    lines.append(json.dumps({**json.loads(lines[0]), "priority": "loud"}))
    content = ("\n".join(lines) + "\n").encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
    out, err = io.StringIO(), io.StringIO()
    call_command("ingest_falco", str(path), "--agency", "FTA", stdout=out, stderr=err)
    assert "accepted 4, duplicates 0, rejected 2" in out.getvalue()
    assert "line 3: invalid JSON" in err.getvalue()
    assert "line 6: unknown priority 'loud'" in err.getvalue()
    assert Detection.objects.filter(agency=agency_a, token__isnull=True).count() == 4
    out = io.StringIO()
    call_command("ingest_falco", str(path), "--agency", "FTA", stdout=out, stderr=io.StringIO())
    assert "accepted 0, duplicates 4, rejected 2" in out.getvalue()


def test_ingest_falco_refuses_a_missing_file(agency_a, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("ingest_falco", str(tmp_path / "nope.json"), "--agency", "FTA")


def test_content_hash_is_the_pure_modules(post, agency_a, token_a):
    alert = shell()
    post(alert, token=token_a)
    assert Detection.objects.get().content_hash == falco.normalise(alert).content_hash


def test_ingest_falco_draws_a_progress_bar_only_on_a_terminal(tmp_path, agency_a, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    path = tmp_path / "events.json"
    path.write_text(json.dumps(shell()) + "\n")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    call_command("ingest_falco", str(path), "--agency", "FTA", stdout=io.StringIO())
    assert "100.0%" in terminal.getvalue() and "1 lines" in terminal.getvalue()
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    call_command("ingest_falco", str(path), "--agency", "FTA", stdout=io.StringIO())
    assert piped.getvalue() == ""
