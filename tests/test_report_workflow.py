"""The report workflow through its services (reporting.reports): drafting, editing, review,
approval with separation of duties, revisions after approval, submission linked to the
exact version sent, CISA's answer, the history entries, append-only versions and who sees
what."""

from __future__ import annotations

import importlib
import sqlite3
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.models import Role
from core.append_only import AppendOnlyError
from core.errors import Conflict, InvalidInput, NotFound, NotPermitted
from core.storage import hash_stored
from incidents.models import AuditorGrant, IncidentEvent
from reporting import reports
from reporting.documents import cisa_severity, cisa_tracking_number
from reporting.history import ReportingEventKind
from reporting.models import (
    Report,
    ReportState,
    ReportVersion,
    cisa_response_for,
)

from .support.factories import person

triggers = importlib.import_module("reporting.migrations.0006_reports_append_only_triggers")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def incident(open_incident, now):
    return open_incident(now=now - timedelta(hours=2), identified_at=now - timedelta(hours=2))


@pytest.fixture
def cisa(incident):
    return incident.obligations.get(rule__key="cisa-initial")


@pytest.fixture
def as_(ctx, agency_a):
    return lambda user: ctx(user, agency_a)


def narrative_key(report: Report) -> str:
    definition = reports._definition(report)
    return next(s.key for s in definition.sections if s.mode == "narrative")


def kinds(incident) -> list[str]:
    return list(
        IncidentEvent.objects.filter(incident=incident, kind__startswith="report_")
        .order_by("pk")
        .values_list("kind", flat=True)
    )


def complete(ctx, report, now):
    """Every narrative section written (the required ones must be before review)."""
    return reports.report_edit(
        ctx,
        report,
        narrative={k: v or f"What we know for {k}." for k, v in report.narrative.items()},
        now=now,
    )


def in_review(as_, alice, cisa, now):
    report = reports.report_draft(as_(alice), obligation=cisa, now=now)
    key = narrative_key(report)
    report = reports.report_edit(
        as_(alice), report, narrative={key: "Contained within the hour."}, now=now
    )
    report = complete(as_(alice), report, now)
    return reports.report_submit_for_review(as_(alice), report, now=now)


def test_a_draft_starts_from_the_obligation_and_its_suggestions(as_, alice, cisa, now):
    report = reports.report_draft(as_(alice), obligation=cisa, now=now)
    assert report.state == ReportState.DRAFT
    assert report.kind == "cisa-notification"
    assert report.incident == cisa.incident and report.agency == cisa.incident.agency
    assert report.recipients == ["CISA"]
    assert report.title.startswith(cisa.incident.number)
    assert set(report.narrative) == {
        s.key for s in reports._definition(report).sections if s.mode == "narrative"
    }
    assert list(report.editors.all()) == [alice]
    with pytest.raises(Conflict, match="already has a report"):
        reports.report_draft(as_(alice), obligation=cisa, now=now)
    assert kinds(cisa.incident) == [ReportingEventKind.REPORT_DRAFTED]


def test_the_drafters_approval_is_refused_with_the_reason(as_, agency_a, olivia, cisa, now):
    """An approving official who wrote the narrative cannot approve it; another one can."""
    report = reports.report_draft(as_(olivia), obligation=cisa, now=now)
    report = reports.report_submit_for_review(as_(olivia), complete(as_(olivia), report, now))
    with pytest.raises(NotPermitted, match="separation of duties") as refused:
        reports.report_approve(as_(olivia), report, now=now)
    assert "You edited this report's narrative" in refused.value.message
    assert Report.objects.get(pk=report.pk).state == ReportState.IN_REVIEW
    other = person("oscar", agency_a, Role.APPROVING_OFFICIAL)
    approved = reports.report_approve(as_(other), report, now=now)
    assert approved.state == ReportState.APPROVED and approved.approved_by == other


def test_editing_makes_an_editor_who_may_not_approve(as_, alice, carol, olivia, cisa, now):
    report = reports.report_draft(as_(alice), obligation=cisa, now=now)
    key = narrative_key(report)
    reports.report_edit(as_(olivia), report, narrative={key: "Olivia's words."}, now=now)
    report = complete(as_(alice), Report.objects.get(pk=report.pk), now)
    report = reports.report_submit_for_review(as_(alice), report, now=now)
    with pytest.raises(NotPermitted, match="separation of duties"):
        reports.report_approve(as_(olivia), report, now=now)
    # Only approving officials approve at all.
    with pytest.raises(NotPermitted, match="Only an approving official"):
        reports.report_approve(as_(carol), report, now=now)


