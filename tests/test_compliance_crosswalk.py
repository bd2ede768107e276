"""Crosswalks (control ↔ control) and the way from detection tags to controls.

Most tests use a small stand-in for the NIST catalog (the real one is read where the test is
about the real identifiers).
"""

import io
import json

import pytest
import yaml

from compliance import crosswalk
from compliance.crosswalk import Ref, controls_for_refs, nist_for_techniques, parse_ref
from compliance.models import Control, ControlMapping, Framework
from compliance.selectors import frameworks_visible
from compliance.services import (
    SHIPPED_CROSSWALK,
    SHIPPED_DIR,
    catalog_import,
    crosswalk_file_import,
    framework_file_import,
    shipped_crosswalk_load,
)
from core.errors import InvalidInput
from incidents import falco

from .support.data import shared_dir

NIST = "NIST Special Publication 800-53 Revision 5.1.1"
NIST_IDS = {
    "au-2": "AU-2",
    "au-3": "AU-3",
    "au-9": "AU-9",
    "au-10": "AU-10",
    "au-12": "AU-12",
    "ac-2": "AC-2",
    "ac-2.4": "AC-2(4)",
    "ac-3": "AC-3",
    "ac-6": "AC-6",
    "ac-6.9": "AC-6(9)",
    "si-4": "SI-4",
    "au-6": "AU-6",
}


def shipped_rows() -> list[dict]:
    return yaml.safe_load((SHIPPED_DIR / SHIPPED_CROSSWALK).read_text())["mappings"]


@pytest.fixture
def nist(db):
    """A stand-in for the NIST catalog with the controls the tests name; the shipped crosswalk
    then loads its rows to them."""
    framework = Framework.objects.create(name=NIST, version="5.1.1+u4")
    by_id = {}
    for i, (identifier, label) in enumerate(NIST_IDS.items()):
        parent = by_id.get(identifier.split(".")[0]) if "." in identifier else None
        by_id[identifier] = Control.objects.create(
            framework=framework,
            identifier=identifier,
            label=label,
            title=f"Control {label}",
            sort_key=f"{i:04d}",
            parent=parent,
        )
    shipped_crosswalk_load()
    return framework


def idents(controls) -> list[tuple[str, str]]:
    return [(c.framework.name, c.identifier) for c in controls]


# --- pure: references and techniques -----------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("NIST SP 800-53 AU-10", Ref("nist-800-53", "au-10")),
        ("NIST SP 800-53 AC-6(9)", Ref("nist-800-53", "ac-6.9")),
        ("NIST SP 800-53 ac-02", Ref("nist-800-53", "ac-2")),
        ("PCI DSS 10.2.5", Ref("pci-dss", "10.2.5")),
        ("PCI DSS 11.5.1", Ref("pci-dss", "11.5.1")),
        ("CIS 5.1.2", Ref("cis", "5.1.2")),
        ("NIST SP 800-190", None),
        ("NIST SP 800-171 3.1.1", None),
        ("SOC 2 CC6.1", None),
        ("PCI DSS", None),
    ],
)
def test_parse_ref_reads_what_falco_mapping_writes(ref, expected):
    assert parse_ref(ref) == expected


def test_every_control_tag_of_the_real_rules_parses():
    """The references map_tags makes from the shipped Falco rules all resolve to a scheme."""
    for rule in _falco_rules():
        for ref in falco.map_tags(rule.get("tags", [])).control_refs:
            assert parse_ref(ref) is not None, (rule["rule"], ref)


def test_techniques_map_to_nist_with_parent_fallback():
    assert nist_for_techniques(["T1070"]) == ["au-6", "au-9", "au-10", "si-4"]
    # T1070.003 (clear command history) has no row: its parent's controls.
    assert nist_for_techniques(["t1070.003"]) == nist_for_techniques(["T1070"])
    assert nist_for_techniques(["T1059", "T1070", "not-a-technique"])[:4] == [
        "ac-6",
        "au-12",
        "cm-7",
        "si-4",
    ]
    assert nist_for_techniques(["T1622"]) == []  # deliberately unmapped


def _falco_rules() -> list[dict]:
    rules = []
    for path in sorted(shared_dir("falco").glob("*.yaml")):
        rules += [item for item in yaml.safe_load(path.read_text()) if "rule" in item]
    assert rules
    return rules


