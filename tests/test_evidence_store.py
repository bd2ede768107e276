"""The evidence store on PostgreSQL: uploads through the API (multipart and raw stream), the
one-pass validator chain, nothing left behind on any rejection, the hash-chained custody
ledger and its trigger, verified downloads, and agency isolation.

Personas (tests/conftest.py): alice the ISSO and carol the compliance officer of agency A,
audrey A's auditor, adam A's administrator, bob of agency B (the outsider).
"""

import hashlib
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core import storage
from core.errors import InvalidInput, NotFound, NotPermitted
from evidence import services
from evidence.errors import IntegrityFailure, TooLarge, UploadInterrupted
from evidence.models import (
    AppendOnlyError,
    CustodyEntry,
    Evidence,
    WriteOnceError,
)
from evidence.services import intake
from incidents.services import auditor_grant

from .support.captures import pcapng
from .support.data import shared_file


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media) -> list[Path]:
    root = Path(media)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def incident(open_incident):
    return open_incident(now=timezone.now() - timedelta(hours=2))


@pytest.fixture
def capture():
    return shared_file("scap", "curl_google.scap").read_bytes()


def _multipart(client, incident, content, name, kind, **fields):
    upload = io.BytesIO(content)
    upload.name = name
    return client.post(
        f"/api/v1/incidents/{incident.number}/evidence/",
        {"file": upload, "kind": kind, **fields},
        format="multipart",
    )


def _raw(client, incident, content, *, filename, kind, **params):
    query = "&".join(f"{k}={v}" for k, v in {"filename": filename, "kind": kind, **params}.items())
    return client.put(
        f"/api/v1/incidents/{incident.number}/evidence/raw?{query}",
        data=content,
        content_type="application/octet-stream",
        CONTENT_LENGTH=str(len(content)),  # the test client leaves it out for an empty body
    )


def _upload(ctx, user, agency, incident, content, *, kind="scap", name="capture.scap", **kw):
    return services.evidence_upload(
        ctx=ctx(user, agency),
        incident=incident,
        fileobj=io.BytesIO(content),
        filename=name,
        kind=kind,
        **kw,
    )


# --- uploads ---------------------------------------------------------------------------------


