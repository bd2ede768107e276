"""Report versions and CISA's answers refuse UPDATE and DELETE in the database itself (AU-9),
on PostgreSQL and on SQLite. Self-contained (named ``<table>_append_only``), so a later
generalisation of the triggers can replace them one by one."""

from django.db import migrations

TABLES = {
    "reporting_reportversion": "report versions",
    "reporting_cisaresponse": "CISA responses",
}


def _postgresql(table: str, what: str) -> tuple[list[str], list[str]]:
    function = f"docket_refuse_{table}_change"
    create = [
        f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{what} are append-only (% refused)', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
""",
        f"""
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}();
""",
    ]
    drop = [
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
        f"DROP FUNCTION IF EXISTS {function}();",
    ]
    return create, drop


def _sqlite(table: str, what: str) -> tuple[list[str], list[str]]:
    create = [
        f"""
CREATE TRIGGER {table}_append_only{suffix}
    BEFORE {op} ON {table}
BEGIN
    SELECT RAISE(ABORT, '{what} are append-only ({op} refused)');
END;
"""
        for op, suffix in (("UPDATE", ""), ("DELETE", "_delete"))
    ]
    drop = [
        f"DROP TRIGGER IF EXISTS {table}_append_only;",
        f"DROP TRIGGER IF EXISTS {table}_append_only_delete;",
    ]
    return create, drop


VENDORS = {"postgresql": _postgresql, "sqlite": _sqlite}


def _run(schema_editor, which: int) -> None:
    build = VENDORS.get(schema_editor.connection.vendor)
    if build is None:
        return
    for table, what in TABLES.items():
        for sql in build(table, what)[which]:
            schema_editor.execute(sql, params=None)


def forwards(apps, schema_editor):
    _run(schema_editor, 0)


def backwards(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [("reporting", "0005_reports")]

    operations = [migrations.RunPython(forwards, backwards)]
