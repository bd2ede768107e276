"""Signed checkpoints of the audit and custody chains, and the verification against them.

Each tamper case is done as an attacker with database access would: raw SQL with the
append-only triggers switched off for the test's own transaction
(``session_replication_role = replica``), hashes recomputed where a careful attacker would.
Each is detected, named, and makes the command exit non-zero."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from celery import current_app
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from accounts.models import Agency
from audit.checkpoints import body_text
from audit.models import AuditEntry, AuditHead, Checkpoint, chain_key
from audit.trail import record
from core import ledger, signing
from evidence.models import CustodyEntry, Evidence
from incidents import tasks as incidents_tasks
from reporting.models import Obligation
from reporting.tasks import make_checkpoints, verify_integrity

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path):
    """The demo (evidence with custody chains, obligations from the clock service) and a few
    audit entries in each agency's chain."""
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("load_demo", stdout=StringIO())
    demo = Agency.objects.get(abbreviation="DEMO")
    other = Agency.objects.get(abbreviation="ODA")
    for n in range(5):
        record("incident_edit", agency=demo, subject_type="incidents.Incident", subject_id=n)
    for n in range(3):
        record("incident_edit", agency=other, subject_type="incidents.Incident", subject_id=n)
    return demo


def length_of(agency):
    return AuditHead.objects.get(chain=chain_key(agency)).length


def run(command, *args):
    """(exit ok?, output) of a management command."""
    out = StringIO()
    try:
        call_command(command, *args, stdout=out)
    except CommandError as exc:
        return False, out.getvalue() + f"\n{exc}"
    return True, out.getvalue()


