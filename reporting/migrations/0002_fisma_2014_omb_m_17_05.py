"""Ships the default rule set as data: reporting/rulesets/fisma-2014-omb-m-17-05.v1.json.
A later memo is a new JSON file and a new migration, never an edit of this one."""

from django.db import migrations

from reporting.loader import RULESET_DIR, read_document

DOCUMENT = RULESET_DIR / "fisma-2014-omb-m-17-05.v1.json"


def load(apps, schema_editor):
    from reporting.loader import load_document

    load_document(
        read_document(DOCUMENT),
        RuleSet=apps.get_model("reporting", "RuleSet"),
        ObligationRule=apps.get_model("reporting", "ObligationRule"),
    )


class Migration(migrations.Migration):
    dependencies = [("reporting", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
