"""The audit trail's chain (audit.trail): one gapless hash chain per agency, append-only in
the model and in the database (PostgreSQL and SQLite), written in the act's transaction, and
the PCI DSS 10.2.2 fields of every entry."""

import importlib
import sqlite3
import threading
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from audit.context import act_context, current_act
from audit.models import AuditEntry, AuditHead, chain_key
from audit.trail import (
    chain_entries,
    check_agency_chain,
    check_entries,
    diff,
    flush_refusals,
    genesis_hash,
    record,
    record_refusal,
)
from core.append_only import AppendOnlyError

MIGRATION = importlib.import_module("audit.migrations.0001_audit_trail")
T0 = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # 01:30 in New York: the night DST begins


def test_entries_of_an_agency_form_a_chain_bound_to_it(agency_a, agency_b):
    for n in range(3):
        record("incident_edit", agency=agency_a, subject_type="t", subject_id=n, at=T0)
    record("incident_edit", agency=agency_b, subject_type="t", subject_id=9, at=T0)
    entries = list(chain_entries(agency_a))
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == genesis_hash(chain_key(agency_a))
    assert [e.prev_hash for e in entries[1:]] == [e.entry_hash for e in entries[:-1]]
    assert check_agency_chain(agency_a) == []
    assert check_agency_chain(agency_b) == []
    assert [e.seq for e in chain_entries(agency_b)] == [1]
    head = AuditHead.objects.get(chain=chain_key(agency_a))
    assert (head.length, head.head_hash) == (3, entries[-1].entry_hash)


def test_the_model_refuses_changes(agency_a):
    entry = record("incident_edit", agency=agency_a, subject_type="t", subject_id=1)
    entry.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="x")


def test_the_database_refuses_update_and_delete_by_raw_sql(agency_a):
    """The migration's trigger (PostgreSQL's, or SQLite's on the embedded database)."""
    entry = record("incident_edit", agency=agency_a, subject_type="t", subject_id=1)
    for statement in (
        "UPDATE audit_auditentry SET reason = 'rewritten' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises((IntegrityError, InternalError), match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).reason == ""


def test_sqlite_trigger_of_the_migration_refuses_update_and_delete():
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE TABLE audit_auditentry (id INTEGER PRIMARY KEY, reason TEXT)")
        for statement in MIGRATION.SQLITE:
            db.execute(statement)
        db.execute("INSERT INTO audit_auditentry (id, reason) VALUES (1, '')")
        with pytest.raises(sqlite3.IntegrityError, match=r"append-only \(UPDATE refused\)"):
            db.execute("UPDATE audit_auditentry SET reason = 'x' WHERE id = 1")
        with pytest.raises(sqlite3.IntegrityError, match=r"append-only \(DELETE refused\)"):
            db.execute("DELETE FROM audit_auditentry WHERE id = 1")
        assert db.execute("SELECT reason FROM audit_auditentry").fetchall() == [("",)]
    finally:
        db.close()


def test_an_altered_entry_or_a_cut_tail_is_found(agency_a):
    for n in range(3):
        record("incident_edit", agency=agency_a, subject_type="t", subject_id=n)
    # What a tamperer who got past the trigger would leave: the database refuses the edit
    # itself, so it is made on the entries as read.
    entries = list(chain_entries(agency_a))
    entries[0].reason = "rewritten"
    assert any("altered" in p for p in check_entries(chain_key(agency_a), entries))
    assert any("gap" in p for p in check_entries(chain_key(agency_a), entries[1:]))


def test_the_entry_rolls_back_with_its_act_and_a_refusal_does_not(agency_a, carol):
    before = AuditEntry.objects.count()  # carol's membership
    with act_context(actor=carol, address="203.0.113.9", request_id="r-1") as ctx:
        with pytest.raises(RuntimeError), transaction.atomic():
            record("incident_edit", agency=agency_a, subject_type="t", subject_id=1)
            record_refusal("incident_edit", agency=agency_a, reason="Only an ISSO may.")
            raise RuntimeError("the act fails")
        assert AuditEntry.objects.count() == before
        assert len(ctx.pending) == 1
        flush_refusals(ctx)
    (entry,) = AuditEntry.objects.filter(act="incident_edit")
    assert (entry.outcome, entry.reason, entry.actor, entry.address, entry.request_id) == (
        "failure",
        "Only an ISSO may.",
        carol,
        "203.0.113.9",
        "r-1",
    )
    assert check_agency_chain(agency_a) == []


def test_entry_fields_come_from_the_act_context(agency_a, carol, open_incident, web_system):
    incident = open_incident(now=T0)
    with act_context(actor=carol, address="198.51.100.2", user_agent="UA/1", request_id="abc"):
        assert current_act().actor == carol
        entry = record(
            "incident_edit",
            agency=agency_a,
            subject=incident,
            changes=diff({"title": "old", "at": T0}, {"title": "new", "at": T0}),
            at=T0,
        )
    entry.refresh_from_db()
    assert entry.actor == carol and entry.actor_label.startswith("carol")
    assert (entry.subject_type, entry.subject_id) == ("incidents.Incident", str(incident.pk))
    assert incident.number in entry.subject_ref
    assert entry.incident == incident
    assert entry.changes == {"title": {"before": "old", "after": "new"}}
    assert (entry.address, entry.user_agent, entry.request_id) == ("198.51.100.2", "UA/1", "abc")
    assert entry.at == T0 and entry.outcome == "success"


# serialized_rollback as the suite's other transactional tests: its flush then leaves the
# tables empty for the next one to restore (a flush without it re-creates content types).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_appends_give_a_gapless_chain(agency_a):
    errors = []

    def append(n):
        try:
            for i in range(5):
                with transaction.atomic():
                    record(
                        "incident_edit", agency=agency_a, subject_type="t", subject_id=n * 10 + i
                    )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [e.seq for e in chain_entries(agency_a)] == list(range(1, 21))
    assert check_agency_chain(agency_a) == []


def test_a_celery_task_is_the_actor_of_its_entries(agency_a):
    from celery import shared_task

    @shared_task(name="tests.audit_probe")
    def probe():
        return record("snapshot_take", agency=agency_a, subject_type="t", subject_id=1).pk

    pk = probe.apply().get()  # eager, with the task signals
    entry = AuditEntry.objects.get(pk=pk)
    assert (entry.actor, entry.actor_label) == (None, "task tests.audit_probe")
    assert current_act().actor_label == "system"  # the context ends with the task
