"""An item whose stored file failed verification says so: at the top of its page, on the
incident's evidence list and in the API's evidence representation, with no download offered;
the ledger's hash chain (the record of handling) is reported apart, truthfully. A later check
that finds the file intact (restored from a trusted copy) clears the alarm; the failure stays
in the ledger and is still mentioned."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.files.storage import default_storage

from evidence import integrity, services
from evidence.errors import IntegrityFailure
from evidence.services import common

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # 09:00 EST
CONTENT = b"".join(f"Nov 02 08:{m:02d}:00 node kubelet: line {m}\n".encode() for m in range(12))


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def stored(ctx, alice, agency_a, open_incident):
    incident = open_incident(now=NOW - timedelta(hours=3))
    return services.evidence_upload(
        ctx=ctx(alice, agency_a),
        incident=incident,
        fileobj=io.BytesIO(CONTENT),
        filename="node.log",
        kind="log",
        now=NOW - timedelta(hours=2),
    )


def _path(evidence) -> Path:
    return Path(default_storage.path(evidence.storage_name))


def _tamper(evidence) -> bytes:
    data = bytearray(_path(evidence).read_bytes())
    data[100] ^= 0xFF
    _path(evidence).write_bytes(bytes(data))
    return bytes(data)


def _restore(evidence) -> None:
    _path(evidence).write_bytes(CONTENT)


@pytest.fixture
def failed(ctx, carol, agency_a, stored):
    """Verified intact an hour ago, then altered; carol's check at 08:30 EST found it."""
    services.evidence_verify(
        ctx=ctx(carol, agency_a), evidence=stored, now=NOW - timedelta(hours=1)
    )
    altered = _tamper(stored)
    services.evidence_verify(
        ctx=ctx(carol, agency_a), evidence=stored, now=NOW - timedelta(minutes=30)
    )
    return hashlib.sha256(altered).hexdigest()


def test_item_page_shows_the_failed_verification_at_the_top_and_offers_no_download(
    client, alice, carol, stored, failed
):
    client.force_login(alice)
    page = client.get(f"/evidence/{stored.pk}/").content.decode()
    alert = page.index('id="integrity-alert"')
    assert alert < page.index("<h2>Actions</h2>")
    top = page[alert : page.index("</div></div>", alert)]
    assert "Verification failed 2026-11-02 08:30 EST (America/New_York)" in top
    assert f'SHA-256 <code class="docket-wrap-anywhere">{stored.sha256}</code>' in top
    assert f"{len(CONTENT)} bytes" in top
    assert f'SHA-256 <code class="docket-wrap-anywhere">{failed}</code>' in top
    assert f"Found by {common._person(carol)} (verification" in top
    assert f'href="/evidence/{stored.pk}/download/"' not in page
    assert f'action="/evidence/{stored.pk}/verify/"' in page  # verifying again stays possible
    # The ledger is intact and says so — about the ledger, next to the file's failure.
    assert "The ledger's hash chain holds" in page
    assert "the stored file itself failed verification" in page


def test_incident_evidence_list_flags_the_failed_item(client, alice, stored, failed):
    client.force_login(alice)
    page = client.get(f"/incidents/{stored.incident.number}/evidence/").content.decode()
    alert = page[page.index('id="integrity-alert"') : page.index("<table")]
    assert "1 item failed verification" in alert
    assert f'href="/evidence/{stored.pk}/"' in alert
    assert f"SHA-256 of the stored file is {failed}, recorded {stored.sha256}" in alert
    row = page[page.index("<tbody>") :]
    assert "Verification failed</span><br>" in row
    assert "2026-11-02 08:30 EST (America/New_York)" in row


def test_api_evidence_carries_its_integrity(api, alice, carol, stored, failed):
    for url in (
        f"/api/v1/evidence/{stored.pk}/",
        f"/api/v1/incidents/{stored.incident.number}/evidence/",
        "/api/v1/evidence/",
    ):
        body = api(alice).get(url).json()
        item = body if "integrity" in body else body["results"][0]
        state = item["integrity"]
        assert state["status"] == "failed", url
        assert state["expected_sha256"] == stored.sha256
        assert state["expected_size"] == len(CONTENT)
        last = state["last_verification"]
        assert (last["ok"], last["by"], last["how"]) == (
            False,
            common._person(carol),
            "verification",
        )
        assert last["at"] == "2026-11-02T13:30:00Z"
        assert last["at_local"] == "2026-11-02 08:30 EST (America/New_York)"
        assert (last["found_sha256"], last["found_size"]) == (failed, len(CONTENT))
        assert "SHA-256 of the stored file is" in last["problem"]
        assert state["last_failure"] == last


def test_an_unverified_and_a_verified_item_say_so(api, ctx, carol, agency_a, stored):
    body = api(carol).get(f"/api/v1/evidence/{stored.pk}/").json()
    assert body["integrity"]["status"] == "unchecked"
    assert body["integrity"]["last_verification"] is None
    services.evidence_verify(ctx=ctx(carol, agency_a), evidence=stored)
    state = api(carol).get(f"/api/v1/evidence/{stored.pk}/").json()["integrity"]
    assert state["status"] == "verified" and state["last_failure"] is None
    assert state["last_verification"]["ok"] is True


def test_a_refused_download_is_itself_a_failed_check(client, alice, stored):
    _tamper(stored)
    client.force_login(alice)
    refused = client.get(f"/evidence/{stored.pk}/download/")
    assert refused.status_code == 409
    page = refused.content.decode()
    assert 'id="integrity-alert"' in page
    assert f'href="/evidence/{stored.pk}/download/"' not in page
    assert integrity.of(stored).failed


def test_a_file_changed_while_streaming_is_recorded_as_failed(ctx, alice, agency_a, stored):
    handle = services.evidence_open(ctx=ctx(alice, agency_a), evidence=stored, purpose="download")
    _tamper(stored)  # after the check, before the read
    with pytest.raises(IntegrityFailure):
        while handle.read(1 << 20):
            pass
    handle.close()
    state = integrity.of(stored)
    assert state.failed
    assert "changed while it was being read" in state.failure.problem
    assert state.failure.by == common._person(alice)


def test_a_later_successful_verification_clears_the_alarm_and_keeps_the_history(
    client, api, ctx, carol, alice, agency_a, stored, failed
):
    _restore(stored)
    result = services.evidence_verify(ctx=ctx(carol, agency_a), evidence=stored)
    assert result.ok
    client.force_login(alice)
    page = client.get(f"/evidence/{stored.pk}/").content.decode()
    assert 'id="integrity-alert"' not in page
    assert f'href="/evidence/{stored.pk}/download/"' in page
    assert "An earlier verification failed 2026-11-02 08:30 EST (America/New_York)" in page
    state = api(alice).get(f"/api/v1/evidence/{stored.pk}/").json()["integrity"]
    assert state["status"] == "verified"
    assert state["last_failure"]["at"] == "2026-11-02T13:30:00Z"
    assert client.get(f"/evidence/{stored.pk}/download/").status_code == 200


def test_the_annotated_and_the_ledger_readings_agree(ctx, carol, agency_a, stored, failed):
    from evidence.models import Evidence

    annotated = integrity.annotate(Evidence.objects.filter(pk=stored.pk)).get()
    assert integrity.of(annotated) == integrity.from_entries(stored, stored.custody.all())
