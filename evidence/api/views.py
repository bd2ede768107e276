"""Evidence endpoints. Reads go through ``scope``; uploads and downloads through the services,
which check roles, stream, hash, validate and write the custody ledger."""

import base64

from django.contrib.auth import get_user_model
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.scoping import scope
from core.errors import InvalidInput, NotFound
from core.storage import CHUNK_SIZE
from evidence import integrity, services
from evidence.captures import capture_commands_request
from evidence.errors import LengthRequired, TooLarge
from evidence.models import CustodyEntry, CustodyTransfer, Evidence, Kind
from evidence.multipart import sent_name
from incidents.models import Incident
from incidents.selectors import visible_incident

from .serializers import (
    CustodyEntrySerializer,
    EvidenceSerializer,
    MultipartUploadSerializer,
    NoteSerializer,
    TransferOfferSerializer,
    TransferSerializer,
    UploadParamsSerializer,
    VerifyResultSerializer,
    WithdrawSerializer,
)

# Multipart framing (boundaries, part headers, the small fields) on top of the file itself.
MULTIPART_SLACK = 1 << 20


def _incident(request, number) -> Incident:
    return visible_incident(
        request.agency_context, number, Incident.objects.select_related("agency")
    )


def _evidence_queryset(request):
    """The evidence the caller sees, each with its integrity (latest content check) read in
    the same query."""
    return integrity.annotate(
        scope(
            Evidence.objects.select_related("incident__agency", "uploaded_by", "withdrawn_by"),
            request.agency_context,
        )
    )


def _content_length(request) -> int | None:
    raw = request.META.get("CONTENT_LENGTH")
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput("Content-Length is not a number.") from None
    if value < 0:
        raise InvalidInput("Content-Length is negative.")
    return value


class IncidentEvidenceView(generics.ListAPIView):
    """GET: the incident's evidence. POST (multipart: ``file``, ``kind``, optional
    ``collected_at``, ``source`` and collection metadata): upload one item."""

    serializer_class = EvidenceSerializer
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request context
            return Evidence.objects.none()
        incident = _incident(self.request, self.kwargs["number"])
        return _evidence_queryset(self.request).filter(incident=incident).order_by("pk")

    def initial(self, request, *args, **kwargs):
        # Before authentication: a session client's CSRF check reads request.POST, which
        # would parse (and spool to disk) the whole multipart body first.
        if request.method == "POST":
            length = _content_length(request)
            limit = services.max_upload_bytes()
            if length is not None and length > limit + MULTIPART_SLACK:
                raise TooLarge(
                    f"The upload is larger than the limit of {limit} bytes.", limit=limit
                )
        super().initial(request, *args, **kwargs)

    @extend_schema(request=MultipartUploadSerializer, responses={201: EvidenceSerializer})
    def post(self, request, number):
        incident = _incident(request, number)
        body = MultipartUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        uploaded = body.validated_data["file"]
        try:
            evidence = services.evidence_upload(
                ctx=request.agency_context,
                incident=incident,
                fileobj=uploaded,
                filename=body.validated_data.get("filename") or sent_name(uploaded),
                **body.upload_kwargs(),
            )
        finally:
            uploaded.close()
        return Response(EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)


class RawUploadView(APIView):
    """PUT the file as the raw request body (``Content-Length`` required), with ``filename``,
    ``kind`` and the optional fields as query parameters. Read as a stream, never whole."""

    parser_classes = []

    @extend_schema(
        parameters=[
            OpenApiParameter("filename", str, required=True),
            OpenApiParameter("kind", str, required=True, enum=Kind.values),
            OpenApiParameter("collected_at", OpenApiTypes.DATETIME),
            OpenApiParameter("source", str),
        ],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={201: EvidenceSerializer},
    )
    def put(self, request, number):
        incident = _incident(request, number)
        params = UploadParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        if "filename" not in params.validated_data:
            raise InvalidInput("The filename query parameter is required.", field="filename")
        length = _content_length(request)
        if length is None:
            raise LengthRequired("Send Content-Length: a raw upload is read as a sized stream.")
        limit = services.max_upload_bytes()
        if length > limit:
            raise TooLarge(
                f"The file ({length} bytes) is larger than the limit of {limit} bytes.",
                limit=limit,
            )
        evidence = services.evidence_upload(
            ctx=request.agency_context,
            incident=incident,
            fileobj=request.stream if length else _Empty(),
            filename=params.validated_data["filename"],
            declared_size=length,
            **params.upload_kwargs(),
        )
        return Response(EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)


class _Empty:
    def read(self, size=-1) -> bytes:
        return b""


class EvidenceListView(generics.ListAPIView):
    """Evidence the caller may see, across incidents; ``?incident=NUMBER``, ``?kind=``."""

    serializer_class = EvidenceSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("incident", str),
            OpenApiParameter("kind", str, enum=Kind.values),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Evidence.objects.none()
        queryset = _evidence_queryset(self.request).order_by("-uploaded_at", "-pk")
        if number := self.request.query_params.get("incident"):
            queryset = queryset.filter(incident__number=number)
        if kind := self.request.query_params.get("kind"):
            queryset = queryset.filter(kind=kind)
        return queryset


class EvidenceDetailView(generics.RetrieveAPIView):
    """One item; reading it is a ``view`` custody entry, as opening its page is."""

    serializer_class = EvidenceSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Evidence.objects.none()
        return _evidence_queryset(self.request)

    def retrieve(self, request, *args, **kwargs):
        evidence = self.get_object()
        services.evidence_view(ctx=request.agency_context, evidence=evidence)
        return Response(self.get_serializer(evidence).data)