def test_every_technique_of_the_falco_rules_is_mapped_or_listed_as_unmapped():
    mapped = crosswalk.technique_mapping()
    unmapped = crosswalk.unmapped_techniques()
    seen = set()
    for rule in _falco_rules():
        for technique in falco.map_tags(rule.get("tags", [])).mitre_techniques:
            seen.add(technique)
            assert technique in mapped or technique in unmapped, (rule["rule"], technique)
    assert len(seen) > 30
    assert not set(mapped) & set(unmapped)
    assert all(reason.strip() for reason in unmapped.values())


def test_every_mapped_nist_control_is_in_the_real_catalog():
    path = shared_dir("oscal") / (
        "NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog-min.json"
    )
    ids, labels = set(), set()

    def walk(controls):
        for c in controls:
            ids.add(c["id"])
            labels.update(
                p["value"] for p in c.get("props", []) if p["name"] == "label" and "class" not in p
            )
            walk(c.get("controls", []))

    for group in json.loads(path.read_text())["catalog"]["groups"]:
        walk(group.get("controls", []))
    for technique, controls in crosswalk.technique_mapping().items():
        assert set(controls) <= ids, technique
    for row in shipped_rows():
        for side in ("source", "target"):
            if row[f"{side}_framework"] == NIST:
                assert row[f"{side}_control"] in labels, row


# --- the shipped crosswalk ------------------------------------------------------------------


def test_migration_loads_the_crosswalk_rows_between_the_skeletons(db):
    between = [r for r in shipped_rows() if NIST not in r.values()]
    assert len(between) >= 10
    reference = ControlMapping.objects.filter(agency=None)
    assert reference.count() == len(between)
    pci = Control.objects.get(framework__name="PCI DSS", identifier="10.2.1")
    assert reference.filter(target_control=pci, source_control__identifier="8.2").exists()


@pytest.mark.slow
def test_import_catalog_loads_every_shipped_row_naming_nist(db):
    from django.core.management import call_command

    path = shared_dir("oscal") / (
        "NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog-min.json"
    )
    out = io.StringIO()
    call_command("import_catalog", str(path), stdout=out)
    assert "Shipped crosswalk:" in out.getvalue()
    assert ControlMapping.objects.filter(agency=None).count() == len(shipped_rows())
    again = shipped_crosswalk_load()
    assert (again.created, again.updated, again.skipped) == (0, 0, 0)


# --- resolving references ---------------------------------------------------------------------


def test_a_pci_reference_also_yields_the_mapped_nist_controls(nist):
    found = idents(controls_for_refs(["PCI DSS 10.2.1.5"]))
    assert found[0] == ("PCI DSS", "10.2.1.5")
    assert set(found[1:]) == {(NIST, "au-2"), (NIST, "ac-2.4")}


def test_a_falco_pci_3_2_1_number_resolves_to_its_4_0_successor(nist):
    """Launch Privileged Container is tagged PCI_DSS_10.2.5 (3.2.1's numbering)."""
    assert idents(controls_for_refs(["PCI DSS 10.2.5"])) == idents(
        controls_for_refs(["PCI DSS 10.2.1.5"])
    )


def test_nist_reference_finds_the_control_and_what_maps_to_it(nist):
    found = idents(controls_for_refs(["NIST SP 800-53 AU-12"]))
    assert found[0] == (NIST, "au-12")
    assert ("PCI DSS", "10.2.1") in found  # crosswalk read backwards
    assert ("CIS Kubernetes Benchmark", "1.2.16") in found
    assert ("CIS Critical Security Controls", "8.2") in found
    assert len(found) == len(set(found))


def test_cis_reference_is_looked_up_in_every_cis_framework(nist):
    found = idents(controls_for_refs(["CIS 5.1.2"]))
    assert found[0] == ("CIS Kubernetes Benchmark", "5.1.2")
    assert {(NIST, "ac-6"), (NIST, "ac-3")} <= set(found)
    both = idents(controls_for_refs(["CIS 8.2"]))
    assert ("CIS Critical Security Controls", "8.2") in both


def test_techniques_add_nist_controls(nist):
    found = idents(controls_for_refs([], techniques=["T1070"]))
    assert found[:3] == [(NIST, "au-6"), (NIST, "au-9"), (NIST, "au-10")]
    assert (NIST, "si-4") in found
    assert ("PCI DSS", "10.3.2") in found  # AU-9 ↔ PCI 10.3.2


