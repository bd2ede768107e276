"""Agency-licensed frameworks, the CSV/YAML framework import and the shipped skeletons.

FTA (carol, compliance officer) licenses "Acme Security Standard"; OTA (bob) must never see it
or its controls. The skeletons (CIS Controls v8, CIS Kubernetes Benchmark, PCI DSS 4.0) come
with the data migration.
"""

import io
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from compliance.models import Control, Framework
from compliance.selectors import controls_visible, frameworks_visible
from compliance.services import (
    SHIPPED_DIR,
    assessment_record,
    framework_file_import,
    shipped_frameworks_load,
)
from core.errors import InvalidInput, NotPermitted

ACME_CSV = (
    "framework,version,source,licence_note,identifier,title,family,parent,sort_order,statement\n"
    "Acme Security Standard,2.0,Acme licence 2026-17,Licensed to FTA,"
    "AC-1,Access policy,Access,,1,Keep a policy.\n"
    ",,,,AC-1.1,Access policy review,Access,AC-1,2,\n"
    ",,,,AU-1,Audit policy,Audit,,3,Log what matters.\n"
)

ACME_YAML = """
framework:
  name: Acme Security Standard
  version: "2.0"
  licence_note: Licensed to FTA
controls:
  - identifier: AC-1
    title: Access policy
    family: Access
    statement: Keep a policy.
    controls:
      - {identifier: AC-1.1, title: Access policy review}
  - {identifier: AU-1, title: Audit policy, family: Audit}
"""


def upload(text: str, name: str = "acme.csv") -> io.BytesIO:
    f = io.BytesIO(text.encode())
    f.name = name
    return f


def acme_controls(framework=None) -> dict:
    qs = Control.objects.filter(framework__name="Acme Security Standard")
    if framework is not None:
        qs = qs.filter(framework=framework)
    return dict(qs.values_list("identifier", "parent__identifier"))


# --- the shipped skeletons ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "version", "count", "top", "sample"),
    [
        ("CIS Critical Security Controls", "8", 171, 18, ("8.2", "8")),
        ("CIS Kubernetes Benchmark", "1.9.0", 150, 5, ("5.1.2", "5.1")),
        ("PCI DSS", "4.0", 324, 12, ("10.2.1.5", "10.2.1")),
    ],
)
def test_data_migration_ships_the_skeletons_as_reference_frameworks(
    db, name, version, count, top, sample
):
    framework = Framework.objects.get(name=name, version=version)
    assert framework.agency is None
    assert "imports" in framework.licence_note and "own words" in framework.licence_note
    assert framework.controls.count() == count
    assert framework.controls.filter(parent=None).count() == top
    assert not framework.controls.exclude(statement="").exists()  # no copyrighted text
    child = framework.controls.get(identifier=sample[0])
    assert child.parent.identifier == sample[1]
    assert child.family  # inherited from its top-level control


def test_cis_controls_skeleton_has_153_safeguards_numbered_in_sequence(db):
    framework = Framework.objects.get(name="CIS Critical Security Controls")
    per_control = {}
    for control in framework.controls.filter(parent__isnull=False).select_related("parent"):
        per_control.setdefault(control.parent.identifier, []).append(control.identifier)
    assert sum(len(v) for v in per_control.values()) == 153
    for parent, children in per_control.items():
        numbers = sorted(int(c.split(".")[1]) for c in children)
        assert numbers == list(range(1, len(numbers) + 1)), parent


def test_skeletons_keep_the_catalog_order(db):
    framework = Framework.objects.get(name="CIS Critical Security Controls")
    top = list(framework.controls.filter(parent=None).values_list("identifier", flat=True))
    assert top == [str(n) for n in range(1, 19)]  # "10" after "9", not after "1"


def test_loading_the_skeletons_again_changes_nothing(db):
    before = dict(Control.objects.values_list("pk", "title"))
    results = shipped_frameworks_load()
    assert [(r.created, r.updated) for r in results] == [(0, 0)] * 3
    assert dict(Control.objects.values_list("pk", "title")) == before


def test_import_command_reloads_the_shipped_files(db):
    Framework.objects.filter(name="PCI DSS").delete()
    out = io.StringIO()
    call_command("import_framework", "--shipped", stdout=out)
    assert "PCI DSS (4.0): 324 controls created" in out.getvalue()


def test_import_command_reads_a_shipped_file_like_any_other(db):
    path = SHIPPED_DIR / "cis-kubernetes-benchmark-v1.9.yaml"
    out = io.StringIO()
    call_command("import_framework", str(path), stdout=out)
    assert "0 controls created, 0 updated, 150 unchanged" in out.getvalue()


# --- visibility ------------------------------------------------------------------------------


@pytest.fixture
def acme(carol, agency_a, ctx):
    return framework_file_import(source=upload(ACME_CSV), ctx=ctx(carol, agency_a)).framework


