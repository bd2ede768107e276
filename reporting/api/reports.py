"""Report endpoints (docs/api.md): list and draft the reports of the incidents you see, edit
the narrative, the transitions (409 when not allowed), renders, versions with their hashes,
the PDF of a version, the HTML preview, and the annual FISMA summaries of your agency."""

from __future__ import annotations

import base64

from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.scoping import scope
from core.errors import InvalidInput
from core.storage import CHUNK_SIZE
from reporting import reports
from reporting.models import ANNUAL_KIND, RenderJob, Report, ReportVersion

from .report_serializers import (
    AnnualCreateSerializer,
    CisaResponseSerializer,
    CompareSectionSerializer,
    ReasonSerializer,
    RenderJobSerializer,
    ReportCreateSerializer,
    ReportEditSerializer,
    ReportSerializer,
    ReportSubmissionSerializer,
    ReportVersionSerializer,
)
from .serializers import SubmissionSerializer


def _b64(hexdigest: str) -> str:
    return base64.b64encode(bytes.fromhex(hexdigest)).decode()


def _body(serializer_class, request) -> dict:
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data


class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reports of the incidents you see (every revision; ``?current=1`` leaves out the
    superseded ones), and the annual summaries when your role sees the whole agency."""

    serializer_class = ReportSerializer
    filterset_fields = {"kind": ["exact"], "state": ["exact"], "fiscal_year": ["exact"]}
    ordering = ["created_at", "pk"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Report.objects.none()
        incident = self.request.query_params.get("incident") if self.action == "list" else None
        qs = reports.visible_reports(self.request.agency_context, incident=incident or None)
        if self.request.query_params.get("current") in ("1", "true"):
            qs = qs.exclude(state="superseded")
        return qs.prefetch_related("editors")

    def _report(self) -> Report:
        return reports.visible_report(self.request.agency_context, self.kwargs["pk"])

    def _answer(self, report: Report, code=status.HTTP_200_OK) -> Response:
        fresh = reports.visible_report(self.request.agency_context, report.pk)
        return Response(ReportSerializer(fresh).data, status=code)

    @extend_schema(
        parameters=[OpenApiParameter("incident", str, description="Incident number.")],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ReportCreateSerializer, responses={201: ReportSerializer})
    def create(self, request):
        """Draft a report (prefilled from the data, suggested narrative where it allows)."""
        data = _body(ReportCreateSerializer, request)
        report = reports.report_draft(
            request.agency_context,
            obligation=data.get("obligation"),
            incident=data.get("incident"),
            kind=data.get("kind"),
            fiscal_year=data.get("fiscal_year"),
        )
        return self._answer(report, status.HTTP_201_CREATED)

    @extend_schema(request=ReportEditSerializer, responses={200: ReportSerializer})
    def partial_update(self, request, pk=None):
        """Edit the narrative (sections given), recipients or title. On an approved or
        submitted report this starts a new revision, returned here (a new ``id``)."""
        report = self._report()  # 404 before 400
        data = _body(ReportEditSerializer, request)
        report = reports.report_edit(
            request.agency_context,
            report,
            narrative=data.get("narrative", {}),
            recipients=data.get("recipients"),
            title=data.get("title"),
        )
        return self._answer(report)

    @extend_schema(request=None, responses={200: ReportSerializer})
    @action(detail=True, methods=["post"], url_path="submit-for-review")
    def submit_for_review(self, request, pk=None):
        return self._answer(
            reports.report_submit_for_review(request.agency_context, self._report())
        )

    @extend_schema(request=ReasonSerializer, responses={200: ReportSerializer})
    @action(detail=True, methods=["post"], url_path="return")
    def return_to_draft(self, request, pk=None):
        report = self._report()  # 404 before 400
        data = _body(ReasonSerializer, request)
        return self._answer(
            reports.report_return_to_draft(request.agency_context, report, reason=data["reason"])
        )

    @extend_schema(request=None, responses={200: ReportSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve (an approving official who did not edit the narrative)."""
        return self._answer(reports.report_approve(request.agency_context, self._report()))

    @extend_schema(request=ReportSubmissionSerializer, responses={201: SubmissionSerializer})
    @action(detail=True, methods=["post"])
    def submissions(self, request, pk=None):
        """Record that the approved report went out; 409 unless it is approved. The
        submission names the exact version sent (``report_version``)."""
        report = self._report()  # 404 before 400
        data = _body(ReportSubmissionSerializer, request)
        sub = reports.report_record_submission(request.agency_context, report, **data)
        if sub is None:
            return self._answer(report, status.HTTP_201_CREATED)
        return Response(SubmissionSerializer(sub).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CisaResponseSerializer, responses={201: None})
    @action(detail=True, methods=["post"], url_path="cisa-response")
    def cisa_response(self, request, pk=None):
        """Record CISA's tracking number and severity rating for a submitted notification."""
        report = self._report()  # 404 before 400
        data = _body(CisaResponseSerializer, request)
        sub = None
        if report.obligation_id:
            sub = report.obligation.submissions.order_by("-submitted_at", "-pk").first()
        if sub is None:
            raise InvalidInput("Record the notification's submission first.")
        response = reports.cisa_response_record(request.agency_context, sub, **data)
        return Response(
            {
                "tracking_number": response.tracking_number,
                "severity": response.severity,
                "recorded_at": response.recorded_at,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses={202: RenderJobSerializer})
    @action(detail=True, methods=["post"])
    def render(self, request, pk=None):
        """Ask for a rendering; poll ``/render-jobs/{id}/`` or the report's ``rendering``."""
        job = reports.report_request_render(request.agency_context, self._report())
        return Response(RenderJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: ReportVersionSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        """Every rendering of this revision, with the PDF's and the data's SHA-256."""
        report = self._report()
        return Response(ReportVersionSerializer(report.versions.order_by("number"), many=True).data)

    @extend_schema(responses={(200, "text/html"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        """The report as it would render now, as HTML (for embedding)."""
        html = reports.report_preview_html(request.agency_context, self._report())
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
        response["Cache-Control"] = "no-store"
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        return response


class ReportVersionViewSet(viewsets.ReadOnlyModelViewSet):
    """Report versions you see; ``pdf`` streams the file (its SHA-256 is the version's)."""

    serializer_class = ReportVersionSerializer
    filterset_fields = {"report": ["exact"]}
    ordering = ["report", "number"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReportVersion.objects.none()
        return scope(
            ReportVersion.objects.select_related("report__agency"), self.request.agency_context
        )

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        """The PDF, streamed; the download is recorded in the incident's history."""
        version = reports.visible_version(request.agency_context, pk)
        handle = reports.report_open_version(request.agency_context, version)
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=f"{version.report.title} v{version.number}.pdf".replace(" · ", " - "),
            content_type="application/pdf",
        )
        response.block_size = CHUNK_SIZE
        response["Content-Length"] = str(version.pdf_size)
        response["Digest"] = f"sha-256={_b64(version.pdf_sha256)}"
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter("a", int, required=True, description="The older version's id."),
        ],
        responses={200: CompareSectionSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def compare(self, request, pk=None):
        """This version's narrative against version ``?a=`` of the same report, per section
        (unified diff lines; empty for an unchanged section)."""
        version = reports.visible_version(request.agency_context, pk)  # 404 before 400
        try:
            other = int(request.query_params.get("a", ""))
        except ValueError:
            raise InvalidInput("Name the version to compare with: ?a=<id>.", field="a") from None
        result = reports.report_compare(request.agency_context, other, version)
        return Response(
            [
                {
                    "section": getattr(section, "key", section),
                    "title": getattr(section, "title", section),
                    "diff": lines,
                }
                for section, lines in result
            ]
        )


class RenderJobViewSet(viewsets.ReadOnlyModelViewSet):
    """Render jobs of the reports you see: queued, done (with the version) or failed (with
    the reason)."""

    serializer_class = RenderJobSerializer
    filterset_fields = {"report": ["exact"], "state": ["exact"]}
    ordering = ["-requested_at", "-pk"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return RenderJob.objects.none()
        return scope(RenderJob.objects.all(), self.request.agency_context)


class AnnualSummaryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The annual FISMA major-incident summaries of your agency (``?fiscal_year=2027``);
    POST drafts the one of a fiscal year (1 October – 30 September). The rest of the
    workflow is that of ``/reports/{id}/``."""

    serializer_class = ReportSerializer
    ordering = ["-fiscal_year", "revision"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Report.objects.none()
        year = self.request.query_params.get("fiscal_year")
        try:
            year = int(year) if year else None
        except ValueError:
            raise InvalidInput("fiscal_year: a year such as 2027.", field="fiscal_year") from None
        return reports.annual_reports(self.request.agency_context, year).prefetch_related("editors")

    @extend_schema(
        parameters=[OpenApiParameter("fiscal_year", int)],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=AnnualCreateSerializer, responses={201: ReportSerializer})
    def create(self, request):
        data = _body(AnnualCreateSerializer, request)
        report = reports.report_draft(
            request.agency_context, kind=ANNUAL_KIND, fiscal_year=data["fiscal_year"]
        )
        return Response(ReportSerializer(report).data, status=status.HTTP_201_CREATED)