def test_multipart_upload_of_a_real_capture_records_hashes_format_and_custody(
    api, alice, agency_a, incident, capture, media
):
    collected = timezone.now() - timedelta(hours=1)
    response = _multipart(
        api(alice),
        incident,
        capture,
        "curl_google.scap",
        "scap",
        collected_at=collected.isoformat(),
        source="node-7 / store-frontend",
        source_host="node-7.k8s.example.gov",
        source_container="ee97d9c4186f",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["sha256"] == hashlib.sha256(capture).hexdigest()
    assert body["md5"] == hashlib.md5(capture).hexdigest()  # noqa: S324 - cross-reference
    assert body["size"] == len(capture)
    assert (body["detected_format"], body["compression"]) == ("scap", "gzip")
    assert body["format_details"]["version"] == "1.0"
    assert body["format_details"]["block_counts"]["event"] == 1536
    assert body["incident"] == incident.number
    evidence = Evidence.objects.get(pk=body["id"])
    with default_storage.open(evidence.storage_name, "rb") as fh:
        assert fh.read() == capture
    assert "curl_google" not in evidence.storage_name  # stored under a name of our making
    assert [p.name for p in stored_files(media)] == [evidence.uid.hex]
    entries = list(evidence.custody.order_by("seq"))
    assert [(e.seq, e.action) for e in entries] == [(1, "collect"), (2, "upload")]
    assert "host node-7.k8s.example.gov" in entries[0].note
    assert entries[1].actor == alice
    assert entries[1].actor_roles == "isso"
    assert services.ledger_check(evidence) == []


def test_raw_upload_is_read_as_a_stream_not_a_body(api, carol, incident, settings, capture):
    # request.body would refuse anything over this; the raw upload never touches it.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    raw = shared_file("scap", "raw.scap").read_bytes()
    response = _raw(api(carol), incident, raw, filename="raw.scap", kind="scap")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["sha256"] == hashlib.sha256(raw).hexdigest()
    assert body["md5"] == hashlib.md5(raw).hexdigest()  # noqa: S324
    assert (body["detected_format"], body["compression"]) == ("scap", "")
    assert body["uploaded_by"] == "carol"


def test_pcapng_declared_as_scap_is_refused_and_leaves_nothing(api, alice, incident, media):
    response = _raw(api(alice), incident, pcapng(), filename="x.scap", kind="scap")
    assert response.status_code == 400
    assert "pcapng" in response.json()["detail"]
    assert "second block at offset 28" in response.json()["detail"]
    assert stored_files(media) == []
    assert not Evidence.objects.exists()


def test_declared_kind_contradicted_is_refused_from_the_first_bytes(api, alice, incident, media):
    response = _multipart(api(alice), incident, b"not an image\n" * 100, "photo.png", "image")
    assert response.status_code == 400
    assert "UTF-8 text, not an image" in response.json()["detail"]
    assert stored_files(media) == []
    assert not Evidence.objects.exists()


def test_truncated_capture_is_refused_with_the_reason(api, alice, incident, media):
    raw = shared_file("scap", "raw.scap").read_bytes()
    response = _raw(api(alice), incident, raw[:-10], filename="raw.scap", kind="scap")
    assert response.status_code == 400
    body = response.json()
    assert "is truncated" in body["detail"]
    assert body["offset"] == len(raw) - 10
    assert stored_files(media) == []
    assert not Evidence.objects.exists()


def test_corrupt_capture_may_still_be_kept_as_other(api, alice, incident):
    raw = shared_file("scap", "raw.scap").read_bytes()
    response = _raw(api(alice), incident, raw[:-10], filename="raw.scap", kind="other")
    assert response.status_code == 201
    assert response.json()["detected_format"] == "scap"
    assert "truncated" in response.json()["format_details"]["problem"]


def test_over_the_size_limit_is_refused_and_leaves_nothing(api, alice, incident, settings, media):
    settings.DOCKET_EVIDENCE_MAX_BYTES = 1000
    content = b"log line\n" * 600
    raw = _raw(api(alice), incident, content, filename="big.log", kind="log")
    assert raw.status_code == 413
    multipart = _multipart(api(alice), incident, content, "big.log", "log")
    assert multipart.status_code == 413
    assert "limit of 1000 bytes" in multipart.json()["detail"]
    with pytest.raises(TooLarge):  # no size declared: stopped while streaming
        services.evidence_upload(
            ctx=_ctx(alice, incident),
            incident=incident,
            fileobj=io.BytesIO(content),
            filename="big.log",
            kind="log",
        )
    assert stored_files(media) == []
    assert not Evidence.objects.exists()


def _ctx(user, incident):
    from accounts.context import context_for

    return context_for(user, incident.agency)


class BreaksAfter(io.RawIOBase):
    """A source that fails mid-read, like a client that goes away."""

    def __init__(self, data: bytes, reads: int):
        self.source, self.reads = io.BytesIO(data), reads

    def readable(self):
        return True

    def read(self, size=-1):
        if self.reads == 0:
            raise ConnectionResetError("client went away")
        self.reads -= 1
        return self.source.read(min(size, 4096) if size and size > 0 else 4096)


def test_interrupted_upload_leaves_no_file_and_no_row(alice, incident, media, capture):
    with pytest.raises(UploadInterrupted) as caught:
        services.evidence_upload(
            ctx=_ctx(alice, incident),
            incident=incident,
            fileobj=BreaksAfter(capture, reads=3),
            filename="curl_google.scap",
            kind="scap",
        )
    assert "interrupted after 12288 bytes" in caught.value.message
    assert stored_files(media) == []
    assert not Evidence.objects.exists()
    assert not CustodyEntry.objects.exists()


def test_short_body_against_its_declared_size_leaves_nothing(alice, incident, media, capture):
    with pytest.raises(UploadInterrupted):
        services.evidence_upload(
            ctx=_ctx(alice, incident),
            incident=incident,
            fileobj=io.BytesIO(capture),
            filename="curl_google.scap",
            kind="scap",
            declared_size=len(capture) + 100,
        )
    assert stored_files(media) == []
    assert not Evidence.objects.exists()


def test_failure_while_recording_removes_the_stored_file(
    alice, incident, media, capture, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(intake, "custody_append", broken)
    with pytest.raises(RuntimeError):
        services.evidence_upload(
            ctx=_ctx(alice, incident),
            incident=incident,
            fileobj=io.BytesIO(capture),
            filename="curl_google.scap",
            kind="scap",
        )
    assert stored_files(media) == []
    assert not Evidence.objects.exists()


@pytest.mark.parametrize(
    ("filename", "words"),
    [
        ("../../etc/passwd", "path separators"),
        ("a\\b.log", "path separators"),
        ("evil\u202egol.exe", "control or formatting"),
        ("line\nbreak.log", "control or formatting"),
        ("..", "names no file"),
    ],
)
def test_bad_file_names_are_refused(api, alice, incident, media, filename, words):
    from urllib.parse import quote

    response = _raw(api(alice), incident, b"hello\n", filename=quote(filename), kind="log")
    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert stored_files(media) == []


def test_raw_upload_without_content_length_is_refused(api, alice, incident, media):
    response = api(alice).put(
        f"/api/v1/incidents/{incident.number}/evidence/raw?filename=x.log&kind=log"
    )
    assert response.status_code == 411
    assert "Content-Length" in response.json()["detail"]


def test_empty_file_is_refused(api, alice, incident, media):
    response = _raw(api(alice), incident, b"", filename="empty.log", kind="other")
    assert response.status_code == 400
    assert "empty" in response.json()["detail"]
    response = _multipart(api(alice), incident, b"", "empty.log", "other")
    assert response.status_code == 400
    assert stored_files(media) == []


def test_auditor_cannot_upload(audrey, incident, media):
    with pytest.raises(NotPermitted):
        services.evidence_upload(
            ctx=_ctx(audrey, incident),
            incident=incident,
            fileobj=io.BytesIO(b"x\n"),
            filename="x.log",
            kind="log",
        )
    assert stored_files(media) == []


# --- write-once and the ledger -----------------------------------------------------------------


@pytest.fixture
def stored(ctx, alice, agency_a, incident, capture):
    return _upload(ctx, alice, agency_a, incident, capture)


def test_evidence_refuses_changes_to_its_file_and_hashes(stored):
    stored.sha256 = "0" * 64
    with pytest.raises(WriteOnceError):
        stored.save()
    with pytest.raises(WriteOnceError):
        Evidence.objects.filter(pk=stored.pk).update(storage_name="elsewhere")
    with pytest.raises(WriteOnceError):
        stored.delete()
    fresh = Evidence.objects.get(pk=stored.pk)
    fresh.description = "pcap of the exfiltration window"
    fresh.save()  # the one field that may change
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE evidence_evidence SET sha256 = %s WHERE id = %s", ["0" * 64, stored.pk]
        )


def test_custody_ledger_refuses_update_and_delete(stored):
    entry = stored.custody.get(seq=1)
    entry.note = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        CustodyEntry.objects.filter(pk=entry.pk).update(note="rewritten")
    with pytest.raises(AppendOnlyError):
        entry.delete()
    for sql in (
        "UPDATE evidence_custodyentry SET note = 'rewritten' WHERE id = %s",
        "DELETE FROM evidence_custodyentry WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])


def test_chain_verifies_and_a_modified_copy_is_detected(api, alice, audrey, stored):
    client = api(alice)
    for _ in range(2):
        assert client.get(f"/api/v1/evidence/{stored.pk}/download").status_code == 200
    entries = list(stored.custody.order_by("seq"))
    assert [e.seq for e in entries] == [1, 2, 3]
    assert services.ledger_check(stored) == []
    assert entries[1].prev_hash == entries[0].entry_hash

    altered = list(stored.custody.order_by("seq"))
    altered[1].note = "someone else downloaded it"
    assert services.ledger_check(stored, altered) == [
        "entry #2: contents do not match its hash (altered)"
    ]
    dropped = [entries[0], entries[2]]
    problems = services.ledger_check(stored, dropped)
    assert "entry #3: expected #2 (gap or reorder)" in problems
    assert "entry #3: prev_hash does not match the hash of the entry before" in problems
    # The chain is bound to the file's recorded hash.
    stored.sha256 = "f" * 64
    assert "entry #1: prev_hash does not match" in services.ledger_check(stored)[0]


def test_verify_ledger_reports_a_chain_altered_in_the_database(stored, capsys):
    call_command("verify_ledger")
    assert f"OK evidence {stored.pk}" in capsys.readouterr().out
    # A superuser can switch triggers off for a transaction (the test's own, rolled back
    # after): exactly the tampering the hash chain is there to reveal.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE evidence_custodyentry SET note = 'nothing to see' WHERE evidence_id = %s",
            [stored.pk],
        )
        cursor.execute("SET LOCAL session_replication_role = origin")
    with pytest.raises(CommandError, match="1 of 1 custody chain"):
        call_command("verify_ledger")
    out = capsys.readouterr().out
    assert f"FAILED evidence {stored.pk}" in out
    assert "entry #1: contents do not match its hash (altered)" in out


def test_concurrent_style_appends_get_gapless_sequence(stored):
    for _ in range(5):
        services.custody_append(evidence=stored, action="view", actor_name="system")
    assert list(stored.custody.values_list("seq", flat=True)) == list(range(1, 7))
    assert services.ledger_check(stored) == []


# --- downloads and verification ----------------------------------------------------------------


def test_download_streams_the_file_and_logs_it(api, alice, stored, capture):
    response = api(alice).get(f"/api/v1/evidence/{stored.pk}/download")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == capture
    assert response["Content-Length"] == str(len(capture))
    assert 'filename="capture.scap"' in response["Content-Disposition"]
    last = stored.custody.order_by("-seq").first()
    assert (last.action, last.actor) == ("download", alice)
    assert last.data == {"sha256_verified": hashlib.sha256(capture).hexdigest()}


def _tamper(evidence):
    path = Path(default_storage.path(evidence.storage_name))
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))


