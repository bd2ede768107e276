"""End to end in the browser: a compliance officer drafts the seven-day notice to Congress from
the incident page, writes its narrative in the editor, previews it, asks for a PDF and watches
the version list go from "Rendering…" to the new version without reloading (htmx polling the
status fragment) while the worker renders it. axe-core checks the editor and the version list;
the editor and the version list are saved as screenshots: to the test's temporary folder, or to
docs/screenshots/ when ``DOCKET_SCREENSHOTS=1`` (so a test run leaves the tree as it found it).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from celery import current_app
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.context import context_for
from incidents.services import determination_record
from reporting import reports as report_services
from reporting.models import RenderJob, Report

from ..support.browser import describe_violations, run_axe

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DOCS_SCREENSHOTS = Path(django_settings.BASE_DIR) / "docs" / "screenshots"


@pytest.fixture
def worker_held():
    """Render jobs wait in the (in-memory) broker instead of running at once: the test plays
    the worker, so the page can be seen while the job is queued."""
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    yield
    current_app.conf.task_always_eager = eager


def test_drafting_editing_previewing_and_rendering_a_report(
    signed_in_page, settings, tmp_path, agency_a, carol, olivia, open_incident, worker_held
):
    settings.MEDIA_ROOT = tmp_path / "media"
    SCREENSHOTS = DOCS_SCREENSHOTS if os.environ.get("DOCKET_SCREENSHOTS") else tmp_path / "shots"
    now = timezone.now()
    incident = open_incident(now=now - timedelta(hours=3), title="Web store compromise")
    determination_record(
        ctx=context_for(olivia, agency_a),
        incident=incident,
        decision="major",
        rationale="Customer data exfiltrated.",
        nciss_level=3,
    )

    page = signed_in_page(carol, axe=True)
    page.goto(f"/incidents/{incident.number}/")
    reports = page.get_by_role("region", name="Reports")
    row = reports.get_by_role("row").filter(has_text="Congressional notification (7 days)")
    row.get_by_role("button", name=re.compile("Draft report")).click()
    page.wait_for_load_state("load")
    report = Report.objects.get(incident=incident, obligation__rule__key="congress-7-day")
    assert page.get_by_role("status").filter(has_text="drafted").is_visible()

    # The editor: the first narrative field, found by its label as a screen reader would.
    field = page.locator("textarea.docket-narrative").first
    label = page.locator(f"label[for='{field.get_attribute('id')}']").inner_text()
    text = "Containment began at 09:10: the pod was isolated and its tokens rotated."
    name = re.compile("^" + re.escape(label.replace("*", "").strip()))
    page.get_by_role("textbox", name=name).fill(text)
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_load_state("load")
    assert page.get_by_role("status").filter(has_text="Report saved.").is_visible()
    assert page.locator("textarea.docket-narrative").first.input_value() == text
    violations = [v for v in run_axe(page) if v["impact"] in ("serious", "critical")]
    assert not violations, describe_violations(violations)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report-editor-1280.png"), full_page=True)

    pages = page.get_by_role("navigation", name="Report pages")
    pages.get_by_role("link", name="Preview", exact=True).click()
    page.wait_for_load_state("load")
    preview = page.get_by_role("region", name=re.compile("^Preview of"))
    assert "Containment began at 09:10" in preview.inner_text()

    pages.get_by_role("link", name="Versions", exact=True).click()
    page.wait_for_load_state("load")
    page.get_by_role("button", name="Render a PDF now").click()
    page.wait_for_load_state("load")
    status = page.locator("#render-status")
    assert "Rendering…" in status.inner_text()
    (job,) = RenderJob.objects.filter(report=report)
    assert page.get_by_role("button", name="Render a PDF now").is_disabled()

    url = page.url
    page.evaluate("window.docketNotReloaded = true")  # gone if the page were reloaded
    version = report_services.report_render_job_run(job.pk)  # the worker's turn
    assert version is not None
    # htmx polls every few seconds and swaps the fragment in: no reload, the same page.
    page.get_by_text(version.pdf_sha256).wait_for(timeout=15_000)
    assert page.url == url
    assert page.evaluate("window.docketNotReloaded === true"), "the page was reloaded"
    assert (
        "Rendered" in status.inner_text()
        or "Rendered" in page.locator("#render-status").inner_text()
    )
    assert page.get_by_role("link", name=f"Download version {version.number}").is_visible()
    assert page.get_by_role("button", name="Render a PDF now").is_enabled()
    violations = [v for v in run_axe(page) if v["impact"] in ("serious", "critical")]
    assert not violations, describe_violations(violations)
    page.screenshot(path=str(SCREENSHOTS / "report-versions-1280.png"), full_page=True)
