"""Evidence on S3-compatible storage: django-storages' S3Storage against moto's server mode,
started by the test on 127.0.0.1 (real HTTP, real multipart uploads). A real capture goes up
through the raw streaming endpoint, is promoted by a server-side copy, verified, downloaded as a
stream; a rejected upload — after the whole file, or mid-stream in a multipart upload — leaves
no object and no unfinished multipart upload behind."""

import hashlib
import io
import socket

import environ
import pytest

from accounts.context import context_for
from evidence import services
from evidence.errors import TooLarge
from evidence.models import Evidence
from evidence.storage import MIB, s3_storage_options

from .support.data import shared_file

BUCKET = "docket-evidence-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(moto_endpoint, settings, monkeypatch):
    """The default storage is S3 (options built from DOCKET_S3_* as in production); yields a
    boto3 client on the same bucket, emptied after the test."""
    import boto3

    env_vars = {
        "DOCKET_S3_BUCKET": BUCKET,
        "DOCKET_S3_ENDPOINT_URL": moto_endpoint,
        "DOCKET_S3_REGION": "us-east-1",
        "DOCKET_S3_ACCESS_KEY_ID": "testing",
        "DOCKET_S3_SECRET_ACCESS_KEY": "testing",
        "DOCKET_S3_SSE": "AES256",
        "DOCKET_S3_PART_MIB": "5",  # S3's smallest part: multipart from 5 MiB on
    }
    for name, value in env_vars.items():
        monkeypatch.setenv(name, value)
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_storage_options(environ.Env()),
        },
    }
    yield client
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])


def _keys(client) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def _unfinished(client) -> list:
    return client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


@pytest.fixture
def incident(open_incident):
    from datetime import timedelta

    from django.utils import timezone

    return open_incident(now=timezone.now() - timedelta(hours=2))


def _raw(client, incident, content, *, filename, kind):
    return client.put(
        f"/api/v1/incidents/{incident.number}/evidence/raw?filename={filename}&kind={kind}",
        data=content,
        content_type="application/octet-stream",
        CONTENT_LENGTH=str(len(content)),
    )


def test_real_capture_is_stored_verified_and_downloaded_from_s3(
    s3, api, alice, ctx, agency_a, incident
):
    capture = shared_file("scap", "curl_google.scap").read_bytes()
    response = _raw(api(alice), incident, capture, filename="curl_google.scap", kind="scap")
    assert response.status_code == 201, response.json()
    ev = Evidence.objects.get()
    assert ev.storage_backend == "storages.backends.s3.S3Storage"
    assert ev.format_details["block_counts"]["event"] == 1536
    assert _keys(s3) == [ev.storage_name]  # promoted: the temporary object is gone
    head = s3.head_object(Bucket=BUCKET, Key=ev.storage_name)
    assert head["ContentLength"] == len(capture)
    assert head["ServerSideEncryption"] == "AES256"  # the copy keeps the encryption

    assert services.evidence_verify(ctx=ctx(alice, agency_a), evidence=ev).ok
    download = api(alice).get(f"/api/v1/evidence/{ev.pk}/download")
    assert download.status_code == 200
    body = b"".join(download.streaming_content)
    assert hashlib.sha256(body).hexdigest() == ev.sha256 == hashlib.sha256(capture).hexdigest()
    actions = list(ev.custody.order_by("seq").values_list("action", flat=True))
    assert actions == ["upload", "verify", "download"]
    assert services.ledger_check(ev) == []


def _count_calls(operation: str) -> list:
    """Every ``operation`` call the default storage's S3 client makes from now on."""
    from django.core.files.storage import default_storage

    calls = []
    events = default_storage.connection.meta.client.meta.events
    events.register(
        f"provide-client-params.s3.{operation}", lambda **kw: calls.append(kw["params"])
    )
    return calls


def test_large_upload_goes_up_in_parts_and_is_promoted_by_a_server_side_copy(
    s3, api, carol, incident
):
    content = b"2026-11-02T14:00:00Z node-7 kernel: audit line\n" * (12 * MIB // 48)
    parts, copies = _count_calls("UploadPart"), _count_calls("UploadPartCopy")
    response = _raw(api(carol), incident, content, filename="node-7.log", kind="log")
    assert response.status_code == 201, response.json()
    ev = Evidence.objects.get()
    assert len(parts) == 3  # 12 MiB in 5 MiB parts: streamed, never one body
    # promoted by a (multipart) server-side copy: no byte of it passed through Docket again
    assert [c["Key"] for c in copies] == [ev.storage_name] * 3
    assert s3.head_object(Bucket=BUCKET, Key=ev.storage_name)["ContentLength"] == len(content)
    assert ev.sha256 == hashlib.sha256(content).hexdigest()
    assert _unfinished(s3) == [] and _keys(s3) == [ev.storage_name]
    assert services.evidence_verify(ctx=context_for(carol, incident.agency), evidence=ev).ok


def test_rejected_capture_leaves_no_object(s3, api, alice, incident):
    raw = shared_file("scap", "raw.scap").read_bytes()
    response = _raw(api(alice), incident, raw[:-10], filename="raw.scap", kind="scap")
    assert response.status_code == 400
    assert "is truncated" in response.json()["detail"]
    assert _keys(s3) == [] and _unfinished(s3) == []
    assert not Evidence.objects.exists()


def test_upload_refused_mid_stream_aborts_its_multipart_upload(s3, api, alice, incident, settings):
    settings.DOCKET_EVIDENCE_MAX_BYTES = 11 * MIB
    content = b"x" * (16 * MIB)
    with pytest.raises(TooLarge, match="larger than the limit"):
        services.evidence_upload(
            ctx=context_for(alice, incident.agency),
            incident=incident,
            fileobj=io.BytesIO(content),
            filename="big.bin",
            kind="other",
        )
    assert _keys(s3) == [] and _unfinished(s3) == []
    assert not Evidence.objects.exists()


def test_missing_object_fails_verification_and_the_download(
    s3, api, alice, ctx, agency_a, incident
):
    raw = shared_file("scap", "raw.scap").read_bytes()
    assert _raw(api(alice), incident, raw, filename="raw.scap", kind="scap").status_code == 201
    ev = Evidence.objects.get()
    s3.delete_object(Bucket=BUCKET, Key=ev.storage_name)
    result = services.evidence_verify(ctx=ctx(alice, agency_a), evidence=ev)
    assert not result.ok and result.problems == ["the stored file is missing"]
    assert api(alice).get(f"/api/v1/evidence/{ev.pk}/download").status_code == 409
