"""The evidence pages: an incident's evidence with its upload form, an item's page (which is
itself a logged access), the verified download, and the verify, withdraw and transfer actions.
"""

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEntry
from evidence import services
from evidence.models import CustodyTransfer, Evidence

from .support.data import shared_file

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # 09:00 EST, the Monday after DST ended


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media) -> list[Path]:
    root = Path(media)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def incident(open_incident):
    return open_incident(now=NOW - timedelta(hours=3))


@pytest.fixture
def capture():
    return shared_file("scap", "curl_google.scap").read_bytes()


@pytest.fixture
def stored(ctx, alice, agency_a, incident, capture):
    return services.evidence_upload(
        ctx=ctx(alice, agency_a),
        incident=incident,
        fileobj=io.BytesIO(capture),
        filename="curl_google.scap",
        kind="scap",
        now=NOW - timedelta(hours=1),
    )


def _form(content, name="curl_google.scap", **fields):
    return {"file": SimpleUploadedFile(name, content), "kind": "scap", **fields}


# --- the incident's evidence ----------------------------------------------------------------


def test_list_shows_each_item_with_hash_format_and_local_upload_time(
    login, carol, olivia, ctx, agency_a, incident, stored
):
    services.evidence_withdraw(ctx=ctx(olivia, agency_a), evidence=stored, reason="Wrong node.")
    response = login(carol).get(f"/incidents/{incident.number}/evidence/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "curl_google.scap" in page
    assert stored.sha256 in page
    assert "scap capture 1.0 (gzip)" in page
    assert "2026-11-02 08:00 EST (America/New_York)" in page
    assert "by alice" in page
    assert "Withdrawn" in page
    assert f'href="/evidence/{stored.pk}/"' in page


def test_upload_from_the_page_stores_a_real_capture_with_its_metadata(
    login, alice, incident, capture
):
    response = login(alice).post(
        f"/incidents/{incident.number}/evidence/",
        _form(
            capture,
            collected_at="2026-11-02T07:30",
            collected_by="Alice Analyst",
            source_host="node-7.k8s.example.gov",
            source_ip="10.0.0.7",
            source_namespace="store",
            source_pod="store-frontend-7d9",
            source_container="ee97d9c4186f",
            source_image="registry.example.gov/store/frontend:1.4",
            collecting_tool="sysdig 0.38.1",
            description="Capture of the shell in the pod.",
        ),
    )
    ev = Evidence.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/evidence/{ev.pk}/"
    assert ev.sha256 == hashlib.sha256(capture).hexdigest()
    assert ev.collected_at == datetime(2026, 11, 2, 12, 30, tzinfo=UTC)  # 07:30 EST
    assert (ev.collected_by, ev.collecting_tool) == ("Alice Analyst", "sysdig 0.38.1")
    assert (ev.source_pod, ev.source_image) == (
        "store-frontend-7d9",
        "registry.example.gov/store/frontend:1.4",
    )
    assert str(ev.source_ip) == "10.0.0.7"
    assert ev.description == "Capture of the shell in the pod."
    assert list(ev.custody.values_list("action", flat=True)) == ["collect", "upload"]


@pytest.mark.parametrize(
    ("local", "words"),
    [
        ("2026-11-01T01:30", "occurs twice in America/New_York"),
        ("2026-03-08T02:30", "does not exist in America/New_York"),
    ],
)
def test_upload_refuses_an_ambiguous_or_missing_collection_time(
    login, alice, incident, capture, media, local, words
):
    response = login(alice).post(
        f"/incidents/{incident.number}/evidence/", _form(capture, collected_at=local)
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert words in page
    assert 'href="#id_collected_at"' in page  # the error summary names the field
    assert not Evidence.objects.exists() and stored_files(media) == []


def test_rejected_file_is_shown_on_the_file_field_and_nothing_is_stored(
    login, alice, incident, media
):
    raw = shared_file("scap", "raw.scap").read_bytes()
    response = login(alice).post(f"/incidents/{incident.number}/evidence/", _form(raw[:-10]))
    assert response.status_code == 400
    page = response.content.decode()
    assert "is truncated" in page
    assert 'href="#id_file"' in page
    assert not Evidence.objects.exists() and stored_files(media) == []


def test_missing_kind_and_file_are_named(login, alice, incident):
    response = login(alice).post(f"/incidents/{incident.number}/evidence/", {})
    assert response.status_code == 400
    page = response.content.decode()
    assert "File: This field is required." in page
    assert "Kind: This field is required." in page


def test_auditor_sees_no_upload_form_and_cannot_post(
    login, audrey, adam, ctx, agency_a, incident, capture
):
    from incidents.services import auditor_grant

    auditor_grant(ctx=ctx(adam, agency_a), incident=incident, user=audrey)
    client = login(audrey)
    page = client.get(f"/incidents/{incident.number}/evidence/")
    assert page.status_code == 200 and b'enctype="multipart/form-data"' not in page.content
    assert client.post(f"/incidents/{incident.number}/evidence/", _form(capture)).status_code == 403
    assert not Evidence.objects.exists()


# --- an item's page -------------------------------------------------------------------------


def test_item_page_shows_hashes_format_and_ledger_and_logs_the_view(login, carol, stored):
    response = login(carol).get(f"/evidence/{stored.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert stored.sha256 in page and stored.md5 in page
    assert "scap capture 1.0 (gzip)" in page
    assert '<th scope="row">event</th><td>1536</td>' in page
    assert "The ledger's hash chain holds: 1 entry," in page
    assert "held by <strong>alice</strong>" in page
    # Opening the page is an audit entry; the custody ledger records handling of the item.
    entries = list(stored.custody.order_by("seq").values_list("action", "actor__username"))
    assert entries == [("upload", "alice")]
    assert AuditEntry.objects.filter(act="evidence_view", actor=carol).count() == 1
    assert services.ledger_check(stored) == []


def test_download_from_the_page_streams_the_verified_file(login, alice, stored, capture):
    response = login(alice).get(f"/evidence/{stored.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == capture
    assert 'filename="curl_google.scap"' in response["Content-Disposition"]
    assert stored.custody.filter(action="download", actor__username="alice").exists()


def _tamper(evidence):
    path = Path(default_storage.path(evidence.storage_name))
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))


def test_verify_button_records_the_result_and_a_tampered_download_is_refused(login, alice, stored):
    client = login(alice)
    ok = client.post(f"/evidence/{stored.pk}/verify/", follow=True)
    assert "Verified: the stored file matches" in ok.content.decode()
    _tamper(stored)
    failed = client.post(f"/evidence/{stored.pk}/verify/", follow=True)
    assert "Verification FAILED" in failed.content.decode()
    refused = client.get(f"/evidence/{stored.pk}/download/")
    assert refused.status_code == 409
    assert "failed verification" in refused.content.decode()
    oks = stored.custody.filter(action="verify").order_by("seq").values_list("data__ok", flat=True)
    assert list(oks) == [True, False, False]


def test_withdraw_from_the_page(login, alice, olivia, stored):
    url = f"/evidence/{stored.pk}/withdraw/"
    assert login(alice).post(url, {"reason": "x"}).status_code == 403
    client = login(olivia)
    assert (
        b'action="/evidence/%d/withdraw/"' % stored.pk
        in client.get(f"/evidence/{stored.pk}/").content
    )
    blank = client.post(url, {"reason": ""})
    assert blank.status_code == 400
    assert "Reason for withdrawing: This field is required." in blank.content.decode()
    done = client.post(url, {"reason": "Collected from the wrong node."}, follow=True)
    page = done.content.decode()
    assert "Withdrawn 2026-11-02 09:00 EST (America/New_York) by olivia" in page
    assert f'action="/evidence/{stored.pk}/withdraw/"' not in page
    again = client.post(url, {"reason": "Again."})
    assert again.status_code == 409
    assert "already withdrawn" in again.content.decode()
    stored.refresh_from_db()
    assert stored.withdrawn_reason == "Collected from the wrong node."


def test_transfer_offered_and_acknowledged_on_the_page(login, client, alice, carol, stored):
    page = login(alice).get(f"/evidence/{stored.pk}/").content.decode()
    assert "Offer transfer" in page and f'value="{carol.pk}"' in page
    offered = client.post(f"/evidence/{stored.pk}/transfer/", {"to_user": carol.pk, "note": "Lab"})
    assert offered.status_code == 302
    offer = CustodyTransfer.objects.get()
    page = login(carol).get(f"/evidence/{stored.pk}/").content.decode()
    assert "Awaiting acknowledgement by carol" in page and "Acknowledge receipt" in page
    done = client.post(f"/evidence/transfers/{offer.pk}/", {"decision": "accept"}, follow=True)
    assert "you now hold this item" in done.content.decode()
    assert "held by <strong>carol</strong>" in done.content.decode()
    assert services.custodian(stored) == carol
    assert stored.custody.filter(action="transfer", from_person=alice, to_person=carol).exists()


def test_transfer_form_refuses_a_missing_receiver_and_a_non_custodian(login, alice, carol, stored):
    refused = login(alice).post(f"/evidence/{stored.pk}/transfer/", {"to_user": ""})
    assert refused.status_code == 400
    assert "Hand custody to: This field is required." in refused.content.decode()
    assert (
        login(carol).post(f"/evidence/{stored.pk}/transfer/", {"to_user": alice.pk}).status_code
        == 403
    )
    assert not CustodyTransfer.objects.exists()


def test_outsider_gets_404_on_every_evidence_page(
    login, alice, bob, carol, ctx, agency_a, incident, stored
):
    offer = services.transfer_offer(ctx=ctx(alice, agency_a), evidence=stored, to_user=carol)
    client = login(bob)
    for url in (
        f"/incidents/{incident.number}/evidence/",
        f"/evidence/{stored.pk}/",
        f"/evidence/{stored.pk}/download/",
    ):
        assert client.get(url).status_code == 404, url
    for url, body in (
        (f"/evidence/{stored.pk}/verify/", {}),
        (f"/evidence/{stored.pk}/withdraw/", {"reason": "x"}),
        (f"/evidence/{stored.pk}/transfer/", {"to_user": bob.pk}),
        (f"/evidence/transfers/{offer.pk}/", {"decision": "accept"}),
    ):
        assert client.post(url, body).status_code == 404, url
    assert list(stored.custody.values_list("action", flat=True)) == ["upload"]


def test_incident_page_links_to_its_evidence(login, carol, incident):
    page = login(carol).get(f"/incidents/{incident.number}/").content.decode()
    assert f'href="/incidents/{incident.number}/evidence/"' in page


def test_upload_declared_over_the_limit_is_refused_before_the_body_is_parsed(
    login, alice, incident, settings, media, monkeypatch
):
    from django.http import multipartparser

    def never(self):
        raise AssertionError("the multipart body was parsed")

    monkeypatch.setattr(multipartparser.MultiPartParser, "parse", never)
    settings.DOCKET_EVIDENCE_MAX_BYTES = 1000
    response = login(alice).post(
        f"/incidents/{incident.number}/evidence/", _form(b"x" * (3 << 20), name="big.bin")
    )
    assert response.status_code == 413
    assert "larger than the limit of 1000" in response.content.decode()
    assert not Evidence.objects.exists() and stored_files(media) == []


def test_upload_form_still_needs_its_csrf_token(alice, incident, capture):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(f"/incidents/{incident.number}/evidence/", _form(capture))
    assert response.status_code == 403
    assert not Evidence.objects.exists()
