"""Custody after upload: transfer of custody (offer, acknowledgement by the receiver, who may
offer and to whom), withdrawal by an approving official (once, with a reason, the file and
ledger kept), export and on-demand verification entries, and the API actions for each.

Personas (tests/conftest.py): alice the ISSO and carol the compliance officer of agency A,
olivia A's approving official, audrey A's auditor, adam A's administrator, bob of agency B.
"""

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.errors import Conflict, InvalidInput, NotFound, NotPermitted
from evidence import services
from evidence.errors import IntegrityFailure
from evidence.models import CustodyTransfer, Evidence, TransferState, WriteOnceError
from evidence.services import transfers

from .support.data import shared_file


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def incident(open_incident):
    return open_incident(now=timezone.now() - timedelta(hours=2))


@pytest.fixture
def stored(ctx, alice, agency_a, incident):
    capture = shared_file("scap", "curl_google.scap").read_bytes()
    return services.evidence_upload(
        ctx=ctx(alice, agency_a),
        incident=incident,
        fileobj=io.BytesIO(capture),
        filename="curl_google.scap",
        kind="scap",
    )


def _actions(ev):
    return list(ev.custody.order_by("seq").values_list("action", flat=True))


# --- transfer of custody --------------------------------------------------------------------


def test_uploader_is_custodian_until_a_transfer_is_acknowledged(
    ctx, alice, carol, agency_a, stored
):
    assert services.custodian(stored) == alice
    offer = services.transfer_offer(
        ctx=ctx(alice, agency_a), evidence=stored, to_user=carol, note="For the forensic lab."
    )
    assert offer.state == TransferState.PENDING
    assert services.custodian(stored) == alice  # an offer changes nothing yet
    assert _actions(stored) == ["upload"]

    entry = services.transfer_accept(ctx=ctx(carol, agency_a), transfer=offer)
    assert services.custodian(stored) == carol
    assert (entry.action, entry.from_person, entry.to_person, entry.actor) == (
        "transfer",
        alice,
        carol,
        carol,
    )
    assert "For the forensic lab." in entry.note
    assert entry.data["transfer"] == offer.pk
    offer.refresh_from_db()
    assert offer.state == TransferState.ACCEPTED
    assert services.ledger_check(stored) == []


def test_only_the_receiver_may_acknowledge(ctx, alice, carol, adam, agency_a, stored):
    offer = services.transfer_offer(ctx=ctx(alice, agency_a), evidence=stored, to_user=carol)
    for who in (alice, adam):
        with pytest.raises(NotPermitted, match="Only the receiver"):
            services.transfer_accept(ctx=ctx(who, agency_a), transfer=offer)
    assert services.custodian(stored) == alice


def test_former_custodian_may_no_longer_transfer_but_an_admin_may(
    ctx, alice, carol, olivia, adam, agency_a, stored
):
    offer = services.transfer_offer(ctx=ctx(alice, agency_a), evidence=stored, to_user=carol)
    services.transfer_accept(ctx=ctx(carol, agency_a), transfer=offer)
    with pytest.raises(NotPermitted, match=r"current custodian \(carol\)"):
        services.transfer_offer(ctx=ctx(alice, agency_a), evidence=stored, to_user=olivia)
    by_admin = services.transfer_offer(ctx=ctx(adam, agency_a), evidence=stored, to_user=olivia)
    assert by_admin.from_person == carol and by_admin.requested_by == adam
    entry = services.transfer_accept(ctx=ctx(olivia, agency_a), transfer=by_admin)
    assert "offered by adam" in entry.note
    assert _actions(stored) == ["upload", "transfer", "transfer"]


def test_someone_who_is_not_the_custodian_cannot_transfer(ctx, carol, olivia, agency_a, stored):
    with pytest.raises(NotPermitted):
        services.transfer_offer(ctx=ctx(carol, agency_a), evidence=stored, to_user=olivia)


