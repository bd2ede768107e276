"""On PostgreSQL, incident events refuse UPDATE and DELETE in the database itself (AU-9)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION docket_refuse_event_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'incident events are append-only (% refused)', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER incidents_incidentevent_append_only
    BEFORE UPDATE OR DELETE ON incidents_incidentevent
    FOR EACH ROW EXECUTE FUNCTION docket_refuse_event_change();
"""
DROP = """
DROP TRIGGER IF EXISTS incidents_incidentevent_append_only ON incidents_incidentevent;
DROP FUNCTION IF EXISTS docket_refuse_event_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0002_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