def test_review_return_approve_and_history(as_, alice, carol, olivia, cisa, now):
    report = in_review(as_, alice, cisa, now)
    with pytest.raises(InvalidInput, match="needs a reason"):
        reports.report_return_to_draft(as_(carol), report, reason="  ", now=now)
    report = reports.report_return_to_draft(as_(carol), report, reason="Name the pod.", now=now)
    assert report.state == ReportState.DRAFT and report.return_reason == "Name the pod."
    with pytest.raises(Conflict, match="Cannot approve it: the report is draft"):
        reports.report_approve(as_(olivia), report, now=now)
    report = reports.report_submit_for_review(as_(alice), report, now=now)
    report = reports.report_approve(as_(olivia), report, now=now)
    assert report.state == ReportState.APPROVED and report.approved_at == now
    assert kinds(cisa.incident) == [
        ReportingEventKind.REPORT_DRAFTED,
        ReportingEventKind.REPORT_IN_REVIEW,
        ReportingEventKind.REPORT_RETURNED,
        ReportingEventKind.REPORT_IN_REVIEW,
        ReportingEventKind.REPORT_APPROVED,
    ]
    returned = IncidentEvent.objects.get(
        incident=cisa.incident, kind=ReportingEventKind.REPORT_RETURNED
    )
    assert returned.actor == carol and "Name the pod." in returned.note
    # Approval asked the worker for the approved rendering.
    assert report.render_jobs.filter(state="queued").count() == 1


def test_review_needs_the_required_sections(as_, alice, cisa, now):
    report = reports.report_draft(as_(alice), obligation=cisa, now=now)
    empty = dict.fromkeys(report.narrative, "")
    report = reports.report_edit(as_(alice), report, narrative=empty, now=now)
    with pytest.raises(InvalidInput, match=r"Write the required sections first: .*Mitigations"):
        reports.report_submit_for_review(as_(alice), report, now=now)
    assert Report.objects.get(pk=report.pk).state == ReportState.DRAFT


def test_a_report_in_review_is_not_edited_in_place(as_, alice, cisa, now):
    report = in_review(as_, alice, cisa, now)
    with pytest.raises(Conflict, match="return it to draft"):
        reports.report_edit(as_(alice), report, narrative={narrative_key(report): "x"}, now=now)


def test_bad_narrative_is_refused_naming_the_section(as_, alice, cisa, now):
    report = reports.report_draft(as_(alice), obligation=cisa, now=now)
    before = dict(report.narrative)
    with pytest.raises(InvalidInput, match="no section 'nonsense'"):
        reports.report_edit(as_(alice), report, narrative={"nonsense": "x"}, now=now)
    with pytest.raises(InvalidInput, match="Recipients"):
        reports.report_edit(as_(alice), report, narrative={}, recipients=[""], now=now)
    assert Report.objects.get(pk=report.pk).narrative == before


def test_submitting_an_unapproved_report_is_refused(as_, alice, cisa, now):
    report = in_review(as_, alice, cisa, now)
    with pytest.raises(Conflict, match="Only an approved report can be submitted") as refused:
        reports.report_record_submission(as_(alice), report, channel="cisa_portal", now=now)
    assert refused.value.status == 409
    assert not cisa.submissions.exists()
    cisa.refresh_from_db()
    assert cisa.met_at is None


def test_submission_meets_the_obligation_with_the_exact_version(as_, alice, olivia, cisa, now):
    report = in_review(as_, alice, cisa, now)
    report = reports.report_approve(as_(olivia), report, now=now)
    sent = now + timedelta(minutes=5)
    sub = reports.report_record_submission(
        as_(alice),
        report,
        submitted_at=sent,
        channel="cisa_portal",
        reference="CISA-2026-0001",
        now=sent,
    )
    cisa.refresh_from_db()
    assert cisa.met_at == sent and sub.obligation == cisa
    assert sub.submitted_by == alice and sub.recipients == ["CISA"]
    version = sub.report_version
    assert version is not None and version.report == report
    assert version.draft is False and version.report_state == ReportState.APPROVED
    assert version.narrative == report.narrative
    assert hash_stored(version.pdf_name) == (version.pdf_sha256, version.pdf_size)
    report.refresh_from_db()
    assert report.state == ReportState.SUBMITTED and report.submitted_at == sent
    # Frozen: no more renders of a submitted revision.
    with pytest.raises(Conflict, match="final"):
        reports.report_request_render(as_(alice), report, now=sent)
    assert kinds(cisa.incident)[-2:] == [
        ReportingEventKind.REPORT_RENDERED,
        ReportingEventKind.REPORT_SUBMITTED,
    ]


