"""Importing OSCAL: NIST's resolved baseline catalogs and profiles, and malformed documents.

The real NIST files are read from ``shared/data/oscal`` beside the repository (never copied
into it). Where that folder is absent the tests that need it skip, except in CI, where they fail.
"""

import copy
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from compliance.models import Baseline, Control, Framework
from compliance.services import baseline_import, catalog_import, oscal_import
from core.errors import InvalidInput

from .support.data import shared_dir

LEVELS = ["LOW", "MODERATE", "HIGH"]
FRAMEWORK = "NIST Special Publication 800-53 Revision 5.1.1"


@pytest.fixture(autouse=True)
def _without_shipped_skeletons(request):
    """These tests are about the OSCAL import alone: start without the skeletons that the data
    migration ships (tests/test_compliance_import.py covers those)."""
    if "db" in request.fixturenames:
        Framework.objects.all().delete()


@pytest.fixture
def oscal_dir():
    return shared_dir("oscal")


def catalog_file(oscal_dir, level):
    return oscal_dir / f"NIST_SP-800-53_rev5_{level}-baseline-resolved-profile_catalog-min.json"


def profile_file(oscal_dir, level):
    return oscal_dir / f"NIST_SP-800-53_rev5_{level}-baseline_profile.json"


def walk_ids(path):
    """Independently of the importer: {id: parent id or None} of every control in the file."""
    found = {}

    def controls(items, parent):
        for c in items:
            found[c["id"]] = parent
            controls(c.get("controls", []), c["id"])

    def groups(items):
        for g in items:
            controls(g.get("controls", []), None)
            groups(g.get("groups", []))

    catalog = json.loads(Path(path).read_text())["catalog"]
    controls(catalog.get("controls", []), None)
    groups(catalog.get("groups", []))
    return found


def tiny_catalog():
    """A small valid OSCAL catalog: two families, one control with an enhancement."""
    return {
        "catalog": {
            "uuid": "2b7c1d0e-4f5a-4c3b-9d8e-7f6a5b4c3d2e",
            "metadata": {
                "title": "Tiny Catalog",
                "last-modified": "2026-01-01T00:00:00Z",
                "version": "1.0",
                "oscal-version": "1.1.2",
            },
            "groups": [
                {
                    "id": "xx",
                    "title": "Examples",
                    "controls": [
                        {
                            "id": "xx-1",
                            "title": "First",
                            "params": [{"id": "xx-1_prm_1", "label": "frequency"}],
                            "parts": [
                                {
                                    "id": "xx-1_smt",
                                    "name": "statement",
                                    "prose": "Review logs {{ insert: param, xx-1_prm_1 }}.",
                                }
                            ],
                            "controls": [{"id": "xx-1.1", "title": "First, enhanced"}],
                        }
                    ],
                },
                {"id": "yy", "title": "More", "controls": [{"id": "yy-1", "title": "Other"}]},
            ],
        }
    }


def as_file(document) -> io.BytesIO:
    return io.BytesIO(json.dumps(document).encode())


def nothing_stored():
    return not Framework.objects.exists() and not Control.objects.exists()


# --- the real NIST catalogs ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("level", LEVELS)
def test_resolved_catalog_imports_completely(db, oscal_dir, level):
    path = catalog_file(oscal_dir, level)
    expected = walk_ids(path)
    enhancements = {i for i, parent in expected.items() if parent}
    assert len(expected) > 100 and enhancements  # the walker found something to compare with

    result = catalog_import(path_or_file=path)

    framework = Framework.objects.get()
    assert (framework.name, framework.version) == (FRAMEWORK, "5.1.1+u4")
    assert "public domain" in framework.licence_note
    assert result.created == len(expected) and result.updated == 0
    stored = dict(framework.controls.values_list("identifier", "parent__identifier"))
    assert stored == expected
    assert framework.controls.filter(parent__isnull=False).count() == len(enhancements)
    assert not framework.controls.filter(title="").exists()
    assert not framework.controls.filter(family="").exists()


def test_enhancement_keeps_its_parent_label_and_order(db, oscal_dir):
    catalog_import(path_or_file=catalog_file(oscal_dir, "MODERATE"))

    enhancement = Control.objects.get(identifier="ac-2.1")
    assert enhancement.parent.identifier == "ac-2"
    assert enhancement.label == "AC-2(1)"
    assert enhancement.title == "Automated System Account Management"
    assert enhancement.family == "Access Control"
    assert enhancement.sort_key == "ac-02.01"
    assert enhancement.parent.enhancements.filter(identifier="ac-2.1").exists()
    # Catalog order, not string order: AC-2 comes before AC-10 wherever AC-10 is.
    order = list(Control.objects.filter(parent=None, family="Access Control"))
    assert [c.label for c in order[:3]] == ["AC-1", "AC-2", "AC-3"]


