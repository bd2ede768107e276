"""Auditor grants become time-boxed. A grant made before keeps its start (``granted_at``) and
runs for the default window (DOCKET_AUDITOR_GRANT_DEFAULT_DAYS) from the upgrade, so no
auditor loses access in the middle of an audit by the upgrade itself."""

import django.utils.timezone
import incidents.models.incident
from django.conf import settings
from django.db import migrations, models


def grants_start_when_granted(apps, schema_editor):
    AuditorGrant = apps.get_model("incidents", "AuditorGrant")
    for grant in AuditorGrant.objects.all().only("pk", "granted_at"):
        AuditorGrant.objects.filter(pk=grant.pk).update(valid_from=grant.granted_at)


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0008_event_kinds_registered'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='auditorgrant',
            name='expiry_recorded_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='auditorgrant',
            name='valid_from',
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name='valid from'),
        ),
        migrations.AddField(
            model_name='auditorgrant',
            name='valid_until',
            field=models.DateTimeField(default=incidents.models.incident.grant_default_until, verbose_name='valid until'),
        ),
        migrations.RunPython(grants_start_when_granted, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='auditorgrant',
            index=models.Index(fields=['user', 'valid_until'], name='grant_user_until'),
        ),
        migrations.AddConstraint(
            model_name='auditorgrant',
            constraint=models.CheckConstraint(condition=models.Q(('valid_until__gt', models.F('valid_from'))), name='grant_until_after_from'),
        ),
    ]
