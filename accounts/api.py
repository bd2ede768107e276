"""API plumbing shared by every app: the exception handler and the scoped view base."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DocketError
from core.time import format_local

from .scoping import scope


def exception_handler(exc, context):
    """Service errors become answers naming the problem: 400, 403, 404 or 409."""
    if isinstance(exc, DocketError):
        body = {"detail": exc.message, **exc.extra}
        return Response(body, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


class ScopedQuerysetMixin:
    """Every API view's queryset goes through ``accounts.scoping.scope``."""

    def get_queryset(self):
        return scope(super().get_queryset(), self.request.agency_context)


class StrictFieldsMixin:
    """Unknown fields in a request body are an error naming them, not silently dropped."""

    def to_internal_value(self, data):
        from rest_framework import serializers

        if hasattr(data, "keys"):
            writable = {name for name, f in self.fields.items() if not f.read_only}
            unknown = sorted(set(data.keys()) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [f"Unknown field; allowed: {', '.join(sorted(writable))}."]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


class LocalTimeField:
    """Helper for serializers: an instant as the agency's wall-clock text, zone printed."""

    @staticmethod
    def render(instant, agency) -> str | None:
        return format_local(instant, agency.tz) if instant else None
