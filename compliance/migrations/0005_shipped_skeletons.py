"""Load the framework skeletons Docket ships (CIS Controls v8, CIS Kubernetes Benchmark 1.9.0,
PCI DSS 4.0: identifiers and short titles in Docket's words) and the crosswalk rows between
them, as reference data every agency sees. Rows of the crosswalk that map to NIST SP 800-53
wait for ``import_catalog``, which loads them. Loading again changes nothing."""

from django.db import migrations


def forwards(apps, schema_editor):
    from compliance.services import shipped_crosswalk_load, shipped_frameworks_load

    shipped_frameworks_load(models=apps)
    shipped_crosswalk_load(models=apps)


class Migration(migrations.Migration):
    dependencies = [("compliance", "0004_framework_agency_mappings")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