def test_refs_nobody_holds_resolve_to_nothing(nist):
    assert controls_for_refs(["NIST SP 800-190", "SOC 2 CC6.1", "PCI DSS 99.9"]) == []
    assert controls_for_refs([]) == []


def test_resolution_is_query_bounded(nist, django_assert_max_num_queries):
    refs = [f"NIST SP 800-53 {label}" for label in NIST_IDS.values()]
    refs += ["PCI DSS 10.2.5", "PCI DSS 11.5.1", "CIS 5.1.2", "CIS 8.2", "NIST SP 800-190"]
    with django_assert_max_num_queries(4):
        found = controls_for_refs(refs, techniques=["T1070", "T1059.004", "T1611"])
    assert len(found) > 20
    with django_assert_max_num_queries(4):
        controls_for_refs(refs * 10, techniques=["T1070"] * 10)


def test_resolution_defaults_to_reference_frameworks_and_never_leaks(
    nist, carol, bob, agency_a, agency_b, ctx
):
    """FTA licenses PCI DSS 4.0 with its text and maps it; OTA must get none of it."""
    licensed = (
        "framework,version,identifier,title,statement\n"
        "PCI DSS,4.0,10.2.1.5,Credential changes logged,Licensed text FTA only\n"
    )
    fta = ctx(carol, agency_a)
    framework = framework_file_import(
        source=io.BytesIO(licensed.encode()), ctx=fta, filename="p.csv"
    )
    own = framework.framework.controls.get()
    crosswalk_file_import(
        source=io.BytesIO(
            (
                "source_framework,source_version,source_control,target_framework,"
                "target_control,relationship\n"
                f"PCI DSS,4.0,10.2.1.5,{NIST},AU-10,related\n"
            ).encode()
        ),
        ctx=fta,
        filename="x.csv",
    )

    reference_only = controls_for_refs(["PCI DSS 10.2.5"])
    assert own not in reference_only
    theirs = controls_for_refs(
        ["PCI DSS 10.2.5"], frameworks=frameworks_visible(ctx(bob, agency_b))
    )
    assert own not in theirs and (NIST, "au-10") not in idents(theirs)
    assert idents(theirs) == idents(reference_only)

    mine = controls_for_refs(["PCI DSS 10.2.5"], frameworks=frameworks_visible(fta))
    assert own in mine and (NIST, "au-10") in idents(mine)
    assert ("PCI DSS", "10.2.1.5") in idents(mine[:2])  # the skeleton's too: both are visible


# --- importing crosswalk files ----------------------------------------------------------------

CSV_HEAD = "source_framework,source_control,target_framework,target_control,relationship,note\n"


def import_rows(text: str, **kwargs):
    return crosswalk_file_import(source=io.BytesIO(text.encode()), filename="x.csv", **kwargs)


def test_crosswalk_import_creates_then_is_unchanged_then_updates(nist, agency_a):
    text = (
        CSV_HEAD + f"PCI DSS,10.2.2,{NIST},au-6,related,why\nPCI DSS,10.4.1,{NIST},AU-2,subset,\n"
    )
    first = import_rows(text, agency=agency_a)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    again = import_rows(text, agency=agency_a)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    changed = import_rows(text.replace("related,why", "equivalent,because"), agency=agency_a)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    row = ControlMapping.objects.get(agency=agency_a, target_control__identifier="au-6")
    assert (row.relationship, row.note) == ("equivalent", "because")


def test_the_same_pair_spelt_another_way_is_a_repeat(nist, agency_a):
    text = CSV_HEAD + f"PCI DSS,10.2.2,{NIST},AU-6,related,\nPCI DSS,10.2.2,{NIST},au-6,related,\n"
    with pytest.raises(InvalidInput, match="line 3: the same mapping as line 2"):
        import_rows(text, agency=agency_a)
    assert not ControlMapping.objects.filter(agency=agency_a).exists()


def test_a_file_cannot_store_the_reverse_of_a_stored_mapping(nist, agency_a):
    import_rows(CSV_HEAD + f"PCI DSS,10.2.2,{NIST},AU-6,related,\n", agency=agency_a)
    reverse = CSV_HEAD + f"{NIST},AU-6,PCI DSS,10.2.2,related,\n"
    with pytest.raises(InvalidInput, match="line 2: the reverse of this mapping is stored"):
        import_rows(reverse, agency=agency_a)
    assert ControlMapping.objects.filter(agency=agency_a).count() == 1