def test_editing_an_approved_report_starts_a_new_revision(as_, alice, olivia, cisa, now):
    report = in_review(as_, alice, cisa, now)
    report = reports.report_approve(as_(olivia), report, now=now)
    key = narrative_key(report)
    approved_text = report.narrative[key]
    later = now + timedelta(minutes=10)
    revision = reports.report_edit(
        as_(alice), report, narrative={key: approved_text + "\n\nAnd one more fact."}, now=later
    )
    assert revision.pk != report.pk
    assert revision.revision == 2 and revision.revises == report
    assert revision.state == ReportState.DRAFT
    assert revision.narrative[key].startswith(approved_text)
    report.refresh_from_db()
    assert report.state == ReportState.SUPERSEDED
    assert report.narrative[key] == approved_text  # the approved content is untouched
    assert list(revision.editors.all()) == [alice]
    with pytest.raises(Conflict, match="superseded"):
        reports.report_edit(as_(alice), report, narrative={key: "x"}, now=later)
    assert ReportingEventKind.REPORT_REVISED in kinds(cisa.incident)


def test_cisa_answer_is_recorded_once_per_answer_and_read_back(as_, alice, olivia, cisa, now):
    report = reports.report_approve(as_(olivia), in_review(as_, alice, cisa, now), now=now)
    sub = reports.report_record_submission(as_(alice), report, channel="cisa_portal", now=now)
    assert cisa_tracking_number(cisa.incident) == ""
    with pytest.raises(InvalidInput, match="Severity"):
        reports.cisa_response_record(as_(alice), sub, tracking_number="X", severity="purple")
    reports.cisa_response_record(
        as_(alice), sub, tracking_number=" CISA-2026-0417 ", severity="medium", now=now
    )
    reports.cisa_response_record(
        as_(alice), sub, tracking_number="CISA-2026-0417", severity="high", now=now
    )
    answer = cisa_response_for(cisa.incident)
    assert (answer.tracking_number, answer.severity) == ("CISA-2026-0417", "high")
    assert cisa_tracking_number(cisa.incident) == "CISA-2026-0417"
    assert cisa_severity(cisa.incident) == "High (orange)"  # printed on later reports
    with pytest.raises(AppendOnlyError):
        answer.save()


def test_versions_are_append_only_in_the_model_and_the_database(as_, alice, cisa, now):
    report = reports.report_draft(as_(alice), obligation=cisa, now=now)
    version = reports.report_render_now(as_(alice), report, now=now)
    with pytest.raises(AppendOnlyError):
        version.save()
    with pytest.raises(AppendOnlyError):
        ReportVersion.objects.filter(pk=version.pk).update(pdf_sha256="0" * 64)
    with pytest.raises(AppendOnlyError):
        version.delete()
    if connection.vendor != "postgresql":
        pytest.fail("The database trigger is tested on PostgreSQL (DATABASE_URL).")
    for sql, params in (
        (
            "UPDATE reporting_reportversion SET pdf_sha256 = %s WHERE id = %s",
            ["0" * 64, version.pk],
        ),
        ("DELETE FROM reporting_reportversion WHERE id = %s", [version.pk]),
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, params)
    assert ReportVersion.objects.get(pk=version.pk).pdf_sha256 == version.pdf_sha256


