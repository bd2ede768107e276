"""Rendering in the worker: the job row written with the act, the task queued on commit, a
worker killed mid-render leaving no half version and the retry completing it, a render that
fails for good leaving no version and saying why, and the sweep re-queuing lost jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import current_app
from django.core.files.storage import default_storage
from django.utils import timezone

from core.jobs import JobState, sweep_now
from incidents.models import IncidentEvent
from reporting import reports
from reporting.documents import RenderError
from reporting.history import ReportingEventKind
from reporting.models import RenderJob, ReportVersion


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media"


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def report(open_incident, ctx, alice, agency_a, now):
    incident = open_incident(now=now - timedelta(hours=2), identified_at=now - timedelta(hours=2))
    cisa = incident.obligations.get(rule__key="cisa-initial")
    return reports.report_draft(ctx(alice, agency_a), obligation=cisa, now=now)


@pytest.fixture
def job(report, ctx, alice, agency_a, now):
    return reports.report_request_render(ctx(alice, agency_a), report, now=now)


def stored_pdfs(media) -> list:
    root = media / "reports"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_the_task_is_registered_with_time_limits():
    task = current_app.tasks["reporting.tasks.render_report_version"]
    assert (task.soft_time_limit, task.time_limit) == (120, 150)


def test_asking_writes_a_job_and_the_task_renders_after_commit(
    report, ctx, alice, agency_a, now, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = reports.report_request_render(ctx(alice, agency_a), report, now=now)
        assert RenderJob.objects.get(pk=job.pk).state == JobState.QUEUED
        assert not report.versions.exists()
    assert len(callbacks) == 1  # the eager test broker ran the task on commit
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.error == ""
    version = job.version
    assert version.number == 1 and version.draft is True and version.rendered_by == alice
    assert version.report_state == "draft"
    assert len(version.pdf_sha256) == 64 and len(version.data_sha256) == 64
    assert version.renderer_version and version.definition_version == report.definition_version


def test_a_second_request_while_waiting_is_the_same_job(job, report, ctx, alice, agency_a, now):
    again = reports.report_request_render(ctx(alice, agency_a), report, now=now)
    assert again.pk == job.pk and report.render_jobs.count() == 1


def test_a_worker_killed_mid_render_leaves_nothing_and_the_retry_completes(
    job, report, media, monkeypatch
):
    real = reports.render_pdf
    calls = []

    def killed_the_first_time(html, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise SystemError("worker lost (simulated kill)")
        return real(html, **kw)

    monkeypatch.setattr(reports, "render_pdf", killed_the_first_time)
    assert reports.report_render_job_run(job.pk) is None
    job.refresh_from_db()
    assert job.state == JobState.QUEUED and job.attempts == 1
    assert "worker lost" in job.error
    assert not ReportVersion.objects.filter(report=report).exists()
    assert stored_pdfs(media) == []

    version = reports.report_render_job_run(job.pk)
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.version == version and job.error == ""
    assert list(ReportVersion.objects.filter(report=report)) == [version]
    assert [p.name for p in stored_pdfs(media)] == [version.pdf_name.rsplit("/", 1)[-1]]
    # Done is done: a duplicate message does nothing.
    assert reports.report_render_job_run(job.pk) is None
    assert ReportVersion.objects.filter(report=report).count() == 1


def test_killed_after_storing_the_pdf_the_file_is_discarded(job, report, media, monkeypatch):
    real = reports._record_version

    def fail(*args, **kwargs):
        raise ConnectionError("database went away")

    monkeypatch.setattr(reports, "_record_version", fail)
    assert reports.report_render_job_run(job.pk) is None
    assert stored_pdfs(media) == [] and not report.versions.exists()
    monkeypatch.setattr(reports, "_record_version", real)
    assert reports.report_render_job_run(job.pk) is not None
    assert report.versions.count() == 1


def test_a_render_that_fails_for_good_creates_no_version_and_says_why(
    job, report, media, monkeypatch
):
    def broken(html, **kw):
        raise RenderError("WeasyPrint: the font 'Public Sans' could not be embedded")

    monkeypatch.setattr(reports, "render_pdf", broken)
    assert reports.report_render_job_run(job.pk) is None
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.finished_at is not None
    assert "could not be embedded" in job.error
    assert not report.versions.exists() and stored_pdfs(media) == []
    failed = IncidentEvent.objects.get(
        incident=report.incident, kind=ReportingEventKind.REPORT_RENDER_FAILED
    )
    assert "could not be embedded" in failed.note


def test_repeated_crashes_fail_the_job_after_the_last_attempt(job, report, monkeypatch):
    def crash(html, **kw):
        raise MemoryError("out of memory")

    monkeypatch.setattr(reports, "render_pdf", crash)
    for _ in range(RenderJob.MAX_ATTEMPTS):
        reports.report_render_job_run(job.pk)
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.attempts == RenderJob.MAX_ATTEMPTS
    assert "out of memory" in job.error and not report.versions.exists()


def test_the_sweep_requeues_a_lost_render(job, settings, now):
    settings.DOCKET_JOB_STALE_SECONDS = 60
    assert sweep_now(now + timedelta(seconds=30))["reporting.render"] == 0
    later = now + timedelta(minutes=5)
    assert sweep_now(later)["reporting.render"] == 1
    job.refresh_from_db()
    assert job.queued_at == later and job.state == JobState.QUEUED


def test_an_approved_rendering_has_no_watermark_and_keeps_the_number_sequence(
    report, ctx, alice, olivia, agency_a, now
):
    first = reports.report_render_now(ctx(alice, agency_a), report, now=now)
    written = {k: v or "Written." for k, v in report.narrative.items()}
    report = reports.report_edit(ctx(alice, agency_a), report, narrative=written, now=now)
    report = reports.report_submit_for_review(ctx(alice, agency_a), report, now=now)
    report = reports.report_approve(ctx(olivia, agency_a), report, now=now)
    job = report.render_jobs.get(state=JobState.QUEUED)
    second = reports.report_render_job_run(job.pk)
    assert (first.number, first.draft) == (1, True)
    assert (second.number, second.draft, second.report_state) == (2, False, "approved")
    assert "signer" not in first.data
    assert second.data["signer"] == (olivia.get_full_name() or olivia.username)
    assert default_storage.exists(first.pdf_name) and default_storage.exists(second.pdf_name)
    assert first.pdf_name != second.pdf_name