def test_licensed_framework_is_seen_by_its_agency_only(acme, carol, bob, agency_a, agency_b, ctx):
    assert acme.agency == agency_a
    mine = frameworks_visible(ctx(carol, agency_a))
    theirs = frameworks_visible(ctx(bob, agency_b))
    assert acme in mine
    assert acme not in theirs
    reference = set(Framework.objects.filter(agency=None))
    assert reference and reference <= set(theirs) and reference <= set(mine)
    assert set(theirs) == reference


def test_controls_of_another_agencys_framework_never_leak(
    acme, bob, agency_b, b_system, ctx, django_assert_num_queries
):
    bobs = ctx(bob, agency_b)
    assert not controls_visible(bobs).filter(framework=acme).exists()
    assert not controls_visible(bobs).filter(identifier="AC-1.1").exists()
    secret = acme.controls.get(identifier="AU-1")
    with pytest.raises(InvalidInput, match="No control"):
        assessment_record(
            ctx=bobs,
            system=b_system,
            control=secret,
            status="satisfied",
            assessed_at=acme.created_at,
        )


def test_two_agencies_may_license_the_same_framework_version(
    acme, bob, agency_b, ctx, carol, agency_a
):
    theirs = framework_file_import(source=upload(ACME_CSV), ctx=ctx(bob, agency_b)).framework
    assert theirs.pk != acme.pk and theirs.agency == agency_b
    assert acme_controls(acme) == acme_controls(theirs)
    again = framework_file_import(source=upload(ACME_CSV), ctx=ctx(carol, agency_a))
    assert again.framework.pk == acme.pk  # same owner: the same framework


def test_name_and_version_are_unique_per_owner(db, agency_a):
    Framework.objects.create(name="Owned", version="1", agency=agency_a)
    Framework.objects.create(name="Owned", version="1")  # a reference one of that name is fine
    for agency in (agency_a, None):
        with pytest.raises(IntegrityError), transaction.atomic():
            Framework.objects.create(name="Owned", version="1", agency=agency)


# --- importing a framework file -----------------------------------------------------------------


def test_csv_import_creates_controls_with_parents_and_order(acme):
    assert (acme.name, acme.version, acme.source) == (
        "Acme Security Standard",
        "2.0",
        "Acme licence 2026-17",
    )
    assert acme.licence_note == "Licensed to FTA"
    assert acme_controls(acme) == {"AC-1": None, "AC-1.1": "AC-1", "AU-1": None}
    assert list(acme.controls.values_list("identifier", flat=True)) == ["AC-1", "AC-1.1", "AU-1"]
    ac1 = acme.controls.get(identifier="AC-1")
    assert (ac1.label, ac1.family, ac1.statement) == ("AC-1", "Access", "Keep a policy.")


def test_yaml_import_gives_the_same_framework(db, agency_b):
    result = framework_file_import(source=upload(ACME_YAML, "acme.yaml"), agency=agency_b)
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert acme_controls(result.framework) == {"AC-1": None, "AC-1.1": "AC-1", "AU-1": None}
    # Nested controls take the family of the control they sit under.
    assert result.framework.controls.get(identifier="AC-1.1").family == "Access"


def test_reimport_is_unchanged_and_a_changed_file_updates_in_place(acme, carol, agency_a, ctx):
    pks = dict(acme.controls.values_list("identifier", "pk"))
    again = framework_file_import(source=upload(ACME_CSV), ctx=ctx(carol, agency_a))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)

    changed = ACME_CSV.replace("Audit policy,Audit,,3", "Audit policy (rev),Audit,AC-1,3")
    changed += ",,,,AU-2,Audit events,Audit,,4,\n"
    result = framework_file_import(source=upload(changed), ctx=ctx(carol, agency_a))
    assert (result.created, result.updated, result.unchanged) == (1, 1, 2)
    au1 = acme.controls.get(identifier="AU-1")
    assert (au1.pk, au1.title, au1.parent.identifier) == (pks["AU-1"], "Audit policy (rev)", "AC-1")
    assert acme.controls.count() == 4


def test_a_partial_file_may_name_a_parent_already_stored(acme, carol, agency_a, ctx):
    extra = (
        "framework,version,identifier,title,parent\n"
        "Acme Security Standard,2.0,AC-1.2,Second enhancement,AC-1\n"
    )
    result = framework_file_import(source=upload(extra), ctx=ctx(carol, agency_a))
    assert result.created == 1
    assert acme.controls.get(identifier="AC-1.2").parent.identifier == "AC-1"


