"""``manage.py render_report``: the current version written to a file, its SHA-256 printed."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from reporting import reports


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def incident(open_incident):
    now = timezone.now()
    return open_incident(now=now - timedelta(hours=2), identified_at=now - timedelta(hours=2))


def run(*args) -> str:
    out = StringIO()
    call_command("render_report", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_renders_the_current_version_once_and_prints_its_hash(
    incident, ctx, alice, agency_a, tmp_path
):
    report = reports.report_draft(
        ctx(alice, agency_a), obligation=incident.obligations.get(rule__key="cisa-initial")
    )
    out = tmp_path / "cisa.pdf"
    printed = run(incident.number, "cisa-notification", "--out", str(out))
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert printed.split()[0] == digest
    version = report.versions.get()
    assert version.pdf_sha256 == digest and out.read_bytes().startswith(b"%PDF-")
    again = tmp_path / "again.pdf"
    assert run(incident.number, "cisa-notification", "--out", str(again)).split()[0] == digest
    assert report.versions.count() == 1  # the current version, not a new one


def test_a_missing_report_is_named_and_drafted_on_request(incident, tmp_path):
    out = tmp_path / "x.pdf"
    with pytest.raises(CommandError, match="drafted yet"):
        run(incident.number, "cisa-notification", "--out", str(out))
    assert not out.exists()
    run(incident.number, "cisa-notification", "--draft", "--out", str(out))
    assert out.read_bytes().startswith(b"%PDF-")


def test_bad_arguments_are_refused(incident, tmp_path):
    out = str(tmp_path / "x.pdf")
    with pytest.raises(CommandError, match="Unknown kind"):
        run(incident.number, "memo", "--out", out)
    with pytest.raises(CommandError, match="No such incident"):
        run("FTA-1999-0001", "cisa-notification", "--out", out)
    with pytest.raises(CommandError, match="no obligation"):
        run(incident.number, "supplemental-report", "--sequence", "1", "--out", out)
    with pytest.raises(CommandError, match="--agency"):
        run("annual-fisma-summary", "--out", out)


def test_the_annual_summary(ctx, carol, agency_a, tmp_path):
    reports.report_draft(ctx(carol, agency_a), kind="annual-fisma-summary", fiscal_year=2027)
    out = tmp_path / "fy.pdf"
    printed = run(
        "annual-fisma-summary", "--agency", "FTA", "--fiscal-year", "2027", "--out", str(out)
    )
    assert printed.split()[0] == hashlib.sha256(out.read_bytes()).hexdigest()
