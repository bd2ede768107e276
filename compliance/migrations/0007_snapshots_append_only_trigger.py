"""On PostgreSQL, compliance snapshots refuse UPDATE and DELETE in the database itself (AU-9)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION docket_refuse_snapshot_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'compliance snapshots are append-only (% refused)', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER compliance_compliancesnapshot_append_only
    BEFORE UPDATE OR DELETE ON compliance_compliancesnapshot
    FOR EACH ROW EXECUTE FUNCTION docket_refuse_snapshot_change();
"""
DROP = """
DROP TRIGGER IF EXISTS compliance_compliancesnapshot_append_only ON compliance_compliancesnapshot;
DROP FUNCTION IF EXISTS docket_refuse_snapshot_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("compliance", "0006_risk_poam_snapshots")]

    operations = [migrations.RunPython(forwards, backwards)]