def test_tampered_file_is_caught_by_verify_evidence_and_download_refuses(
    api, alice, adam, stored, capsys
):
    call_command("verify_evidence")
    assert f"OK evidence {stored.pk}" in capsys.readouterr().out
    _tamper(stored)
    with pytest.raises(CommandError, match="1 of 1 evidence item"):
        call_command("verify_evidence")
    assert "FAILED" in capsys.readouterr().out
    mail.outbox.clear()

    response = api(alice).get(f"/api/v1/evidence/{stored.pk}/download")
    assert response.status_code == 409
    assert "failed verification" in response.json()["detail"]
    actions = list(stored.custody.order_by("seq").values_list("action", "data__ok"))
    assert actions == [("upload", None), ("verify", True), ("verify", False), ("verify", False)]
    assert not stored.custody.filter(action="download").exists()
    assert [m.to for m in mail.outbox] == [[adam.email]]
    assert services.ledger_check(stored) == []  # the ledger itself is intact


def test_file_changed_while_streaming_is_cut_short(ctx, alice, agency_a, stored):
    handle = services.evidence_open(ctx=ctx(alice, agency_a), evidence=stored, purpose="view")
    _tamper(stored)  # after the check, before the read
    with pytest.raises(IntegrityFailure):
        while handle.read(1 << 20):
            pass
    handle.close()