def test_the_sqlite_trigger_refuses_update_and_delete():
    """The migration's SQLite triggers, run on a bare SQLite table of the same name."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE reporting_reportversion (id INTEGER PRIMARY KEY, pdf_sha256 TEXT)")
    db.execute("INSERT INTO reporting_reportversion VALUES (1, 'abc')")
    for sql in triggers._sqlite("reporting_reportversion", "report versions")[0]:
        db.execute(sql)
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert "reporting_reportversion_append_only" in names
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE reporting_reportversion SET pdf_sha256 = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM reporting_reportversion")
    assert db.execute("SELECT pdf_sha256 FROM reporting_reportversion").fetchall() == [("abc",)]


def test_outsiders_and_ungranted_auditors_see_nothing(
    as_, ctx, alice, audrey, bob, agency_b, ivan, cisa, now
):
    report = reports.report_draft(as_(alice), obligation=cisa, now=now)
    version = reports.report_render_now(as_(alice), report, now=now)
    for viewer in (ctx(bob, agency_b), as_(audrey), as_(ivan)):
        with pytest.raises(NotFound):
            reports.visible_report(viewer, report.pk)
        with pytest.raises(NotFound):
            reports.visible_version(viewer, version.pk)
        with pytest.raises(NotFound):
            reports.report_open_version(viewer, version)
        assert not reports.visible_reports(viewer).exists()
    with pytest.raises(NotFound):
        reports.report_edit(ctx(bob, agency_b), report, narrative={}, now=now)


def test_a_granted_auditor_reads_but_never_drafts_or_edits(as_, alice, audrey, cisa, now):
    report = reports.report_draft(as_(alice), obligation=cisa, now=now)
    version = reports.report_render_now(as_(alice), report, now=now)
    AuditorGrant.objects.create(incident=cisa.incident, user=audrey)
    auditor = as_(audrey)
    assert reports.visible_report(auditor, report.pk) == report
    with reports.report_open_version(auditor, version) as fh:
        assert fh.read(5) == b"%PDF-"
    downloaded = IncidentEvent.objects.filter(
        incident=cisa.incident, kind=ReportingEventKind.REPORT_DOWNLOADED
    ).get()
    assert downloaded.actor == audrey
    with pytest.raises(NotPermitted):
        reports.report_edit(auditor, report, narrative={}, now=now)
    with pytest.raises(NotPermitted):
        reports.report_request_render(auditor, report, now=now)


def test_the_annual_summary_is_seen_by_the_agency_wide_roles(as_, alice, carol, olivia, now):
    report = reports.report_draft(as_(carol), kind="annual-fisma-summary", fiscal_year=2027)
    assert report.incident is None and report.fiscal_year == 2027
    assert report.title.startswith("FTA · ") and report.title.endswith("FY2027")
    assert list(reports.annual_reports(as_(olivia), 2027)) == [report]
    with pytest.raises(NotFound):
        reports.visible_report(as_(alice), report.pk)
    with pytest.raises(NotPermitted, match="annual summary"):
        reports.report_draft(as_(alice), kind="annual-fisma-summary", fiscal_year=2026)
    with pytest.raises(Conflict, match="already has a report"):
        reports.report_draft(as_(carol), kind="annual-fisma-summary", fiscal_year=2027)


def test_the_post_incident_report_waits_for_recovery(as_, alice, incident, now):
    with pytest.raises(Conflict, match="recovered or closed"):
        reports.report_draft(as_(alice), incident=incident, kind="post-incident-report")


def test_the_post_incident_report_of_a_recovered_incident(as_, alice, carol, olivia, incident, now):
    from incidents.services import incident_transition

    for step in ("start_triage", "confirm", "contain", "eradicate", "recover"):
        incident = incident_transition(ctx=as_(alice), incident=incident, transition=step, now=now)
    report = reports.report_draft(as_(carol), incident=incident, kind="post-incident-report")
    assert report.obligation is None and report.incident == incident
    report = complete(as_(carol), report, now)
    report = reports.report_submit_for_review(as_(carol), report, now=now)
    report = reports.report_approve(as_(olivia), report, now=now)
    # No obligation to meet: marked submitted, no Submission, the version rendered.
    assert reports.report_record_submission(as_(carol), report, channel="email", now=now) is None
    report.refresh_from_db()
    assert report.state == ReportState.SUBMITTED
    assert report.versions.get().draft is False


def test_a_waived_obligations_report_is_not_submitted(as_, alice, olivia, cisa, now):
    from reporting.services import obligation_waive

    report = reports.report_approve(as_(olivia), in_review(as_, alice, cisa, now), now=now)
    obligation_waive(ctx=as_(olivia), obligation=cisa, reason="Reported by phone", now=now)
    with pytest.raises(Conflict, match="waived; nothing is owed"):
        reports.report_record_submission(as_(alice), report, channel="email", now=now)
    assert not report.versions.exists()
