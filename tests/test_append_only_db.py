"""The database itself refuses to change what was recorded (NIST AU-9): raw SQL UPDATE, DELETE
and TRUNCATE of every append-only table fail on PostgreSQL — determinations and submissions
included — and evidence, write-once, cannot be truncated either. On SQLite (``make run``) the
same tables get BEFORE UPDATE/DELETE triggers."""

import sqlite3

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from core.append_only import AppendOnlyError, guarded_models, trigger_sql
from incidents.models import Determination
from reporting.models import Submission

pytestmark = pytest.mark.django_db

# The tables the demo fills that must be covered (a guarded model the demo leaves empty still
# has its TRUNCATE refusal checked below).
REQUIRED = {
    "incidents.Determination",
    "reporting.Submission",
    "incidents.IncidentEvent",
    "evidence.CustodyEntry",
    "compliance.ComplianceSnapshot",
    "compliance.ControlAssessment",
}


@pytest.fixture
def demo(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def _refused(sql, params=()):
    with connection.cursor() as cursor:
        # The demo's deferred foreign-key checks would otherwise stop a TRUNCATE first.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as c:
        c.execute(sql, params)
    return str(caught.value)


def test_every_append_only_table_refuses_update_delete_and_truncate(demo):
    guarded = {m._meta.label: (m, rows) for m, rows in guarded_models()}
    assert set(guarded) >= REQUIRED
    assert guarded["evidence.Evidence"][1] is False  # truncate only; its own trigger for rows
    with_rows = set()
    for label, (model, rows) in guarded.items():
        # Table names come from the model registry, not from input.
        table = connection.ops.quote_name(model._meta.db_table)
        if rows:
            pk = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
            if pk is not None:
                with_rows.add(label)
                assert "UPDATE refused" in _refused(
                    f"UPDATE {table} SET id = id WHERE id = %s",  # noqa: S608
                    [pk],
                ), label
                assert "DELETE refused" in _refused(
                    f"DELETE FROM {table} WHERE id = %s",  # noqa: S608
                    [pk],
                )
        assert "TRUNCATE refused" in _refused(f"TRUNCATE {table} CASCADE"), label
    assert with_rows >= REQUIRED
    assert _refused(
        "DELETE FROM evidence_evidence WHERE id = (SELECT min(id) FROM evidence_evidence)"
    )


def test_one_truncate_of_events_and_custody_is_refused(demo):
    """The tester's statement of the issue: both tables in one TRUNCATE."""
    message = _refused("TRUNCATE incidents_incidentevent, evidence_custodyentry CASCADE")
    assert "append-only" in message


def test_a_determination_rationale_cannot_be_rewritten(demo):
    det = Determination.objects.order_by("pk").first()
    message = _refused(
        "UPDATE incidents_determination SET rationale = 'edited', basis_at = now() WHERE id = %s",
        [det.pk],
    )
    assert "a correction is a new determination" in message
    det.refresh_from_db()
    assert det.rationale != "edited"
    with pytest.raises(AppendOnlyError):
        det.save()
    with pytest.raises(AppendOnlyError):
        Determination.objects.filter(pk=det.pk).update(rationale="edited")


def test_a_submission_cannot_be_edited_or_removed(demo):
    sub = Submission.objects.order_by("pk").first()
    assert "UPDATE refused" in _refused(
        "UPDATE reporting_submission SET reference = 'X' WHERE id = %s", [sub.pk]
    )
    with pytest.raises(AppendOnlyError):
        sub.delete()
    with pytest.raises(AppendOnlyError):
        Submission.objects.filter(pk=sub.pk).delete()


def test_sqlite_triggers_refuse_update_and_delete_but_allow_insert():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, note TEXT)")
    for statement in trigger_sql("sqlite", "ledger", "The ledger's own word", rows=True):
        db.execute(statement)
    for statement in trigger_sql("sqlite", "ledger", "The ledger's own word", rows=True):
        db.execute(statement)  # installing twice is harmless
    db.execute("INSERT INTO ledger (note) VALUES ('first')")
    with pytest.raises(sqlite3.IntegrityError, match="The ledger's own word \\(UPDATE refused\\)"):
        db.execute("UPDATE ledger SET note = 'edited'")
    with pytest.raises(sqlite3.IntegrityError, match="DELETE refused"):
        db.execute("DELETE FROM ledger")
    assert db.execute("SELECT note FROM ledger").fetchall() == [("first",)]