def test_statement_is_plain_text_with_parameters_named(db, oscal_dir):
    catalog_import(path_or_file=catalog_file(oscal_dir, "LOW"))

    statement = Control.objects.get(identifier="ac-2").statement
    assert statement.startswith(
        "a. Define and document the types of accounts allowed and specifically prohibited"
    )
    assert "\nb. Assign account managers;" in statement
    assert "  1. Authorized users of the system;" in statement  # nested items indented
    assert "Require [Assignment: prerequisites and criteria] for group and role" in statement
    assert "{{" not in statement
    policy = Control.objects.get(identifier="ac-1").statement
    assert "[Selection (one or more): organization-level; mission/business process-level" in (
        policy
    )


@pytest.mark.slow
def test_three_baseline_catalogs_fill_one_framework(db, oscal_dir):
    union = {}
    for level in LEVELS:
        union.update(walk_ids(catalog_file(oscal_dir, level)))
        catalog_import(path_or_file=catalog_file(oscal_dir, level))

    assert Framework.objects.count() == 1
    assert Control.objects.count() == len(union)


@pytest.mark.slow
def test_importing_again_updates_and_never_duplicates(db, oscal_dir, tmp_path):
    path = catalog_file(oscal_dir, "HIGH")
    count = len(walk_ids(path))
    catalog_import(path_or_file=path)
    pks = dict(Control.objects.values_list("identifier", "pk"))

    again = catalog_import(path_or_file=path)

    assert (again.created, again.updated) == (0, count)
    assert Control.objects.count() == count
    assert dict(Control.objects.values_list("identifier", "pk")) == pks

    # A corrected catalog (same framework and version) updates the control in place.
    document = json.loads(path.read_text())
    document["catalog"]["groups"][0]["controls"][1]["title"] = "Account Management (corrected)"
    changed = tmp_path / "corrected.json"
    changed.write_text(json.dumps(document))
    call_command("import_catalog", str(changed), stdout=io.StringIO())

    assert Control.objects.count() == count
    ac2 = Control.objects.get(identifier="ac-2")
    assert (ac2.pk, ac2.title) == (pks["ac-2"], "Account Management (corrected)")
    assert Control.objects.get(identifier="ac-2.1").parent_id == pks["ac-2"]


@pytest.mark.slow
@pytest.mark.parametrize("level", LEVELS)
def test_profile_imports_as_baseline(db, oscal_dir, level):
    profile = profile_file(oscal_dir, level)
    ids = set(
        json.loads(profile.read_text())["profile"]["imports"][0]["include-controls"][0]["with-ids"]
    )
    catalog_import(path_or_file=catalog_file(oscal_dir, "HIGH"))

    result = baseline_import(path_or_file=profile)
    oscal_import(path_or_file=profile)  # again: still one baseline, same controls

    baseline = Baseline.objects.get()
    assert result.baseline == baseline
    assert (baseline.name, baseline.framework.name) == (level, FRAMEWORK)
    assert baseline.controls.count() == len(ids)
    assert set(baseline.controls.values_list("identifier", flat=True)) == ids


def test_command_imports_catalog_then_profile(db, oscal_dir):
    out = io.StringIO()
    call_command(
        "import_catalog",
        str(catalog_file(oscal_dir, "LOW")),
        str(profile_file(oscal_dir, "LOW")),
        stdout=out,
    )

    count = len(walk_ids(catalog_file(oscal_dir, "LOW")))
    assert f"{count} controls created, 0 updated" in out.getvalue()
    assert f"Baseline LOW of {FRAMEWORK} (5.1.1+u4): " in out.getvalue()
    assert Baseline.objects.get().controls.count() == count  # the LOW catalog is its profile


def test_profile_needs_its_catalog_first(db, oscal_dir):
    with pytest.raises(InvalidInput, match="import its catalog first"):
        baseline_import(path_or_file=profile_file(oscal_dir, "LOW"))
    assert not Baseline.objects.exists()


def test_profile_naming_an_unknown_control_names_the_path(db, oscal_dir, tmp_path):
    catalog_import(path_or_file=catalog_file(oscal_dir, "LOW"))
    document = json.loads(profile_file(oscal_dir, "LOW").read_text())
    document["profile"]["imports"][0]["include-controls"][0]["with-ids"][5] = "zz-99"

    with pytest.raises(InvalidInput) as caught:
        oscal_import(path_or_file=as_file(document))

    assert str(caught.value) == (
        "profile.imports[0].include-controls[0].with-ids[5]: no control 'zz-99' in "
        f"{FRAMEWORK} (5.1.1+u4)."
    )
    assert not Baseline.objects.exists()


def test_missing_id_in_real_catalog_names_the_path_and_stores_nothing(db, oscal_dir):
    document = json.loads(catalog_file(oscal_dir, "HIGH").read_text())
    del document["catalog"]["groups"][3]["controls"][7]["id"]

    with pytest.raises(InvalidInput) as caught:
        catalog_import(path_or_file=as_file(document))

    assert str(caught.value) == "catalog.groups[3].controls[7]: missing 'id'"
    assert caught.value.extra["path"] == "catalog.groups[3].controls[7]"
    assert nothing_stored()


# --- malformed documents (no shared data needed) ---------------------------------------------