def test_receiver_must_be_a_member_of_the_agency_who_sees_the_incident(
    ctx, alice, bob, audrey, agency_a, stored
):
    for outsider in (bob, audrey):  # another agency; an auditor without a grant
        with pytest.raises(InvalidInput, match="member of this agency"):
            services.transfer_offer(ctx=ctx(alice, agency_a), evidence=stored, to_user=outsider)
    with pytest.raises(InvalidInput, match="already holds"):
        services.transfer_offer(ctx=ctx(alice, agency_a), evidence=stored, to_user=alice)
    assert not CustodyTransfer.objects.exists()


def test_one_pending_offer_at_a_time_and_decline_changes_nothing(
    ctx, alice, carol, olivia, agency_a, stored
):
    offer = services.transfer_offer(ctx=ctx(alice, agency_a), evidence=stored, to_user=carol)
    with pytest.raises(Conflict, match="already awaiting"):
        services.transfer_offer(ctx=ctx(alice, agency_a), evidence=stored, to_user=olivia)
    declined = services.transfer_decline(ctx=ctx(carol, agency_a), transfer=offer, note="Not mine")
    assert declined.state == TransferState.DECLINED
    with pytest.raises(Conflict, match="already declined"):
        services.transfer_accept(ctx=ctx(carol, agency_a), transfer=offer)
    again = services.transfer_offer(ctx=ctx(alice, agency_a), evidence=stored, to_user=olivia)
    assert services.transfer_decline(ctx=ctx(alice, agency_a), transfer=again).state == (
        TransferState.CANCELLED
    )
    assert services.custodian(stored) == alice
    assert _actions(stored) == ["upload"]


def test_outsider_cannot_touch_another_agencys_transfers(
    ctx, alice, carol, bob, agency_a, agency_b, stored
):
    offer = services.transfer_offer(ctx=ctx(alice, agency_a), evidence=stored, to_user=carol)
    with pytest.raises(NotFound):
        services.transfer_accept(ctx=ctx(bob, agency_b), transfer=offer)
    with pytest.raises(NotFound):
        services.transfer_offer(ctx=ctx(bob, agency_b), evidence=stored, to_user=bob)


# --- withdrawal -----------------------------------------------------------------------------


def test_approving_official_withdraws_once_with_a_reason(ctx, olivia, agency_a, stored, media):
    ev = services.evidence_withdraw(
        ctx=ctx(olivia, agency_a), evidence=stored, reason="Collected from the wrong node."
    )
    ev.refresh_from_db()
    assert ev.withdrawn and ev.withdrawn_by == olivia
    assert ev.withdrawn_reason == "Collected from the wrong node."
    assert _actions(ev) == ["upload", "withdraw"]
    assert ev.custody.get(action="withdraw").note == "Collected from the wrong node."
    assert default_storage.exists(ev.storage_name)  # the file stays
    assert not Evidence.objects.current().filter(pk=ev.pk).exists()
    with pytest.raises(Conflict, match="already withdrawn"):
        services.evidence_withdraw(ctx=ctx(olivia, agency_a), evidence=stored, reason="Again.")
    assert _actions(ev) == ["upload", "withdraw"]
    assert services.ledger_check(ev) == []


def test_a_withdrawn_item_still_downloads_and_its_ledger_entry_says_it_was_withdrawn(
    ctx, olivia, audrey, agency_a, stored, media
):
    services.evidence_withdraw(ctx=ctx(olivia, agency_a), evidence=stored, reason="Wrong node.")
    fh = services.evidence_open(ctx=ctx(olivia, agency_a), evidence=stored, purpose="download")
    fh.close()
    entry = stored.custody.get(action="download")
    assert entry.data["withdrawn"] is True
    assert entry.note.startswith("Withdrawn item (since ") and entry.note.endswith("Wrong node.).")
    assert services.ledger_check(stored) == []


