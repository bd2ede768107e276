"""API plumbing shared by every app: the exception handler, the scoped view base, and how
the API takes input (unknown fields refused, times only with their zone)."""

import re
from datetime import datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.http import Http404
from django.utils import timezone
from django_filters.fields import IsoDateTimeField
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils import humanize_datetime
from rest_framework.views import exception_handler as drf_exception_handler

from audit.trail import refuse_out_of_scope
from core.errors import DocketError
from core.time import format_local, parse_instant

from .scoping import scope


def _out_of_scope(exc, context) -> None:
    """A detail endpoint's 404 for an object that exists outside the caller's scope is a
    refused act (``audit.trail.refuse_out_of_scope``): the one place for every API view."""
    view = context.get("view")
    request = context.get("request")
    ctx = getattr(request, "agency_context", None)
    lookup_field = getattr(view, "lookup_field", None)
    value = getattr(view, "kwargs", {}).get(getattr(view, "lookup_url_kwarg", None) or "")
    if value is None and lookup_field:
        value = view.kwargs.get(lookup_field)
    if ctx is None or value is None or not hasattr(view, "get_queryset"):
        return
    try:
        model = view.get_queryset().model
    except Exception:  # a view whose queryset needs what the failed request lacked
        return
    try:
        refuse_out_of_scope(
            ctx, model, what=f"{model._meta.verbose_name} {value}", **{lookup_field: value}
        )
    except (ValueError, DjangoValidationError):  # a value no such record could have
        return


def exception_handler(exc, context):
    """Service errors become answers naming the problem: 400, 403, 404 or 409."""
    if isinstance(exc, Http404):
        _out_of_scope(exc, context)
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


NAIVE_TIME = (
    "Needs a time zone: send an offset (2026-06-01T08:00:00-04:00, 2026-06-01T12:00:00Z) or "
    "a zone name after the time (2026-06-01 08:00 America/New_York). A time without either "
    "is ambiguous, and Docket does not guess one."
)
# An unencoded "+01:00" arrives as " 01:00" in a query string: take it as meant.
_UNENCODED_PLUS = re.compile(r"(\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d:?\d\d)$")


def read_instant(text: str) -> datetime:
    """An instant the API was sent, read by ``core.time.parse_instant`` (an offset, or a zone
    name whose skipped or repeated wall times are refused). ``ValueError`` says what is
    wrong: an impossible date, a DST gap or overlap, or no zone at all (``NAIVE_TIME``)."""
    instant = parse_instant(text)
    if instant is None:
        raise ValueError(NAIVE_TIME)
    return instant


class AwareDateTimeField(serializers.DateTimeField):
    """An instant that must carry its zone: a time without one is refused with a message
    saying what to send, never read as UTC, and a zone-named wall time that a DST night
    skips or repeats is refused (``read_instant``). Every time the API takes is one:
    ``StrictFieldsMixin`` maps model fields to it and serializers declare it."""

    default_error_messages = {"naive": NAIVE_TIME}

    def to_internal_value(self, value):
        if isinstance(value, datetime):
            if timezone.is_naive(value):
                self.fail("naive")
            return super().to_internal_value(value)
        if not isinstance(value, str):
            return super().to_internal_value(value)  # DRF's "wrong format" answer
        try:
            instant = read_instant(value)
        except ValueError as exc:
            if _NOT_A_TIME in str(exc):  # DRF's own answer, which lists the formats
                formats = getattr(self, "input_formats", api_settings.DATETIME_INPUT_FORMATS)
                self.fail("invalid", format=humanize_datetime.datetime_formats(formats))
            raise serializers.ValidationError(_sentence(exc), code="invalid") from None
        return self.enforce_timezone(instant)


# What parse_instant says of text that is no date and time at all.
_NOT_A_TIME = "is not a date and time"


def _sentence(exc: ValueError) -> str:
    text = str(exc)
    return text if text.endswith(".") else f"{text}."


class AwareIsoDateTimeFormField(IsoDateTimeField):
    """django-filter's date-time field, read as ``AwareDateTimeField`` reads (query
    parameters)."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            try:
                return read_instant(_UNENCODED_PLUS.sub(r"\1+\2", value.strip()))
            except ValueError as exc:
                raise forms.ValidationError(_sentence(exc), code="invalid") from None
        return super().to_python(value)


class AwareIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """A filter on an instant given with its zone (``?identified_after=…``)."""

    field_class = AwareIsoDateTimeFormField


class StrictFieldsMixin:
    """How the API takes a body: unknown fields are an error naming them, not silently
    dropped, and a model's date-time fields are ``AwareDateTimeField`` (no time without
    its zone)."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: AwareDateTimeField,
    }

    def to_internal_value(self, data):
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