def test_crosswalk_yaml_with_a_default_source(nist):
    text = yaml.safe_dump(
        {
            "source": "Our assessors",
            "mappings": [
                {
                    "source_framework": "CIS Critical Security Controls",
                    "source_control": "8.6",
                    "target_framework": NIST,
                    "target_control": "AU-2",
                    "relationship": "related",
                }
            ],
        }
    )
    result = crosswalk_file_import(source=io.BytesIO(text.encode()), filename="x.yaml")
    assert result.created == 1
    row = ControlMapping.objects.get(source_control__identifier="8.6")
    assert (row.agency, row.source) == (None, "Our assessors")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (f"PCI DSS,10.2.2,{NIST},zz-9,related,\n", f"line 2: no control 'zz-9' in {NIST}"),
        ("PCI DSS,10.2.2,Nonesuch,AU-2,related,\n", "line 2: no framework 'Nonesuch'"),
        (f"PCI DSS,10.2.2,{NIST},AU-2,kinda,\n", "line 2: relationship 'kinda' is not one of"),
        (
            f"PCI DSS,10.2.2,{NIST},AU-2,related,\n{NIST},AU-2,PCI DSS,10.2.2,related,\n",
            "line 3: the same mapping as line 2",
        ),
        ("PCI DSS,10.2.2,PCI DSS,10.2.2,related,\n", "line 2: a control cannot be mapped to"),
        (f"PCI DSS,,{NIST},AU-2,related,\n", "line 2: source_control is empty"),
    ],
    ids=["unknown-control", "unknown-framework", "relationship", "duplicate", "self", "empty"],
)
def test_bad_crosswalk_names_the_line_and_stores_nothing(nist, agency_a, rows, message):
    before = ControlMapping.objects.count()
    good = f"PCI DSS,10.4.1,{NIST},AU-6,related,\n"
    with pytest.raises(InvalidInput) as caught:
        import_rows(CSV_HEAD + good + rows.replace("line 2", "line 3"), agency=agency_a)
    expected = message.replace("line 3", "line 4").replace("line 2", "line 3")
    assert str(caught.value).startswith(expected)
    assert ControlMapping.objects.count() == before


def test_reference_rows_cannot_name_an_agencys_framework(nist, agency_a):
    framework_file_import(
        source=io.BytesIO(b"framework,version,identifier,title\nAcme,1,A-1,One\n"),
        agency=agency_a,
        filename="a.csv",
    )
    with pytest.raises(InvalidInput, match="line 2: no framework 'Acme'"):
        import_rows(CSV_HEAD + f"Acme,A-1,{NIST},AU-2,related,\n")
    with pytest.raises(InvalidInput, match="line 2: no framework 'Acme'"):
        import_rows(CSV_HEAD + f"Acme,A-1,{NIST},AU-2,related,\n", agency=None)
    assert import_rows(CSV_HEAD + f"Acme,A-1,{NIST},AU-2,related,\n", agency=agency_a).created


def test_import_crosswalk_command(nist, tmp_path, agency_b):
    from django.core.management import call_command

    path = tmp_path / "walk.csv"
    path.write_text(CSV_HEAD + f"PCI DSS,10.4.1,{NIST},AU-6,related,\n")
    out = io.StringIO()
    call_command("import_crosswalk", str(path), "--agency", "OTA", stdout=out)
    assert "1 mappings created, 0 updated, 0 unchanged" in out.getvalue()
    row = ControlMapping.objects.get(agency=agency_b)
    assert (row.source_control.identifier, row.target_control.identifier) == ("10.4.1", "au-6")


def test_real_catalog_and_resolution_together(db):
    """With the real NIST LOW catalog: the Clear Log Activities rule's tags resolve."""
    catalog_import(
        path_or_file=shared_dir("oscal")
        / "NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json"
    )
    shipped_crosswalk_load()
    mapped = falco.map_tags(
        ["maturity_stable", "mitre_defense_evasion", "T1070", "NIST_800-53_AU-10"]
    )
    found = idents(controls_for_refs(mapped.control_refs, techniques=mapped.mitre_techniques))
    # AU-10 is not in the LOW baseline; T1070's AU-6, AU-9 and SI-4 are.
    assert {(NIST, "au-6"), (NIST, "au-9"), (NIST, "si-4")} <= set(found)
    assert ("PCI DSS", "10.3.2") in found