def test_custody_is_never_offered_to_a_deactivated_account(ctx, alice, carol, agency_a, stored):
    carol.is_active = False
    carol.save()
    with pytest.raises(InvalidInput, match="active member"):
        services.transfer_offer(ctx=ctx(alice, agency_a), evidence=stored, to_user=carol)
    assert not CustodyTransfer.objects.exists()


def test_withdrawal_needs_an_approving_official_and_a_reason(
    ctx, alice, carol, adam, olivia, agency_a, stored
):
    for who in (alice, carol, adam):
        with pytest.raises(NotPermitted, match="approving official"):
            services.evidence_withdraw(ctx=ctx(who, agency_a), evidence=stored, reason="x")
    with pytest.raises(InvalidInput, match="reason") as caught:
        services.evidence_withdraw(ctx=ctx(olivia, agency_a), evidence=stored, reason="  ")
    assert caught.value.extra["field"] == "reason"
    stored.refresh_from_db()
    assert not stored.withdrawn
    assert _actions(stored) == ["upload"]


def test_withdrawal_fields_are_settable_once_in_the_model(ctx, olivia, alice, agency_a, stored):
    services.evidence_withdraw(ctx=ctx(olivia, agency_a), evidence=stored, reason="Wrong node.")
    stored.refresh_from_db()
    stored.withdrawn_reason = "Rewritten"
    with pytest.raises(WriteOnceError, match="already withdrawn"):
        stored.save(update_fields=["withdrawn_reason"])
    with pytest.raises(WriteOnceError):
        Evidence.objects.filter(pk=stored.pk).update(withdrawn_reason="Rewritten")
    stored.refresh_from_db()
    stored.description = "still editable"
    stored.save(update_fields=["description"])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL trigger")
def test_trigger_lets_withdrawal_be_set_once_only(stored, olivia):
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE evidence_evidence SET withdrawn_at = now(), withdrawn_by_id = %s, "
            "withdrawn_reason = 'raw' WHERE id = %s",
            [olivia.pk, stored.pk],
        )
    for sql in (
        "UPDATE evidence_evidence SET withdrawn_reason = 'rewritten' WHERE id = %s",
        "UPDATE evidence_evidence SET withdrawn_at = NULL WHERE id = %s",
        "UPDATE evidence_evidence SET sha256 = repeat('0', 64) WHERE id = %s",
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [stored.pk])


# --- export and verification entries --------------------------------------------------------


def test_export_is_recorded_after_a_fresh_check(ctx, carol, olivia, agency_a, stored):
    entry = services.custody_export(
        ctx=ctx(carol, agency_a), evidence=stored, destination="IG package 2026-07", package="p1"
    )
    assert (entry.action, entry.location) == ("export", "IG package 2026-07")
    assert entry.data == {"sha256_verified": stored.sha256, "package": "p1"}
    with pytest.raises(InvalidInput, match="exported to"):
        services.custody_export(ctx=ctx(carol, agency_a), evidence=stored, destination=" ")
    services.evidence_withdraw(ctx=ctx(olivia, agency_a), evidence=stored, reason="Wrong node.")
    with pytest.raises(Conflict, match="withdrawn"):
        services.custody_export(ctx=ctx(carol, agency_a), evidence=stored, destination="IG")
    assert _actions(stored) == ["upload", "export", "withdraw"]


def _tamper(evidence):
    path = Path(default_storage.path(evidence.storage_name))
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))


def test_tampered_file_is_not_exported_and_verify_records_the_failure(
    ctx, alice, adam, agency_a, stored
):
    assert services.evidence_verify(ctx=ctx(alice, agency_a), evidence=stored).ok
    _tamper(stored)
    with pytest.raises(IntegrityFailure):
        services.custody_export(ctx=ctx(alice, agency_a), evidence=stored, destination="IG")
    result = services.evidence_verify(ctx=ctx(alice, agency_a), evidence=stored)
    assert not result.ok and "SHA-256 of the stored file" in result.problems[0]
    oks = list(
        stored.custody.filter(action="verify").order_by("seq").values_list("data__ok", flat=True)
    )
    assert oks == [True, False, False]
    assert not stored.custody.filter(action="export").exists()
    assert adam.email in mail.outbox[-1].to


