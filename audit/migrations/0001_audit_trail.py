"""The audit trail: its entries, the head of each chain, and the database's refusal of any
UPDATE or DELETE of an entry — by a trigger on PostgreSQL and on SQLite (the embedded database
of ``make run``), so not even raw SQL rewrites the trail (NIST AU-9, PCI DSS 10.3.2)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

POSTGRESQL = """
CREATE OR REPLACE FUNCTION docket_refuse_audit_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only (% refused)', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_auditentry_append_only
    BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION docket_refuse_audit_change();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS audit_auditentry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS docket_refuse_audit_change();
"""
# One statement each (SQLite's execute takes one at a time).
SQLITE = [
    """
    CREATE TRIGGER audit_auditentry_no_update BEFORE UPDATE ON audit_auditentry
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only (UPDATE refused)'); END
    """,
    """
    CREATE TRIGGER audit_auditentry_no_delete BEFORE DELETE ON audit_auditentry
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only (DELETE refused)'); END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_auditentry_no_update",
    "DROP TRIGGER IF EXISTS audit_auditentry_no_delete",
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement, params=None)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0004_signinfailure'),
        ('incidents', '0008_event_kinds_registered'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditHead',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('chain', models.CharField(max_length=40, unique=True)),
                ('length', models.PositiveBigIntegerField(default=0)),
                ('head_hash', models.CharField(max_length=64)),
                ('agency', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.agency')),
            ],
        ),
        migrations.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('chain', models.CharField(editable=False, max_length=40)),
                ('seq', models.PositiveBigIntegerField()),
                ('at', models.DateTimeField()),
                ('actor_label', models.CharField(help_text='As it was at the time.', max_length=300)),
                ('act', models.CharField(max_length=80)),
                ('subject_type', models.CharField(blank=True, max_length=80)),
                ('subject_id', models.CharField(blank=True, max_length=80)),
                ('subject_ref', models.CharField(blank=True, max_length=300)),
                ('changes', models.JSONField(blank=True, default=dict)),
                ('outcome', models.CharField(choices=[('success', 'Success'), ('failure', 'Failure')], default='success', max_length=10)),
                ('reason', models.TextField(blank=True)),
                ('address', models.CharField(blank=True, max_length=64)),
                ('user_agent', models.CharField(blank=True, max_length=500)),
                ('request_id', models.CharField(blank=True, max_length=64)),
                ('prev_hash', models.CharField(max_length=64)),
                ('entry_hash', models.CharField(max_length=64)),
                ('actor', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('agency', models.ForeignKey(blank=True, db_index=False, help_text="Empty: the installation's own chain.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.agency')),
                ('incident', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='incidents.incident')),
            ],
            options={
                'verbose_name_plural': 'audit entries',
                'ordering': ['chain', 'seq'],
                'indexes': [models.Index(fields=['agency', '-at'], name='audit_agency_at'), models.Index(fields=['incident', 'seq'], name='audit_incident_seq')],
                'constraints': [models.UniqueConstraint(fields=('chain', 'seq'), name='audit_seq_per_chain')],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