def test_missing_stored_file_fails_verification(stored, capsys):
    default_storage.delete(stored.storage_name)
    with pytest.raises(CommandError):
        call_command("verify_evidence")
    assert "the stored file is missing" in capsys.readouterr().out


# --- who sees what -----------------------------------------------------------------------------


def test_outsider_gets_404_on_another_agencys_evidence(api, bob, agency_b, stored, incident, media):
    client = api(bob)
    for url in (
        f"/api/v1/evidence/{stored.pk}/",
        f"/api/v1/evidence/{stored.pk}/download",
        f"/api/v1/evidence/{stored.pk}/custody",
        f"/api/v1/incidents/{incident.number}/evidence/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.get("/api/v1/evidence/").json()["count"] == 0
    before = stored_files(media)
    response = _raw(client, incident, b"hello\n", filename="x.log", kind="log")
    assert response.status_code == 404
    assert stored_files(media) == before
    assert not stored.custody.filter(actor=bob).exists()


def test_auditor_download_is_logged_and_ungranted_auditor_sees_nothing(
    api, audrey, adam, agency_a, ctx, stored
):
    client = api(audrey)
    assert client.get(f"/api/v1/evidence/{stored.pk}/download").status_code == 404
    assert client.get("/api/v1/evidence/").json()["count"] == 0

    auditor_grant(ctx=ctx(adam, agency_a), incident=stored.incident, user=audrey)
    response = client.get(f"/api/v1/evidence/{stored.pk}/download")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    last = stored.custody.order_by("-seq").first()
    assert (last.action, last.actor, last.actor_roles) == ("download", audrey, "auditor")
    custody = client.get(f"/api/v1/evidence/{stored.pk}/custody").json()
    assert [e["action"] for e in custody] == ["upload", "download"]
    assert custody[1]["prev_hash"] == custody[0]["entry_hash"]


def test_auditor_upload_is_not_permitted(api, audrey, adam, agency_a, ctx, incident, media):
    auditor_grant(ctx=ctx(adam, agency_a), incident=incident, user=audrey)
    response = _raw(api(audrey), incident, b"hello\n", filename="x.log", kind="log")
    assert response.status_code == 403
    assert stored_files(media) == []


def test_service_refuses_an_incident_outside_the_scope(ctx, bob, agency_b, incident, media):
    with pytest.raises(NotFound):
        services.evidence_upload(
            ctx=ctx(bob, agency_b),
            incident=incident,
            fileobj=io.BytesIO(b"x\n"),
            filename="x.log",
            kind="log",
        )
    assert stored_files(media) == []


def test_evidence_list_query_count_is_pinned(
    api, alice, ctx, agency_a, incident, django_assert_num_queries
):
    for n in range(3):
        _upload(ctx, alice, agency_a, incident, f"line {n}\n".encode(), kind="log", name="a.log")
    client = api(alice)
    client.get("/api/v1/evidence/")  # warm the agency context caches of the first request
    with django_assert_num_queries(4):
        body = client.get("/api/v1/evidence/").json()
    assert body["count"] == 3


def test_upload_evidence_command_uses_the_same_chain(alice, incident, capsys):
    path = shared_file("scap", "test_ipv6_client.scap")
    call_command("upload_evidence", incident.number, str(path), kind="scap", user="alice")
    evidence = Evidence.objects.get()
    assert evidence.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert evidence.format_details["block_counts"]["event"] == 326
    assert f"Evidence {evidence.pk}: scap" in capsys.readouterr().out
    with pytest.raises(CommandError, match=r"scap capture .*, not an image"):
        call_command("upload_evidence", incident.number, str(path), kind="image", user="alice")


@pytest.fixture
def digests(monkeypatch):
    """Every background digest the uploads of this test start, so the test asserts about its
    own threads only: whatever another test left running cannot make it fail."""
    started = []

    class Recorded(storage.BackgroundHash):
        def __init__(self, name):
            super().__init__(name)
            started.append(self)

    monkeypatch.setattr(intake, "BackgroundHash", Recorded)
    return started


def _alive(digests) -> list[str]:
    return [d.thread.name for d in digests if d.thread is not None and d.thread.is_alive()]


class StorageFails:
    """A storage whose save reads part of the upload, then fails like a full disk."""

    def __init__(self, storage):
        self.storage = storage

    def save(self, name, content, max_length=None):
        content.read(4096)
        raise OSError(28, "No space left on device")

    def __getattr__(self, name):
        return getattr(self.storage, name)


def test_hash_threads_end_with_every_upload_kept_or_refused(
    alice, incident, settings, capture, digests, monkeypatch
):
    kept = services.evidence_upload(
        ctx=_ctx(alice, incident),
        incident=incident,
        fileobj=io.BytesIO(capture),
        filename="curl_google.scap",
        kind="scap",
    )
    assert kept.sha256 == hashlib.sha256(capture).hexdigest()
    assert len(digests) == 2 and all(d.thread is not None for d in digests)
    assert _alive(digests) == []
    raw = shared_file("scap", "raw.scap").read_bytes()
    cases = (
        (io.BytesIO(raw[:-10]), "scap", None, InvalidInput),  # format: truncated at the end
        (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"x" * 9000), "scap", None, InvalidInput),  # kind
        (io.BytesIO(b"log line\n" * 10), "log", 5000, UploadInterrupted),  # declared size
        (io.BytesIO(b"x" * 50_000), "other", None, TooLarge),  # refused mid-stream
        (BreaksAfter(capture, reads=2), "other", None, UploadInterrupted),  # client went away
    )
    for source, kind, declared, error in cases:
        settings.DOCKET_EVIDENCE_MAX_BYTES = 20_000 if error is TooLarge else len(raw) * 2
        before = len(digests)
        with pytest.raises(error):
            services.evidence_upload(
                ctx=_ctx(alice, incident),
                incident=incident,
                fileobj=source,
                filename="x.bin",
                kind=kind,
                declared_size=declared,
            )
        assert len(digests) == before + 2, kind
        assert _alive(digests) == [], (kind, error)
    monkeypatch.setattr(intake, "default_storage", StorageFails(intake.default_storage))
    with pytest.raises(OSError, match="No space left"):
        services.evidence_upload(
            ctx=_ctx(alice, incident),
            incident=incident,
            fileobj=io.BytesIO(b"log line\n" * 1000),
            filename="x.log",
            kind="log",
        )
    assert _alive(digests) == []
    assert Evidence.objects.count() == 1


def test_a_format_refusal_ends_the_hash_threads_at_once(alice, incident, digests):
    """A capture refused for its format after the last byte (no _Rejected raised while
    reading) must not leave its threads to the garbage collector."""
    import gc

    raw = shared_file("scap", "raw.scap").read_bytes()
    gc.disable()  # the collector cannot be what ends them
    try:
        with pytest.raises(InvalidInput, match="is truncated"):
            services.evidence_upload(
                ctx=_ctx(alice, incident),
                incident=incident,
                fileobj=io.BytesIO(raw[:-10]),
                filename="raw.scap",
                kind="scap",
            )
        assert [d.thread is not None for d in digests] == [True, True]
        assert _alive(digests) == []
    finally:
        gc.enable()
