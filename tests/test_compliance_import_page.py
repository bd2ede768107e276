"""The import page: one file, one of four kinds; the answer counts what was stored, or names
the line of the problem and stores nothing."""

from django.core.files.uploadedfile import SimpleUploadedFile

from compliance.models import ControlAssessment, Framework

FRAMEWORK_CSV = (
    "framework,version,source,licence_note,identifier,title,family,parent,sort_order,statement\n"
    "Acme Security Standard,2.0,Acme,Licensed to FTA,AC-1,Access policy,Access,,1,Keep one.\n"
    ",,,,AC-1.1,Access policy review,Access,AC-1,2,\n"
)


def _post(client, kind, text, name="acme.csv", **more):
    return client.post(
        "/compliance/import/",
        {"kind": kind, "file": SimpleUploadedFile(name, text.encode()), **more},
    )


def test_a_compliance_officer_imports_a_licensed_framework_and_sees_the_counts(client, carol):
    client.force_login(carol)
    page = client.get("/compliance/import/")
    assert page.status_code == 200 and "Import compliance data" in page.content.decode()
    response = _post(client, "framework", FRAMEWORK_CSV)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Imported acme.csv" in body
    assert "<strong>2</strong> created" in body
    framework = Framework.objects.get(name="Acme Security Standard")
    assert framework.agency.abbreviation == "FTA" and framework.controls.count() == 2
    again = _post(client, "framework", FRAMEWORK_CSV).content.decode()
    assert "<strong>0</strong> created" in again and "<strong>2</strong> unchanged" in again


def test_a_bad_row_names_its_line_and_nothing_is_stored(client, carol, web_system):
    client.force_login(carol)
    rows = (
        "system,framework,control,status,assessed_at\n"
        "FTA-WEB,Nope,AC-1,satisfied,2026-01-01T00:00:00Z\n"
    )
    response = _post(client, "assessments", rows, name="assessments.csv")
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was imported" in body and "line 2" in body
    assert not ControlAssessment.objects.exists()


def test_a_missing_file_is_named(client, carol):
    client.force_login(carol)
    response = client.post("/compliance/import/", {"kind": "framework"})
    assert response.status_code == 400
    assert 'id="id_file-error"' in response.content.decode()


def test_an_auditor_may_not_import(client, audrey):
    client.force_login(audrey)
    response = _post(client, "framework", FRAMEWORK_CSV)
    assert response.status_code == 403
    assert not Framework.objects.filter(name="Acme Security Standard").exists()


def test_another_agencys_import_stays_its_own(client, carol, bob):
    client.force_login(bob)
    assert _post(client, "framework", FRAMEWORK_CSV).status_code == 200
    client.force_login(carol)
    page = client.get("/systems/").content.decode()
    assert "Acme Security Standard" not in page
    assert Framework.objects.get(name="Acme Security Standard").agency.abbreviation == "OTA"


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/compliance/import/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
