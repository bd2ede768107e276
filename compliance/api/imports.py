"""Import endpoints of the compliance app (multipart upload of one ``file``) and the system
inventory export. Each calls its service, which checks the caller's role, validates the whole
file and stores all of it or nothing; the answer counts what was created, updated and found
unchanged. Errors are 400 naming the line (CSV) or path (YAML, OSCAL) and the problem."""

from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance import services

RESULT = inline_serializer(
    name="ImportResult",
    fields={
        "kind": serializers.CharField(),
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
    },
)


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class AssessmentUploadSerializer(UploadSerializer):
    system = serializers.CharField(
        required=False, help_text="OSCAL only: the system acronym where the results do not say."
    )
    framework = serializers.CharField(
        required=False, help_text="OSCAL only: the framework name (default NIST SP 800-53)."
    )


class _ImportView(APIView):
    parser_classes = [MultiPartParser]
    body_class = UploadSerializer

    def run(self, request, uploaded, body):
        raise NotImplementedError

    def post(self, request):
        body = self.body_class(data=request.data)
        body.is_valid(raise_exception=True)
        uploaded = body.validated_data["file"]
        try:
            result = self.run(request, uploaded, body.validated_data)
        finally:
            uploaded.close()
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(result.as_dict(), status=code)


class FrameworkImportView(_ImportView):
    """POST a framework file (CSV or YAML): the agency's licensed framework, seen by it only.
    Compliance officers and agency administrators."""

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={200: RESULT})
    def post(self, request):
        return super().post(request)

    def run(self, request, uploaded, data):
        return services.framework_file_import(
            source=uploaded, ctx=request.agency_context, filename=uploaded.name
        )


class CrosswalkImportView(_ImportView):
    """POST crosswalk rows (CSV or YAML): the agency's own mappings."""

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={200: RESULT})
    def post(self, request):
        return super().post(request)

    def run(self, request, uploaded, data):
        return services.crosswalk_file_import(
            source=uploaded, ctx=request.agency_context, filename=uploaded.name
        )


class SystemImportView(_ImportView):
    """POST the system inventory as CSV (the columns of the export)."""

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={200: RESULT})
    def post(self, request):
        return super().post(request)

    def run(self, request, uploaded, data):
        return services.systems_file_import(
            source=uploaded, ctx=request.agency_context, filename=uploaded.name
        )


class AssessmentImportView(_ImportView):
    """POST control assessments: CSV, or OSCAL assessment results (JSON)."""

    body_class = AssessmentUploadSerializer

    @extend_schema(
        request={"multipart/form-data": AssessmentUploadSerializer}, responses={200: RESULT}
    )
    def post(self, request):
        return super().post(request)

    def run(self, request, uploaded, data):
        return services.assessments_file_import(
            source=uploaded,
            ctx=request.agency_context,
            filename=uploaded.name,
            system=data.get("system"),
            framework=data.get("framework"),
        )


class SystemExportView(APIView):
    """GET the agency's system inventory as CSV (what the import reads)."""

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request):
        body = services.systems_export_csv(ctx=request.agency_context)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        abbreviation = request.agency_context.agency.abbreviation.lower()
        response["Content-Disposition"] = f'attachment; filename="{abbreviation}-systems.csv"'
        return response


urlpatterns = [
    path("frameworks/import", FrameworkImportView.as_view(), name="api-framework-import"),
    path("crosswalks/import", CrosswalkImportView.as_view(), name="api-crosswalk-import"),
    path("systems/import", SystemImportView.as_view(), name="api-system-import"),
    path("systems/export.csv", SystemExportView.as_view(), name="api-system-export"),
    path("assessments/import", AssessmentImportView.as_view(), name="api-assessment-import"),
]