class EvidenceDownloadView(APIView):
    """The file itself, streamed after its SHA-256 was checked; the download is recorded in
    the custody ledger (auditors' downloads too). 409 when the stored file no longer
    matches its hash."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        evidence = _evidence_queryset(request).filter(pk=pk).first()
        if evidence is None:
            raise NotFound("No such evidence.")
        handle = services.evidence_open(
            ctx=request.agency_context, evidence=evidence, purpose="download"
        )
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=evidence.original_filename,
            content_type="application/octet-stream",
        )
        response.block_size = CHUNK_SIZE
        response["Content-Length"] = str(evidence.size)
        response["Digest"] = f"sha-256={_b64(evidence.sha256)}"
        response["Cache-Control"] = "no-store"
        return response


def _b64(hexdigest: str) -> str:
    return base64.b64encode(bytes.fromhex(hexdigest)).decode()


class EvidenceCustodyView(generics.ListAPIView):
    """The item's custody ledger, oldest first, with each entry's hash and its predecessor's."""

    serializer_class = CustodyEntrySerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CustodyEntry.objects.none()
        self.evidence = _evidence_queryset(self.request).filter(pk=self.kwargs["pk"]).first()
        if self.evidence is None:
            raise NotFound("No such evidence.")
        return CustodyEntry.objects.filter(evidence=self.evidence).select_related(
            "from_person", "to_person"
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["agency"] = self.request.agency_context.agency
        return context


def _item(request, pk) -> Evidence:
    evidence = _evidence_queryset(request).filter(pk=pk).first()
    if evidence is None:
        raise NotFound("No such evidence.")
    return evidence


class EvidenceVerifyView(APIView):
    """Re-hash the stored file now; the result is a ``verify`` custody entry either way."""

    @extend_schema(request=None, responses={200: VerifyResultSerializer})
    def post(self, request, pk):
        result = services.evidence_verify(ctx=request.agency_context, evidence=_item(request, pk))
        entry = result.evidence.custody.order_by("-seq").first()
        context = {"agency": request.agency_context.agency}
        return Response(
            {
                "ok": result.ok,
                "problems": result.problems,
                "entry": CustodyEntrySerializer(entry, context=context).data,
            }
        )


class EvidenceWithdrawView(APIView):
    """An approving official withdraws the item (``reason`` required; once only)."""

    @extend_schema(request=WithdrawSerializer, responses={200: EvidenceSerializer})
    def post(self, request, pk):
        item = _item(request, pk)  # an item the caller cannot see is 404 before the body
        body = WithdrawSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        evidence = services.evidence_withdraw(
            ctx=request.agency_context, evidence=item, reason=body.validated_data["reason"]
        )
        return Response(EvidenceSerializer(evidence).data)


def _transfers(request):
    return scope(
        CustodyTransfer.objects.select_related(
            "from_person", "to_person", "requested_by", "decided_by"
        ),
        request.agency_context,
    )


class EvidenceTransfersView(APIView):
    """GET: the item's transfer offers, oldest first. POST (``to_user``, ``note``): offer
    custody to another member of the agency (current custodian or agency administrator)."""

    @extend_schema(responses={200: TransferSerializer(many=True)})
    def get(self, request, pk):
        evidence = _item(request, pk)
        rows = _transfers(request).filter(evidence=evidence).order_by("requested_at", "pk")
        return Response(TransferSerializer(rows, many=True).data)

    @extend_schema(request=TransferOfferSerializer, responses={201: TransferSerializer})
    def post(self, request, pk):
        evidence = _item(request, pk)
        body = TransferOfferSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        receiver = (
            get_user_model()
            .objects.filter(
                username=body.validated_data["to_user"],
                memberships__agency=request.agency_context.agency,
            )
            .first()
        )
        offer = services.transfer_offer(
            ctx=request.agency_context,
            evidence=evidence,
            to_user=receiver,
            note=body.validated_data.get("note", ""),
        )
        return Response(TransferSerializer(offer).data, status=status.HTTP_201_CREATED)


class TransferDecisionView(APIView):
    """``accept``: the receiver acknowledges (a ``transfer`` custody entry from → to).
    ``decline``: the receiver declines, or the one who offered / an agency admin cancels."""

    decision = "accept"

    @extend_schema(request=NoteSerializer, responses={200: TransferSerializer})
    def post(self, request, pk):
        body = NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        offer = _transfers(request).filter(pk=pk).first()
        if offer is None:
            raise NotFound("No such transfer.")
        act = services.transfer_accept if self.decision == "accept" else services.transfer_decline
        act(ctx=request.agency_context, transfer=offer, note=body.validated_data.get("note", ""))
        return Response(TransferSerializer(_transfers(request).get(pk=pk)).data)


class CaptureCommandsView(APIView):
    """``POST /api/v1/evidence/{id}/extract-commands``: decode the executed commands of a scap
    item again (after installing or upgrading sysdig, say). Queued for the worker once the
    request commits; the outcome shows in the timeline's ``extractions``."""

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer("ExtractionQueued", {"queued": serializers.IntegerField()})
        },
    )
    def post(self, request, pk):
        ctx = request.agency_context
        evidence = scope(Evidence.objects.all(), ctx).filter(pk=pk).first()
        if evidence is None:
            raise NotFound("No such evidence.")
        capture_commands_request(ctx=ctx, evidence=evidence)
        return Response({"queued": evidence.pk}, status=202)
