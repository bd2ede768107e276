from django.urls import path

from . import report_pages as reports
from . import views

# The pages of one report, under its incident and, for the annual summary, its fiscal year.
REPORT_PAGES = (
    ("", reports.report_edit, "edit"),
    ("transition/", reports.report_transition, "transition"),
    ("submission/", reports.report_submission, "submission"),
    ("preview/", reports.report_preview, "preview"),
    ("versions/", reports.report_versions, "versions"),
    ("versions/status/", reports.report_render_status, "status"),
    ("versions/render/", reports.report_render, "render"),
    ("versions/<int:version>/pdf/", reports.report_download, "download"),
    ("compare/", reports.report_compare, "compare"),
    ("versions/cisa-response/", reports.report_cisa_response, "cisa-response"),
)
INCIDENT_REPORT = "incidents/<str:number>/reports/<int:report_pk>/"
ANNUAL_REPORT = "reports/annual/<int:fiscal_year>/<int:report_pk>/"

urlpatterns = [
    path("deadlines/", views.board, name="board"),
    path("calendar/", views.calendar_settings, name="calendar-settings"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar-feed"),
    path("obligations/<int:pk>/submit/", views.obligation_submit, name="obligation-submit"),
    path("obligations/<int:pk>/waive/", views.obligation_waive, name="obligation-waive"),
    path("incidents/<str:number>/reports/new/", reports.report_draft, name="report-page-draft"),
    path("reports/annual/", reports.annual_list, name="annual-summary-list"),
    path("reports/annual/<int:fiscal_year>/", reports.annual_year, name="annual-summary-year"),
    *(
        path(INCIDENT_REPORT + tail, view, name=f"report-page-{n}")
        for tail, view, n in REPORT_PAGES
    ),
    *(
        path(ANNUAL_REPORT + tail, view, name=f"annual-report-page-{n}")
        for tail, view, n in REPORT_PAGES
    ),
]