def tamper(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def rewrite_audit_chain(agency, reason="nothing happened"):
    """Change entry #1 and re-hash the whole chain (and its head row) as a careful attacker
    would: every link and hash holds afterwards."""
    chain = chain_key(agency)
    prev = None
    for entry in AuditEntry.objects.filter(chain=chain).order_by("seq"):
        if entry.seq == 1:
            entry.reason = reason
            prev = entry.prev_hash
        entry.prev_hash = prev
        entry.entry_hash = ledger.entry_hash(entry.hashed_fields(), prev)
        tamper(
            "UPDATE audit_auditentry SET reason = %s, prev_hash = %s, entry_hash = %s "
            "WHERE id = %s",
            [entry.reason, entry.prev_hash, entry.entry_hash, entry.pk],
        )
        prev = entry.entry_hash
    tamper("UPDATE audit_audithead SET head_hash = %s WHERE chain = %s", [prev, chain])


def test_checkpoint_signs_each_chain_once_until_its_head_moves(demo):
    ok, out = run("checkpoint")
    assert ok, out
    audit = Checkpoint.objects.filter(kind="audit")
    custody = Checkpoint.objects.filter(kind="custody")
    assert set(audit.values_list("chain", flat=True)) >= {chain_key(demo)}
    assert custody.count() == Evidence.objects.count() > 0
    length = length_of(demo)
    cp = audit.get(chain=chain_key(demo))
    assert cp.length == length
    assert cp.head_hash == AuditEntry.objects.get(chain=cp.chain, seq=length).entry_hash
    assert cp.key_id == signing.key_id()
    assert cp.body == body_text(
        kind="audit",
        chain=cp.chain,
        length=length,
        head_hash=cp.head_hash,
        signed_at=cp.signed_at,
        key=cp.key_id,
    )
    assert f"chain {cp.chain}\nlength {length}\nhead {cp.head_hash}\n" in cp.body
    assert signing.verify(cp.body.encode(), cp.signature)

    before = Checkpoint.objects.count()
    ok, out = run("checkpoint")
    assert ok and Checkpoint.objects.count() == before
    assert "0 checkpoint(s) made" in out

    record("incident_edit", agency=demo, subject_type="incidents.Incident", subject_id=99)
    ok, out = run("checkpoint")
    assert ok and Checkpoint.objects.count() == before + 1
    assert audit.filter(chain=chain_key(demo)).order_by("length").last().length == length + 1


def test_untouched_records_verify(demo):
    run("checkpoint")
    ok, out = run("verify_audit")
    assert ok, out
    assert f"OK audit {chain_key(demo)} ({length_of(demo)} entries)" in out
    ok, out = run("verify_ledger")
    assert ok, out


def test_an_edited_audit_entry_is_named(demo):
    run("checkpoint")
    tamper(
        "UPDATE audit_auditentry SET reason = 'edited' WHERE chain = %s AND seq = 2",
        [chain_key(demo)],
    )
    ok, out = run("verify_audit")
    assert not ok
    assert "entry #2: contents do not match its hash (altered)" in out
    assert "1 of" in out


def test_an_audit_chain_rewritten_from_its_first_entry_is_detected(demo):
    run("checkpoint")
    length = length_of(demo)
    rewrite_audit_chain(demo)
    ok, out = run("verify_audit")
    assert not ok
    line = next(x for x in out.splitlines() if chain_key(demo) in x)
    assert "altered" not in line  # every link and hash holds: only the checkpoint tells
    assert f"entry #{length} does not match the checkpoint of {length} entries signed" in line
    assert "(chain rewritten)" in line


def test_a_truncated_audit_chain_is_detected(demo):
    run("checkpoint")
    chain, length = chain_key(demo), length_of(demo)
    tamper("DELETE FROM audit_auditentry WHERE chain = %s AND seq > 3", [chain])
    third = AuditEntry.objects.get(chain=chain, seq=3).entry_hash
    tamper("UPDATE audit_audithead SET length = 3, head_hash = %s WHERE chain = %s", [third, chain])
    ok, out = run("verify_audit")
    assert not ok
    assert "the chain is cut short (truncated): it has 3 entries but the checkpoint" in out
    assert f"covers {length}" in out


def test_a_deleted_audit_chain_is_detected(demo):
    run("checkpoint")
    chain = chain_key(demo)
    tamper("DELETE FROM audit_auditentry WHERE chain = %s", [chain])
    tamper("DELETE FROM audit_audithead WHERE chain = %s", [chain])
    ok, out = run("verify_audit")
    assert not ok
    assert f"FAILED audit {chain} (0 entries): the chain is gone (deleted)" in out


def test_a_checkpoint_whose_signature_fails_is_named(demo):
    run("checkpoint")
    cp = Checkpoint.objects.get(kind="audit", chain=chain_key(demo))
    forged = cp.body.replace(f"length {cp.length}", "length 4")
    tamper("UPDATE audit_checkpoint SET body = %s, length = 4 WHERE id = %s", [forged, cp.pk])
    ok, out = run("verify_audit")
    assert not ok
    assert "signature does not verify (checkpoint altered or forged)" in out


def test_a_checkpoint_by_an_untrusted_key_is_named(demo, settings):
    run("checkpoint")
    settings.DOCKET_SIGNING_KEY = signing.generate_private_pem()  # rotated, old key not listed
    ok, out = run("verify_audit")
    assert not ok
    assert "which is not trusted" in out


def test_a_broken_chain_is_not_signed(demo):
    run("checkpoint")
    entry = record("incident_edit", agency=demo, subject_type="incidents.Incident", subject_id=7)
    tamper("UPDATE audit_auditentry SET reason = 'edited' WHERE id = %s", [entry.pk])
    before = Checkpoint.objects.count()
    ok, out = run("checkpoint")
    assert not ok
    assert (
        f"NOT SIGNED {chain_key(demo)}: entry #{entry.seq}: contents do not match its hash" in out
    )
    assert Checkpoint.objects.count() == before


def _custody_rewrite(ev):
    prev = ledger.genesis_hash(ev.uid, ev.sha256)
    for entry in CustodyEntry.objects.filter(evidence=ev).order_by("seq"):
        if entry.seq == 1:
            entry.note = "collected somewhere else"
        entry.prev_hash = prev
        entry.entry_hash = ledger.entry_hash(entry.hashed_fields(ev.uid), prev)
        tamper(
            "UPDATE evidence_custodyentry SET note = %s, prev_hash = %s, entry_hash = %s "
            "WHERE id = %s",
            [entry.note, entry.prev_hash, entry.entry_hash, entry.pk],
        )
        prev = entry.entry_hash


def test_custody_rewrite_truncation_and_deletion_are_detected(demo):
    run("checkpoint")
    items = list(Evidence.objects.order_by("pk"))
    assert len(items) >= 1
    rewritten = items[0]
    _custody_rewrite(rewritten)
    ok, out = run("verify_ledger")
    assert not ok
    line = next(x for x in out.splitlines() if x.startswith(f"FAILED evidence {rewritten.pk} "))
    assert "(chain rewritten)" in line and "altered" not in line

    last = CustodyEntry.objects.filter(evidence=rewritten).order_by("-seq").first()
    tamper("DELETE FROM evidence_custodyentry WHERE id = %s", [last.pk])
    ok, out = run("verify_ledger")
    assert "the chain is cut short (truncated)" in out

    # The item and its whole ledger removed: only its checkpoints remember it.
    for table in (
        "incidents_capturedcommand",
        "incidents_commandextraction",
        "evidence_custodytransfer",
        "evidence_custodyentry",
    ):
        tamper(f"DELETE FROM {table} WHERE evidence_id = %s", [rewritten.pk])  # noqa: S608
    tamper("DELETE FROM evidence_evidence WHERE id = %s", [rewritten.pk])
    ok, out = run("verify_ledger")
    assert not ok
    assert f"FAILED custody evidence-{rewritten.uid}: the chain is gone (deleted)" in out


def test_verification_against_an_exported_copy(demo, tmp_path):
    """The Inspector General's check: the database's own checkpoints were deleted along with
    the rewrite, so only the exported copy reveals it."""
    run("checkpoint")
    copy = tmp_path / "checkpoints.jsonl"
    ok, out = run("export_checkpoints", "--out", str(copy))
    assert ok, out
    lines = [json.loads(line) for line in copy.read_text().splitlines()]
    assert lines[0]["format"] == "docket-checkpoints-v1"
    assert lines[0]["public_keys"] == {signing.key_id(): signing.public_key_pem()}
    assert len(lines) == 1 + Checkpoint.objects.count()
    assert AuditEntry.objects.filter(act="export_checkpoints").exists()

    ok, out = run("verify_audit", "--checkpoints", str(copy))
    assert ok, out

    rewrite_audit_chain(demo)
    tamper("DELETE FROM audit_checkpoint WHERE kind = 'audit' AND chain = %s", [chain_key(demo)])
    ok, out = run("verify_audit")
    assert ok, out  # the database alone can no longer tell
    ok, out = run("verify_audit", "--checkpoints", str(copy))
    assert not ok
    line = next(x for x in out.splitlines() if chain_key(demo) in x)
    assert "(chain rewritten)" in line
    assert "is in the exported copy but not in the database (deleted)" in line

    ev = Evidence.objects.order_by("pk").first()
    _custody_rewrite(ev)
    ok, out = run("verify_ledger", "--checkpoints", str(copy))
    assert not ok and "(chain rewritten)" in out


def test_an_exported_copy_that_cannot_be_read_is_refused(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"format": "something else"}\n')
    ok, out = run("verify_audit", "--checkpoints", str(bad))
    assert not ok and "not a header of docket-checkpoints-v1" in out
    ok, out = run("verify_ledger", "--checkpoints", str(tmp_path / "missing.jsonl"))
    assert not ok and "No such file" in out


def test_a_due_time_changed_outside_the_clock_service_is_detected(demo):
    ok, out = run("verify_audit")
    assert ok, out
    ob = Obligation.objects.filter(incident__agency=demo).order_by("pk").first()
    tamper(
        "UPDATE reporting_obligation SET due_at = due_at + interval '3 days' WHERE id = %s",
        [ob.pk],
    )
    ok, out = run("verify_audit")
    assert not ok
    assert f"FAILED obligation {ob.pk} " in out
    assert "changed outside the clock service" in out

    # Moving the anchor too keeps rule and anchor consistent; the history still disagrees.
    tamper(
        "UPDATE reporting_obligation SET anchor_at = anchor_at + interval '3 days' WHERE id = %s",
        [ob.pk],
    )
    ok, out = run("verify_audit")
    assert not ok
    assert "but the incident's history last recorded" in out


def test_the_daily_check_mails_the_agency_administrators_on_a_break(demo):
    run("checkpoint")
    mail.outbox.clear()
    assert verify_integrity.delay().get() == 0
    assert mail.outbox == []

    rewrite_audit_chain(demo)
    breaks = verify_integrity.delay().get()
    assert breaks == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["admin@demo.example.gov"]
    assert "DEMO: integrity check found 1 break" in message.subject
    assert f"FAILED audit {chain_key(demo)}" in message.body
    assert "(chain rewritten)" in message.body
    assert AuditHead.objects.filter(chain=chain_key(demo)).exists()


def test_beat_makes_checkpoints_hourly_and_verifies_daily(demo, settings):
    schedule = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["reporting.tasks.make_checkpoints"] == timedelta(hours=1)
    assert schedule["reporting.tasks.verify_integrity"] == timedelta(days=1)
    assert "incidents.tasks.record_grant_expiries" in schedule
    assert incidents_tasks.record_grant_expiries.name in current_app.tasks
    assert {"reporting.tasks.make_checkpoints", "reporting.tasks.verify_integrity"} <= set(
        current_app.tasks
    )
    made = make_checkpoints.delay().get()
    assert made == Checkpoint.objects.count() > 0
    assert make_checkpoints.delay().get() == 0
