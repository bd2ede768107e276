"""The report pages as the people who draft, review, approve and audit reports use them: the
Reports section of the incident page, the editor (without JavaScript), the preview, the version
list with its rendering status, the download, the comparison, and the annual summary."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.context import context_for
from incidents.services import determination_record, incident_transition
from reporting import reports as report_services
from reporting.documents import narrative_problems
from reporting.models import Obligation, RenderJob, Report, ReportVersion, Submission
from reporting.report_pages import download_name, report_url

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # 09:00 EST, the Monday after DST ended


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def major(open_incident, olivia, agency_a):
    """An incident on FTA-WEB determined major an hour ago: its seven-day notices are due."""
    incident = open_incident(now=NOW - timedelta(hours=3))
    determination_record(
        ctx=context_for(olivia, agency_a),
        incident=incident,
        decision="major",
        rationale="Customer data exfiltrated.",
        nciss_level=3,
    )
    return incident


@pytest.fixture
def congress(major):
    return Obligation.objects.get(incident=major, rule__key="congress-7-day")


@pytest.fixture
def drafted(congress, carol, agency_a):
    """The seven-day notice to Congress, drafted by carol."""
    return report_services.report_draft(context_for(carol, agency_a), obligation=congress)


def _body(response) -> str:
    return response.content.decode()


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", _body(response)))


def _fields(response) -> dict[str, str]:
    """The editor form's values as the browser would post them (inputs and textareas)."""
    body = _body(response)
    form = body[body.index('class="docket-editor"') :]
    form = form[: form.index("</form>")]
    values = {}
    for m in re.finditer(r"<input[^>]*>", form):
        tag = m.group(0)
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="submit"' not in tag:
            values[name.group(1)] = _unescape(value.group(1) if value else "")
    for m in re.finditer(r"<textarea[^>]*name=\"([^\"]+)\"[^>]*>(.*?)</textarea>", form, re.S):
        values[m.group(1)] = _unescape(m.group(2).lstrip("\n"))
    return values


def _unescape(text: str) -> str:
    return html.unescape(text)


def _narrative_names(fields: dict) -> list[str]:
    return [name for name in fields if name.startswith("section-")]