# --- the API --------------------------------------------------------------------------------


def test_api_transfer_offer_and_acknowledgement(api, alice, carol, stored):
    response = api(alice).post(
        f"/api/v1/evidence/{stored.pk}/transfers",
        {"to_user": "carol", "note": "Lab"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    offer = response.json()
    assert (offer["from_person"], offer["to_person"], offer["state"]) == (
        "alice",
        "carol",
        "pending",
    )
    refused = api(alice).post(f"/api/v1/evidence/transfers/{offer['id']}/accept", {}, format="json")
    assert refused.status_code == 403
    accepted = api(carol).post(
        f"/api/v1/evidence/transfers/{offer['id']}/accept", {}, format="json"
    )
    assert accepted.status_code == 200
    assert accepted.json()["state"] == "accepted"
    custody = api(carol).get(f"/api/v1/evidence/{stored.pk}/custody").json()
    assert custody[-1]["action"] == "transfer"
    assert (custody[-1]["from_person"], custody[-1]["to_person"]) == ("alice", "carol")
    listed = api(carol).get(f"/api/v1/evidence/{stored.pk}/transfers").json()
    assert [t["state"] for t in listed] == ["accepted"]


def test_api_transfer_to_a_stranger_names_the_field(api, alice, bob, stored):
    response = api(alice).post(
        f"/api/v1/evidence/{stored.pk}/transfers", {"to_user": "bob"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["field"] == "to_user"
    unknown = api(alice).post(
        f"/api/v1/evidence/{stored.pk}/transfers", {"to_user": "carol", "x": 1}, format="json"
    )
    assert unknown.status_code == 400 and "x" in unknown.json()


def test_api_withdraw_refuses_non_ao_missing_reason_and_twice(api, alice, olivia, stored):
    url = f"/api/v1/evidence/{stored.pk}/withdraw"
    assert api(alice).post(url, {"reason": "x"}, format="json").status_code == 403
    blank = api(olivia).post(url, {"reason": ""}, format="json")
    assert blank.status_code == 400 and blank.json()["field"] == "reason"
    done = api(olivia).post(url, {"reason": "Duplicate of item 3."}, format="json")
    assert done.status_code == 200
    assert done.json()["withdrawn_by"] == "olivia"
    assert done.json()["withdrawn_reason"] == "Duplicate of item 3."
    assert api(olivia).post(url, {"reason": "again"}, format="json").status_code == 409


def test_api_verify_records_an_entry(api, audrey, alice, adam, stored, incident):
    from incidents.services import auditor_grant

    response = api(alice).post(f"/api/v1/evidence/{stored.pk}/verify")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["problems"] == []
    assert (body["entry"]["action"], body["entry"]["data"]["ok"]) == ("verify", True)
    assert api(audrey).post(f"/api/v1/evidence/{stored.pk}/verify").status_code == 404
    auditor_grant(ctx=_ctx(adam, incident), user=audrey, incident=incident)
    assert api(audrey).post(f"/api/v1/evidence/{stored.pk}/verify").status_code == 200


def _ctx(user, incident):
    from accounts.context import context_for

    return context_for(user, incident.agency)


def test_api_actions_answer_404_to_an_outsider(api, alice, bob, carol, ctx, agency_a, stored):
    offer = services.transfer_offer(ctx=ctx(alice, agency_a), evidence=stored, to_user=carol)
    client = api(bob)
    for url, body in (
        (f"/api/v1/evidence/{stored.pk}/verify", {}),
        (f"/api/v1/evidence/{stored.pk}/withdraw", {"reason": "x"}),
        (f"/api/v1/evidence/{stored.pk}/transfers", {"to_user": "bob"}),
        (f"/api/v1/evidence/transfers/{offer.pk}/accept", {}),
        (f"/api/v1/evidence/transfers/{offer.pk}/decline", {}),
    ):
        assert client.post(url, body, format="json").status_code == 404, url
    assert client.get(f"/api/v1/evidence/{stored.pk}/transfers").status_code == 404
    assert _actions(stored) == ["upload"]


def test_transfer_candidates_are_exactly_the_members_who_see_the_incident(
    ctx, alice, carol, olivia, adam, audrey, bob, agency_a, hr_system, incident, stored
):
    from accounts.services import membership_grant
    from incidents.services import auditor_grant

    from .support.factories import UserFactory

    other_isso = UserFactory(username="ivan")
    membership_grant(user=other_isso, agency=agency_a, role="isso", systems=[hr_system])
    names = [u.username for u in services.transfer_candidates(ctx(alice, agency_a), stored)]
    assert names == ["adam", "carol", "olivia"]  # not alice (holds it), audrey, ivan, bob
    auditor_grant(ctx=ctx(adam, agency_a), incident=incident, user=audrey)
    candidates = services.transfer_candidates(ctx(alice, agency_a), stored)
    assert [u.username for u in candidates] == ["adam", "audrey", "carol", "olivia"]
    for user in (carol, olivia, adam, audrey, other_isso, bob):  # the same rules as scope()
        assert (user in candidates) == transfers._sees(user, agency_a, stored), user


def test_api_item_read_is_an_audit_entry_not_a_custody_one(api, carol, stored):
    from audit.models import AuditEntry

    client = api(carol)
    assert client.get("/api/v1/evidence/").json()["count"] == 1
    assert not AuditEntry.objects.filter(act="evidence_view").exists()  # the list is no view
    assert client.get(f"/api/v1/evidence/{stored.pk}/").status_code == 200
    assert _actions(stored) == ["upload"]  # the ledger keeps handling of the item only
    entry = AuditEntry.objects.get(act="evidence_view")
    assert (entry.actor, entry.subject_id, entry.incident_id) == (
        carol,
        str(stored.pk),
        stored.incident_id,
    )


def test_transfers_list_query_count_is_pinned(
    api, ctx, alice, carol, olivia, adam, agency_a, stored, django_assert_num_queries
):
    for receiver in (carol, olivia, adam):
        offer = services.transfer_offer(ctx=ctx(alice, agency_a), evidence=stored, to_user=receiver)
        services.transfer_decline(ctx=ctx(receiver, agency_a), transfer=offer)
    client = api(alice)
    client.get(f"/api/v1/evidence/{stored.pk}/transfers")  # warm the agency context
    with django_assert_num_queries(4):
        body = client.get(f"/api/v1/evidence/{stored.pk}/transfers").json()
    assert [t["to_person"] for t in body] == ["carol", "olivia", "adam"]


def test_api_multipart_over_the_limit_is_refused_before_a_session_csrf_check_parses_it(
    alice, incident, settings, monkeypatch
):
    from django.http import multipartparser
    from rest_framework.test import APIClient

    def never(self):
        raise AssertionError("the multipart body was parsed")

    monkeypatch.setattr(multipartparser.MultiPartParser, "parse", never)
    settings.DOCKET_EVIDENCE_MAX_BYTES = 1000
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)  # a browser session: DRF checks its CSRF token
    upload = io.BytesIO(b"x" * (3 << 20))
    upload.name = "big.bin"
    response = client.post(
        f"/api/v1/incidents/{incident.number}/evidence/",
        {"file": upload, "kind": "other"},
        format="multipart",
    )
    assert response.status_code == 413
    assert "limit of 1000 bytes" in response.json()["detail"]
    assert not Evidence.objects.exists()