def test_a_file_cannot_close_a_parent_loop_through_stored_controls(acme, carol, agency_a, ctx):
    # AC-1.1 is stored as AC-1's child; making AC-1 the child of AC-1.1 would loop.
    loop = (
        "framework,version,identifier,title,parent\n"
        "Acme Security Standard,2.0,AC-1,Access policy,AC-1.1\n"
    )
    with pytest.raises(InvalidInput, match="line 2: parents of 'AC-1' form a cycle"):
        framework_file_import(source=upload(loop), ctx=ctx(carol, agency_a))
    assert acme_controls(acme)["AC-1"] is None


def test_command_imports_for_an_agency_detecting_the_format_by_content(db, agency_a, tmp_path):
    path = tmp_path / "acme-standard"  # no extension: told by the content
    path.write_text(ACME_YAML)
    out = io.StringIO()
    call_command("import_framework", str(path), "--agency", "fta", stdout=out)
    assert "Acme Security Standard (2.0): 3 controls created, 0 updated, 0 unchanged" in (
        out.getvalue()
    )
    assert Framework.objects.get(name="Acme Security Standard").agency == agency_a


def test_command_without_agency_imports_reference_data(db, tmp_path):
    path = tmp_path / "acme.csv"
    path.write_text(ACME_CSV)
    call_command("import_framework", str(path), stdout=io.StringIO())
    assert Framework.objects.get(name="Acme Security Standard").agency is None


def test_only_compliance_officers_and_admins_import(db, alice, audrey, agency_a, ctx):
    for person in (alice, audrey):
        with pytest.raises(NotPermitted):
            framework_file_import(source=upload(ACME_CSV), ctx=ctx(person, agency_a))
    assert not Framework.objects.filter(name="Acme Security Standard").exists()


HEADER = "framework,version,identifier,title,parent\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            HEADER + "Acme,1,A,First,\nAcme,1,B,Second,Z\n",
            "line 3: parent 'Z' is not a control of this file or framework",
        ),
        (
            HEADER + "Acme,1,A,First,\nAcme,1,B,Second,\nAcme,1,A,Again,\n",
            "line 4: identifier 'A' already used at line 2",
        ),
        (
            "framework,identifier,title\nAcme,A,First\n",
            "line 1: missing required column(s) version",
        ),
        (
            HEADER + "Acme,1,A,First,\nAcme,1,B,,\n",
            "line 3: title is empty",
        ),
        (
            HEADER + "Acme,1,A,First,\nOther,1,B,Second,\n",
            "line 3: framework 'Other' differs from 'Acme' on line 2: one framework per file",
        ),
        (
            HEADER + "Acme,1,A,First,B\nAcme,1,B,Second,A\n",
            "line 2: parents of 'A' form a cycle",
        ),
        (
            "framework,version,identifier,title,colour\nAcme,1,A,First,red\n",
            "line 1: unknown column(s) 'colour'",
        ),
        (HEADER + 'Acme,1,A,"First\n', "line 2: not valid CSV"),
        (HEADER, "line 2: no controls: the file holds a header only"),
        (
            HEADER + "Acme,1,A,First,,extra\n",
            "line 2: 6 cells but the header names 5 columns",
        ),
    ],
    ids=[
        "unknown-parent",
        "duplicate",
        "missing-column",
        "empty-title",
        "two-frameworks",
        "cycle",
        "unknown-column",
        "unclosed-quote",
        "header-only",
        "too-many-cells",
    ],
)
def test_bad_csv_names_the_line_and_stores_nothing(db, agency_a, content, message):
    before = Framework.objects.count(), Control.objects.count()
    with pytest.raises(InvalidInput) as caught:
        framework_file_import(source=upload(content), agency=agency_a)
    assert str(caught.value).startswith(message)
    assert caught.value.extra["line"] == int(message.split()[1].rstrip(":"))
    assert (Framework.objects.count(), Control.objects.count()) == before


def test_bad_encoding_names_the_line(db, agency_a):
    content = (HEADER + "Acme,1,A,First,\nAcme,1,B,Caf\xe9,\n").encode("latin-1")
    with pytest.raises(InvalidInput) as caught:
        framework_file_import(source=io.BytesIO(content), agency=agency_a, filename="x.csv")
    assert str(caught.value).startswith("line 3: not UTF-8 text (byte 0xe9)")
    assert not Framework.objects.filter(name="Acme").exists()


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (
            lambda d: d["controls"][0]["controls"][0].pop("title"),
            "controls[0].controls[0].title: required",
        ),
        (
            lambda d: d["controls"][1].update(parent="ZZ-9"),
            "controls[1]: parent 'ZZ-9' is not a control of this file or framework",
        ),
        (
            lambda d: d["controls"].append({"identifier": "AU-1", "title": "Twice"}),
            "controls[2]: identifier 'AU-1' already used at controls[1]",
        ),
        (lambda d: d["framework"].pop("version"), "framework.version: required"),
        (
            lambda d: d["controls"][1].update(colour="red"),
            "controls[1]: unknown key(s) 'colour'",
        ),
        (
            lambda d: d["controls"][0].update(controls={"identifier": "x"}),
            "controls[0].controls: expected a list, found a mapping",
        ),
        (
            lambda d: d["controls"][1].update(title=["a"]),
            "controls[1].title: expected text, found a list",
        ),
        (
            lambda d: d["controls"][1].update(sort_order="first"),
            "controls[1]: sort_order must be a whole number, not 'first'",
        ),
    ],
    ids=[
        "no-title",
        "unknown-parent",
        "duplicate",
        "no-version",
        "extra-key",
        "not-a-list",
        "not-text",
        "bad-order",
    ],
)
def test_bad_yaml_names_the_path_and_stores_nothing(db, agency_a, break_it, message):
    document = yaml.safe_load(ACME_YAML)
    break_it(document)
    with pytest.raises(InvalidInput) as caught:
        framework_file_import(source=upload(yaml.safe_dump(document), "a.yaml"), agency=agency_a)
    assert str(caught.value).startswith(message)
    assert caught.value.extra["path"] == message.split(":")[0]
    assert not Framework.objects.filter(name="Acme Security Standard").exists()