def _render(client, report, django_capture_on_commit_callbacks):
    """Ask for a rendering from the version list and let the (eager) worker run it."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(report_url(report, "render"))
    assert response.status_code == 302
    return ReportVersion.objects.filter(report=report).order_by("-number").first()


# --- the incident page ------------------------------------------------------------------------


def test_the_incident_page_lists_each_obligation_with_a_draft_button(client, carol, major):
    client.force_login(carol)
    response = client.get(f"/incidents/{major.number}/")
    text = _text(response)
    assert "Reports" in text
    assert "Congressional notification (7 days)" in text
    assert "Not drafted" in text
    assert _body(response).count("Draft report") >= 3  # CISA, update, Congress, IG


def test_drafting_from_the_incident_page_opens_the_editor(client, carol, major, congress):
    client.force_login(carol)
    response = client.post(
        reverse("report-page-draft", args=[major.number]),
        {"obligation": congress.pk},
        follow=True,
    )
    report = Report.objects.get(obligation=congress)
    assert response.redirect_chain[-1][0] == report_url(report)
    assert "drafted" in _text(response)
    page = client.get(f"/incidents/{major.number}/")
    assert report_url(report) in _body(page)
    assert "Draft" in _text(page)


def test_an_auditor_sees_the_reports_but_no_draft_button(client, audrey, audit_grant, web_system):
    incident = audit_grant(audrey, web_system)
    client.force_login(audrey)
    body = _body(client.get(f"/incidents/{incident.number}/"))
    assert 'id="reports"' in body
    assert "Draft report" not in body


def test_another_agency_cannot_open_the_editor(client, bob, drafted):
    client.force_login(bob)
    assert client.get(report_url(drafted)).status_code == 404


def test_a_report_under_another_incident_number_is_not_found(client, carol, drafted, open_incident):
    other = open_incident(now=NOW - timedelta(hours=1))
    client.force_login(carol)
    url = reverse("report-page-edit", args=[other.number, drafted.pk])
    assert client.get(url).status_code == 404


# --- the editor -------------------------------------------------------------------------------


def test_the_editor_round_trip_works_without_javascript(client, carol, drafted):
    client.force_login(carol)
    page = client.get(report_url(drafted))
    assert page.status_code == 200
    fields = _fields(page)
    names = _narrative_names(fields)
    assert names, "the editor offers a field for each narrative section"
    fields[names[0]] = "Containment began at 09:10.\n\n- pod isolated\n- tokens rotated"
    fields["recipients"] = "House Committee on Oversight\nSenate Committee on Homeland Security"
    response = client.post(report_url(drafted), fields, follow=True)
    assert "Report saved." in _text(response)
    drafted.refresh_from_db()
    key = names[0].removeprefix("section-")
    assert drafted.narrative[key] == fields[names[0]]
    assert drafted.recipients == [
        "House Committee on Oversight",
        "Senate Committee on Homeland Security",
    ]
    again = _fields(response)
    assert again[names[0]] == fields[names[0]]


def test_prefilled_data_and_citations_are_shown_beside_the_fields(client, carol, drafted):
    client.force_login(carol)
    body = _body(client.get(report_url(drafted)))
    assert "From the data" in body
    assert drafted.incident.number in body


def test_a_refused_save_shows_what_was_typed_with_the_problem_named(client, carol, drafted):
    client.force_login(carol)
    before = dict(drafted.narrative)
    fields = _fields(client.get(report_url(drafted)))
    name = _narrative_names(fields)[0]
    typed = "A long account. " * 20000
    problems = narrative_problems(typed)
    assert problems, "narrative_problems refuses a text this long"
    fields[name] = typed
    response = client.post(report_url(drafted), fields)
    assert response.status_code == 400
    body = _body(response)
    assert problems[0] in _unescape(body)
    assert _fields(response)[name] == typed
    drafted.refresh_from_db()
    assert drafted.narrative == before


def test_a_save_over_someone_elses_newer_save_keeps_both(client, carol, alice, agency_a, drafted):
    client.force_login(carol)
    fields = _fields(client.get(report_url(drafted)))
    name = _narrative_names(fields)[0]
    key = name.removeprefix("section-")
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        report_services.report_edit(
            context_for(alice, agency_a),
            Report.objects.get(pk=drafted.pk),
            narrative={key: "Alice's account of the containment."},
        )
    fields[name] = "Carol's account of the containment."
    response = client.post(report_url(drafted), fields)
    assert response.status_code == 409
    body = _unescape(_body(response))
    assert "Carol's account of the containment." in body
    assert "Alice's account of the containment." in body
    assert "after you opened it" in body
    drafted.refresh_from_db()
    assert drafted.narrative[key] == "Alice's account of the containment."
    # Saving the kept text again replaces Alice's knowingly.
    kept = _fields(response)
    assert kept[name] == "Carol's account of the containment."
    response = client.post(report_url(drafted), kept, follow=True)
    assert "Report saved." in _text(response)
    drafted.refresh_from_db()
    assert drafted.narrative[key] == "Carol's account of the containment."


def test_suggested_text_goes_into_the_field_unsaved(client, carol, agency_a, drafted):
    client.force_login(carol)
    page = client.get(report_url(drafted))
    suggestions = re.findall(r'name="suggest" value="([^"]+)"', _body(page))
    assert suggestions, "the data of a major incident suggests some text"
    key = suggestions[0]
    drafted = report_services.report_edit(
        context_for(carol, agency_a), drafted, narrative={key: "My own words."}
    )
    fields = _fields(client.get(report_url(drafted)))
    assert fields[f"section-{key}"] == "My own words."
    response = client.post(report_url(drafted), {**fields, "suggest": key})
    assert response.status_code == 200
    assert "Nothing is saved until you press Save" in _text(response)
    suggested = _fields(response)[f"section-{key}"]
    assert suggested.strip() and suggested != "My own words."
    drafted.refresh_from_db()
    assert drafted.narrative[key] == "My own words."


# --- review and approval ----------------------------------------------------------------------


def test_sending_for_review_with_a_required_section_empty_is_refused_with_its_name(
    client, carol, drafted
):
    client.force_login(carol)
    fields = _fields(client.get(report_url(drafted)))
    for name in _narrative_names(fields):
        fields[name] = ""
    assert client.post(report_url(drafted), fields).status_code == 302
    response = client.post(report_url(drafted, "transition"), {"transition": "submit_for_review"})
    assert response.status_code == 400
    text = _text(response)
    assert "That was not done" in text and "Write the required sections first" in text
    drafted.refresh_from_db()
    assert drafted.state == "draft"


def _edit_and_send(client, report):
    fields = _fields(client.get(report_url(report)))
    for name in _narrative_names(fields):
        fields[name] = fields[name] or f"What we know so far ({name})."
    assert client.post(report_url(report), fields).status_code == 302
    response = client.post(report_url(report, "transition"), {"transition": "submit_for_review"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.state == "in_review"


def test_whoever_edited_the_narrative_cannot_approve_it_and_is_told_why(client, olivia, drafted):
    client.force_login(olivia)
    _edit_and_send(client, drafted)
    response = client.post(report_url(drafted, "transition"), {"transition": "approve"})
    assert response.status_code in (403, 409)
    assert "That was not done" in _text(response)
    drafted.refresh_from_db()
    assert drafted.state == "in_review"


def test_an_approving_official_approves_what_someone_else_wrote(client, carol, olivia, drafted):
    client.force_login(carol)
    _edit_and_send(client, drafted)
    assert "Approve" not in _text(client.get(report_url(drafted)))
    client.force_login(olivia)
    page = client.get(report_url(drafted))
    assert "Approve" in _text(page)
    response = client.post(
        report_url(drafted, "transition"), {"transition": "approve"}, follow=True
    )
    assert "approved" in _text(response)
    drafted.refresh_from_db()
    assert drafted.state == "approved"


def test_returning_to_draft_needs_a_reason(client, carol, olivia, drafted):
    client.force_login(carol)
    _edit_and_send(client, drafted)
    client.force_login(olivia)
    url = report_url(drafted, "transition")
    refused = client.post(url, {"transition": "return_to_draft", "reason": " "})
    assert refused.status_code == 400
    assert "Give the reason for returning it." in _text(refused)
    client.post(url, {"transition": "return_to_draft", "reason": "Name the second host."})
    drafted.refresh_from_db()
    assert drafted.state == "draft"


# --- rendering, versions, download, comparison ------------------------------------------------


def test_the_version_list_shows_rendering_then_the_version(
    client, carol, drafted, django_capture_on_commit_callbacks
):
    client.force_login(carol)
    report_services.report_request_render(context_for(carol, drafted.agency), drafted)
    job = RenderJob.objects.get(report=drafted)
    fragment = client.get(report_url(drafted, "status"))
    assert "Rendering…" in _text(fragment)
    assert 'hx-trigger="every' in _body(fragment)
    version = report_services.report_render_job_run(job.pk)
    assert version is not None
    fragment = client.get(report_url(drafted, "status"))
    assert "hx-trigger" not in _body(fragment)
    assert version.pdf_sha256 in _body(fragment)
    assert version.data_sha256 in _body(fragment)
    page = client.get(report_url(drafted, "versions"))
    text = _text(page)
    assert "Rendered" in text
    assert "EST (America/New_York)" in text
    assert version.renderer_version in text


def test_the_download_is_the_versions_pdf(
    client, carol, drafted, django_capture_on_commit_callbacks
):
    client.force_login(carol)
    version = _render(client, drafted, django_capture_on_commit_callbacks)
    assert version is not None
    response = client.get(report_url(drafted, "download", version.number))
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert hashlib.sha256(content).hexdigest() == version.pdf_sha256
    assert response["Content-Type"] == "application/pdf"
    name = download_name(drafted, version)
    assert re.fullmatch(r"[A-Za-z0-9._-]+\.pdf", name)
    assert f'filename="{name}"' in response["Content-Disposition"]
    assert response["Content-Disposition"].startswith("attachment")


def test_a_version_that_does_not_exist_is_not_found(client, carol, drafted):
    client.force_login(carol)
    assert client.get(report_url(drafted, "download", 9)).status_code == 404


def test_the_comparison_escapes_the_narrative(
    client, carol, agency_a, drafted, django_capture_on_commit_callbacks
):
    client.force_login(carol)
    ctx = context_for(carol, agency_a)
    fields = _fields(client.get(report_url(drafted)))
    key = _narrative_names(fields)[0].removeprefix("section-")
    report_services.report_edit(ctx, drafted, narrative={key: "First line.\nSecond line."})
    first = _render(client, drafted, django_capture_on_commit_callbacks)
    drafted.refresh_from_db()
    report_services.report_edit(
        ctx, drafted, narrative={key: "First line.\n<script>alert('x')</script> & more"}
    )
    second = _render(client, drafted, django_capture_on_commit_callbacks)
    assert (first.number, second.number) == (1, 2)
    response = client.get(report_url(drafted, "compare"), {"a": 1, "b": 2})
    assert response.status_code == 200
    body = _body(response)
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in body
    assert "docket-diff__line--removed" in body and "Second line." in body
    assert "docket-diff__line--added" in body


def test_the_preview_shows_the_report_inside_the_page(client, carol, drafted):
    client.force_login(carol)
    response = client.get(report_url(drafted, "preview"))
    assert response.status_code == 200
    body = _body(response)
    assert "docket-preview" in body
    assert drafted.incident.number in body
    assert "<script" not in body.split('class="docket-preview"', 1)[1].split("</main>")[0]


# --- submission -------------------------------------------------------------------------------


def test_recording_the_submission_links_the_version_sent(
    client, carol, olivia, agency_a, drafted, django_capture_on_commit_callbacks
):
    client.force_login(carol)
    _edit_and_send(client, drafted)
    report_services.report_approve(context_for(olivia, agency_a), drafted)
    drafted.refresh_from_db()
    _render(client, drafted, django_capture_on_commit_callbacks)
    form = client.get(report_url(drafted, "submission"))
    assert "America/New_York" in _text(form)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            report_url(drafted, "submission"),
            {
                "channel": "letter",
                "submitted_at": "2026-11-02T08:30",
                "recipients": "House Committee on Oversight",
                "reference": "LTR-7",
            },
            follow=True,
        )
    assert "recorded" in _text(response)
    sub = Submission.objects.get(obligation=drafted.obligation)
    assert sub.submitted_at == datetime(2026, 11, 2, 13, 30, tzinfo=UTC)  # 08:30 EST
    assert sub.report_version.report_id == drafted.pk
    drafted.refresh_from_db()
    assert drafted.state == "submitted"


def test_an_unapproved_report_cannot_be_recorded_as_submitted(client, carol, drafted):
    client.force_login(carol)
    response = client.post(
        report_url(drafted, "submission"),
        {
            "channel": "letter",
            "submitted_at": "2026-11-02T08:30",
            "recipients": "House Committee on Oversight",
        },
    )
    assert response.status_code == 409
    assert "Not recorded" in _text(response)
    assert not Submission.objects.filter(obligation=drafted.obligation).exists()


# --- the annual summary -----------------------------------------------------------------------


def test_a_compliance_officer_drafts_the_annual_summary(client, carol, agency_a):
    client.force_login(carol)
    page = client.get(reverse("annual-summary-list"))
    assert page.status_code == 200
    assert 'value="2027"' in _body(page)  # 2 Nov 2026 is in FY2027
    response = client.post(reverse("annual-summary-list"), {"fiscal_year": 2027}, follow=True)
    report = Report.objects.get(agency=agency_a, kind="annual-fisma-summary", fiscal_year=2027)
    assert response.redirect_chain[-1][0] == report_url(report)
    year = client.get(reverse("annual-summary-year", args=[2027]))
    assert "1 October 2026 – 30 September 2027" in _text(year)
    assert report_url(report) in _body(year)


def test_an_isso_is_not_offered_the_annual_draft(client, alice):
    client.force_login(alice)
    page = client.get(reverse("annual-summary-list"))
    assert "Draft the annual summary" not in _body(page)
    assert client.post(reverse("annual-summary-list"), {"fiscal_year": 2027}).status_code == 403


# --- the post-incident report and query counts ------------------------------------------------


def test_the_post_incident_report_is_offered_once_the_incident_is_recovered(
    client, carol, agency_a, major
):
    client.force_login(carol)
    assert "Post-incident report" not in _text(client.get(f"/incidents/{major.number}/"))
    ctx = context_for(carol, agency_a)
    for step in ("start_triage", "confirm", "contain", "eradicate", "recover"):
        incident_transition(ctx=ctx, incident=major, transition=step)
    page = client.get(f"/incidents/{major.number}/")
    assert "Post-incident report" in _text(page)
    assert 'name="kind" value="post-incident-report"' in _body(page)
    response = client.post(
        reverse("report-page-draft", args=[major.number]),
        {"kind": "post-incident-report"},
        follow=True,
    )
    report = Report.objects.get(incident=major, kind="post-incident-report")
    assert response.redirect_chain[-1][0] == report_url(report)


def test_the_version_list_query_count_does_not_grow_with_versions(
    client, carol, drafted, django_capture_on_commit_callbacks, django_assert_num_queries
):
    client.force_login(carol)
    _render(client, drafted, django_capture_on_commit_callbacks)
    url = report_url(drafted, "versions")
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    queries = len(one.captured_queries)  # each request below resets the query log
    for _ in range(2):
        _render(client, drafted, django_capture_on_commit_callbacks)
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert _body(response).count("Download version") == 3


def test_the_incident_page_query_count_does_not_grow_with_reports(
    client, carol, agency_a, major, django_assert_num_queries
):
    client.force_login(carol)
    url = f"/incidents/{major.number}/"
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    ctx = context_for(carol, agency_a)
    for ob in Obligation.objects.filter(incident=major, waived_at__isnull=True):
        report_services.report_draft(ctx, obligation=ob)
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(url)
    assert "Not drafted" not in _text(response)


def test_a_granted_auditor_reads_a_report_but_is_offered_nothing_to_change(
    client, carol, audrey, agency_a, audit_grant, web_system
):
    incident = audit_grant(audrey, web_system, now=NOW - timedelta(hours=2))
    cisa = Obligation.objects.get(incident=incident, rule__key="cisa-initial")
    report = report_services.report_draft(context_for(carol, agency_a), obligation=cisa)
    client.force_login(audrey)
    page = client.get(report_url(report))
    assert page.status_code == 200
    body = _body(page)
    assert 'class="docket-editor"' not in body
    assert "Send for review" not in body
    assert "Render a PDF now" not in _body(client.get(report_url(report, "versions")))
    refused = client.post(report_url(report), {"updated_at": "x"})
    assert refused.status_code == 403
    report.refresh_from_db()
    assert report.state == "draft"


def test_cisas_tracking_number_and_severity_are_recorded_on_the_version_list(
    client, carol, olivia, agency_a, major
):
    cisa = Obligation.objects.get(incident=major, rule__key="cisa-initial")
    report = report_services.report_draft(context_for(carol, agency_a), obligation=cisa)
    client.force_login(carol)
    _edit_and_send(client, report)
    report_services.report_approve(context_for(olivia, agency_a), report)
    report.refresh_from_db()
    report_services.report_record_submission(
        context_for(carol, agency_a), report, channel="cisa_portal", submitted_at=NOW
    )
    url = report_url(report, "cisa-response")
    refused = client.post(url, {"tracking_number": " ", "severity": "high"})
    assert refused.status_code == 400
    assert "CISA tracking number" in _text(refused)
    response = client.post(
        url, {"tracking_number": "CISA-2026-0042", "severity": "high"}, follow=True
    )
    text = _unescape(_text(response))
    assert "CISA's answer recorded: CISA-2026-0042" in text
    assert "tracking number CISA-2026-0042 , severity High (orange)" in text
    major.refresh_from_db()
    assert major.cisa_tracking_number == "CISA-2026-0042"