def test_tiny_catalog_imports(db):
    result = catalog_import(path_or_file=as_file(tiny_catalog()))

    assert (result.framework.name, result.framework.version) == ("Tiny Catalog", "1.0")
    assert result.framework.licence_note == ""
    assert dict(Control.objects.values_list("identifier", "parent__identifier")) == {
        "xx-1": None,
        "xx-1.1": "xx-1",
        "yy-1": None,
    }
    first = Control.objects.get(identifier="xx-1")
    assert first.statement == "Review logs [Assignment: frequency]."
    assert first.family == "Examples"
    # Without sort-ids, document order.
    assert list(Control.objects.values_list("identifier", flat=True)) == ["xx-1", "xx-1.1", "yy-1"]


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (
            lambda c: c["groups"][0]["controls"][0]["controls"][0].pop("id"),
            "catalog.groups[0].controls[0].controls[0]: missing 'id'",
        ),
        (
            lambda c: c["groups"][1]["controls"][0].update(title=7),
            "catalog.groups[1].controls[0].title: Input should be a valid string, found a number",
        ),
        (
            lambda c: c["groups"][1].update(controls={"id": "yy-1"}),
            "catalog.groups[1].controls: Input should be a valid list, found an object",
        ),
        (
            lambda c: c["metadata"].pop("title"),
            "catalog.metadata: missing 'title'",
        ),
        (
            lambda c: c["groups"][0]["controls"][0].update(colour="red"),
            "catalog.groups[0].controls[0]: unexpected key 'colour'",
        ),
        (
            lambda c: c["groups"][1]["controls"][0].update(id="xx-1"),
            "catalog.groups[1].controls[0]: control id 'xx-1' already used at "
            "catalog.groups[0].controls[0]",
        ),
    ],
    ids=["missing-id", "title-not-string", "controls-not-list", "no-title", "extra-key", "dup"],
)
def test_malformed_catalog_names_the_path_and_stores_nothing(db, break_it, message):
    document = tiny_catalog()
    break_it(document["catalog"])

    with pytest.raises(InvalidInput) as caught:
        catalog_import(path_or_file=as_file(document))

    assert str(caught.value) == message
    assert nothing_stored()


def test_several_problems_are_all_named(db):
    document = tiny_catalog()
    document["catalog"]["groups"][0]["controls"][0].pop("id")
    document["catalog"]["groups"][1]["controls"][0].pop("title")

    with pytest.raises(InvalidInput) as caught:
        catalog_import(path_or_file=as_file(document))

    assert str(caught.value) == (
        "catalog.groups[0].controls[0]: missing 'id'; "
        "catalog.groups[1].controls[0]: missing 'title'"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not JSON (line 1, column 2: Expecting property name enclosed in"),
        (b"[]", "not an OSCAL document"),
        (b'{"catalog": []}', "catalog: expected an object, found an array"),
        (b'{"component-definition": {}}', "Docket imports OSCAL catalogs and profiles"),
    ],
)
def test_not_oscal_is_refused_clearly(db, content, message):
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        oscal_import(path_or_file=io.BytesIO(content))
    assert nothing_stored()


def test_failure_while_writing_leaves_nothing_behind(db, monkeypatch):
    """All-or-nothing even past validation: the enhancements' write fails, the rest rolls back."""
    calls = []
    real = Control.objects.bulk_create

    def failing(objs, **kwargs):
        calls.append(len(objs))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(objs, **kwargs)

    monkeypatch.setattr(Control.objects, "bulk_create", failing)
    with pytest.raises(RuntimeError):
        catalog_import(path_or_file=as_file(tiny_catalog()))

    assert calls == [2, 1]
    assert nothing_stored()


def test_command_reports_malformed_file_with_path(db, tmp_path):
    document = tiny_catalog()
    del document["catalog"]["groups"][0]["controls"][0]["id"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))

    with pytest.raises(CommandError) as caught:
        call_command("import_catalog", str(path))

    assert str(caught.value) == f"{path}: catalog.groups[0].controls[0]: missing 'id'"
    assert nothing_stored()


def test_malformed_profile_names_the_path(db):
    catalog_import(path_or_file=as_file(tiny_catalog()))
    profile = {
        "profile": {
            "uuid": "0f3c2b1a-9e8d-4c7b-a6f5-e4d3c2b1a0f9",
            "metadata": {
                "title": "Tiny Catalog LOW IMPACT BASELINE",
                "last-modified": "2026-01-01T00:00:00Z",
                "version": "1.0",
                "oscal-version": "1.1.2",
            },
            "imports": [{"href": "#x", "include-controls": [{"with-ids": "xx-1"}]}],
        }
    }

    with pytest.raises(InvalidInput) as caught:
        baseline_import(path_or_file=as_file(profile))
    assert str(caught.value).startswith("profile.imports[0].include-controls[0].with-ids: ")

    profile["profile"]["imports"][0]["include-controls"][0] = {
        "with-ids": ["xx-1"],
        "with-child-controls": "yes",
    }
    result = baseline_import(path_or_file=as_file(copy.deepcopy(profile)))
    assert result.baseline.name == "LOW"
    assert set(result.baseline.controls.values_list("identifier", flat=True)) == {
        "xx-1",
        "xx-1.1",
    }
