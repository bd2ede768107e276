"""On PostgreSQL the database itself refuses what the models refuse: any UPDATE or DELETE of a
custody entry, any DELETE of an evidence item, and any UPDATE of an item's file, hashes, format
or provenance (only ``description`` may change)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION docket_refuse_custody_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the custody ledger is append-only (% refused)', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER evidence_custodyentry_append_only
    BEFORE UPDATE OR DELETE ON evidence_custodyentry
    FOR EACH ROW EXECUTE FUNCTION docket_refuse_custody_change();

CREATE OR REPLACE FUNCTION docket_evidence_write_once() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'evidence is never deleted'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (to_jsonb(NEW) - 'description') IS DISTINCT FROM (to_jsonb(OLD) - 'description') THEN
        RAISE EXCEPTION 'evidence is write-once: only its description may change'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER evidence_evidence_write_once
    BEFORE UPDATE OR DELETE ON evidence_evidence
    FOR EACH ROW EXECUTE FUNCTION docket_evidence_write_once();
"""
DROP = """
DROP TRIGGER IF EXISTS evidence_custodyentry_append_only ON evidence_custodyentry;
DROP FUNCTION IF EXISTS docket_refuse_custody_change();
DROP TRIGGER IF EXISTS evidence_evidence_write_once ON evidence_evidence;
DROP FUNCTION IF EXISTS docket_evidence_write_once();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("evidence", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