def test_malformed_yaml_names_line_and_column(db, agency_a):
    with pytest.raises(InvalidInput, match=r"^line 4, column 9: not valid YAML"):
        framework_file_import(
            source=upload("framework:\n  name: x\n  version: [1\ncontrols: []\n", "a.yaml"),
            agency=agency_a,
        )


def test_failure_while_writing_leaves_nothing(db, agency_a, monkeypatch):
    real = Control.objects.bulk_create
    calls = []

    def failing(objs, **kwargs):
        calls.append(len(objs))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(objs, **kwargs)

    monkeypatch.setattr(Control.objects, "bulk_create", failing)
    with pytest.raises(RuntimeError):
        framework_file_import(source=upload(ACME_CSV), agency=agency_a)
    assert calls == [2, 1]
    assert not Framework.objects.filter(name="Acme Security Standard").exists()


def test_command_reports_the_error_with_the_file(db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "Acme,1,A,First,Z\n")
    with pytest.raises(CommandError) as caught:
        call_command("import_framework", str(path))
    assert str(caught.value) == (
        f"{path}: line 2: parent 'Z' is not a control of this file or framework"
    )


def test_docs_example_files_import(db, agency_a):
    """The examples in docs/compliance-import.md are real files that import."""
    docs = Path(__file__).resolve().parents[1] / "docs" / "compliance-import.md"
    text = docs.read_text()
    blocks = {}
    for fence in ("csv", "yaml"):
        marker = f"```{fence} title=framework\n"
        start = text.index(marker) + len(marker)
        blocks[fence] = text[start : text.index("```", start)]
    for fence, body in blocks.items():
        result = framework_file_import(source=upload(body, f"x.{fence}"), agency=agency_a)
        assert result.created + result.unchanged >= 3, fence


# --- the admin ---------------------------------------------------------------------------------


@pytest.fixture
def staff_adam(adam):
    adam.is_staff = True
    adam.save(update_fields=["is_staff"])
    return adam


def test_admin_deletes_an_own_licensed_framework_but_never_a_reference_one(
    client, staff_adam, agency_a
):
    from django.urls import reverse

    own = framework_file_import(source=upload(ACME_CSV), agency=agency_a).framework
    pci = Framework.objects.get(name="PCI DSS", agency=None)
    client.force_login(staff_adam)
    url = reverse("admin:compliance_framework_delete", args=[pci.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Framework.objects.filter(pk=pci.pk).exists()

    url = reverse("admin:compliance_framework_delete", args=[own.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Framework.objects.filter(pk=own.pk).exists()
    assert not Control.objects.filter(framework_id=own.pk).exists()


def test_admin_keeps_a_licensed_framework_that_assessments_name(
    client, staff_adam, carol, agency_a, web_system, ctx
):
    from datetime import UTC, datetime

    from django.urls import reverse

    own = framework_file_import(source=upload(ACME_CSV), agency=agency_a).framework
    assessment_record(
        ctx=ctx(carol, agency_a),
        system=web_system,
        control=own.controls.get(identifier="AU-1"),
        status="satisfied",
        assessed_at=datetime(2025, 1, 1, tzinfo=UTC),
        now=datetime(2025, 2, 1, tzinfo=UTC),
    )
    client.force_login(staff_adam)
    url = reverse("admin:compliance_framework_delete", args=[own.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Framework.objects.filter(pk=own.pk).exists()


def test_import_command_needs_a_file_or_shipped(db):
    with pytest.raises(CommandError, match="Name a FILE to import, or --shipped"):
        call_command("import_framework")
    with pytest.raises(CommandError, match="No agency 'xyz'"):
        call_command("import_framework", "x.csv", "--agency", "xyz")
