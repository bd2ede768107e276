"""Records that are never changed or removed once written (NIST AU-9, PCI DSS 10.3.2).

``AppendOnlyModel`` refuses updates and deletes through the instance and the queryset; each
concrete model also gets a PostgreSQL trigger in its migrations, so not even raw SQL rewrites
history. Subclasses name what they hold in ``append_only_message``.
"""

from django.apps import apps
from django.db import connections, models


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an append-only record."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(self.model.append_only_message)

    def delete(self):
        raise AppendOnlyError(self.model.append_only_message)


class AppendOnlyModel(models.Model):
    append_only_message = "These records are append-only."

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(self.append_only_message)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(self.append_only_message)


# --- Database triggers ---------------------------------------------------------------------
# One place knows which tables are append-only and installs their triggers, on PostgreSQL and
# on SQLite: every concrete ``AppendOnlyModel`` (whatever app defines it, so a new one is
# covered by being one), plus any model that sets ``refuse_truncate = True`` (evidence, whose
# own write-once trigger lives in its migrations). ``install_triggers`` runs after every
# ``migrate`` (post_migrate, connected in audit's AppConfig), and is idempotent.

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION docket_refuse_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% (% refused)', TG_ARGV[0], TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def guarded_models() -> list[tuple[type[models.Model], bool]]:
    """(model, rows refused) for every installed model whose table the database guards:
    rows refused for append-only models; only TRUNCATE for ``refuse_truncate`` ones."""
    found = []
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or meta.abstract or not meta.managed:
            continue
        if issubclass(model, AppendOnlyModel):
            found.append((model, True))
        elif getattr(model, "refuse_truncate", False):
            found.append((model, False))
    return found


def trigger_sql(vendor: str, table: str, message: str, *, rows: bool) -> list[str]:
    """The statements that make ``table`` refuse UPDATE and DELETE (when ``rows``) and
    TRUNCATE, for a database vendor. SQLite has no TRUNCATE (its ``DELETE FROM`` without a
    WHERE fires the row triggers)."""
    quoted = f'"{table}"'
    if vendor == "postgresql":
        statements = [PG_FUNCTION]
        if rows:
            statements += [
                f'DROP TRIGGER IF EXISTS "{table}_append_only" ON {quoted}',
                f'CREATE TRIGGER "{table}_append_only" BEFORE UPDATE OR DELETE ON {quoted} '
                f"FOR EACH ROW EXECUTE FUNCTION docket_refuse_append_only({_literal(message)})",
            ]
        statements += [
            f'DROP TRIGGER IF EXISTS "{table}_no_truncate" ON {quoted}',
            f'CREATE TRIGGER "{table}_no_truncate" BEFORE TRUNCATE ON {quoted} '
            f"FOR EACH STATEMENT EXECUTE FUNCTION docket_refuse_append_only({_literal(message)})",
        ]
        return statements
    if vendor == "sqlite" and rows:
        statements = []
        for op in ("UPDATE", "DELETE"):
            name = f'"{table}_append_only_{op.lower()}"'
            reason = _literal(f"{message} ({op} refused)")
            statements += [
                f"DROP TRIGGER IF EXISTS {name}",
                f"CREATE TRIGGER {name} BEFORE {op} ON {quoted} "
                f"BEGIN SELECT RAISE(ABORT, {reason}); END",
            ]
        return statements
    return []


def install_triggers(using: str = "default", **kwargs) -> list[str]:
    """Install the triggers of every guarded table that exists in database ``using``;
    returns the tables guarded. A ``post_migrate`` receiver (its extra arguments ignored)."""
    connection = connections[using]
    existing = set(connection.introspection.table_names())
    guarded = []
    with connection.cursor() as cursor:
        for model, rows in guarded_models():
            table = model._meta.db_table
            if table not in existing:
                continue
            message = getattr(model, "append_only_message", f"{table} is append-only")
            for statement in trigger_sql(connection.vendor, table, message, rows=rows):
                cursor.execute(statement)
            guarded.append(table)
    return guarded
