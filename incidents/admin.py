"""Incident data in the admin: read-only. Incidents change through ``incidents.services`` (which
checks the actor's role and appends an ``IncidentEvent``), never through a model form; the
only write here is granting auditors access to incidents (and revoking it), which is logged
on the incident."""

from django import forms
from django.contrib import admin
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.utils import timezone
from django.utils.text import Truncator

from accounts.admin import AgencyScopedAdmin, AgencyScopedInline, agency_members
from accounts.context import get_context
from accounts.models import Membership, Role
from core.errors import InvalidInput

from . import services
from .models import (
    AdditionalInformation,
    AuditorGrant,
    Detection,
    Determination,
    Incident,
    IncidentCandidate,
    IncidentEvent,
    Indicator,
)


def _short(text, length=80):
    return Truncator(text).chars(length)


class IndicatorInline(AgencyScopedInline):
    model = Indicator
    fields = ("type", "value", "note", "created_at")
    readonly_fields = fields


class IncidentEventInline(AgencyScopedInline):
    model = IncidentEvent
    fields = ("at", "kind", "actor", "from_state", "to_state", "note")
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Incident)
class IncidentAdmin(AgencyScopedAdmin):
    """View-only: the lifecycle and every field change go through the services."""

    list_display = ("number", "title", "state", "identified_at", "nciss_level", "created_by")
    list_filter = (
        "state",
        "nciss_level",
        "functional_impact",
        ("systems", RelatedOnlyFieldListFilter),
    )
    search_fields = ("number", "title", "cisa_tracking_number")
    list_select_related = ("created_by",)
    fieldsets = (
        (None, {"fields": ("number", "agency", "state", "title", "summary", "dismissed_reason")}),
        (
            "CISA notification",
            {
                "fields": (
                    "functional_impact",
                    "information_impact",
                    "recoverability",
                    "location",
                    "attack_vectors",
                    "systems_affected_count",
                    "records_affected_count",
                    "users_affected_count",
                    "nciss_level",
                    "cisa_tracking_number",
                )
            },
        ),
        ("Point of contact", {"fields": ("poc_name", "poc_email", "poc_phone")}),
        ("Times", {"fields": ("identified_at", "first_detected_at", "occurred_at")}),
        ("Links", {"fields": ("systems", "related", "ruleset")}),
        ("Record", {"fields": ("year", "sequence", "created_by", "created_at", "updated_at")}),
    )
    readonly_fields = tuple(f for _, opts in fieldsets for f in opts["fields"])
    inlines = (IndicatorInline, IncidentEventInline)


@admin.register(IncidentEvent)
class IncidentEventAdmin(AgencyScopedAdmin):
    """The append-only history: never added, changed or deleted here, by anyone."""

    list_display = ("at", "incident", "kind", "actor", "from_state", "to_state", "short_note")
    list_filter = ("kind",)
    search_fields = ("incident__number", "note")
    list_select_related = ("incident", "actor")
    fields = ("incident", "kind", "actor", "at", "from_state", "to_state", "note", "data")
    readonly_fields = fields
    ordering = ("-at", "-pk")
    actions = None

    @admin.display(description="Note")
    def short_note(self, obj):
        return _short(obj.note)


@admin.register(Determination)
class DeterminationAdmin(AgencyScopedAdmin):
    list_display = (
        "incident",
        "decision",
        "recommendation",
        "basis_at",
        "decided_by",
        "recorded_at",
        "current",
    )
    list_filter = ("decision", "recommendation", "breach")
    search_fields = ("incident__number", "rationale")
    list_select_related = ("incident", "decided_by", "superseded_by")
    fields = (
        "incident",
        "ruleset",
        "decision",
        "recommendation",
        "criteria_fired",
        "rationale",
        "basis_at",
        "harms",
        "nciss_level",
        "pii_individuals",
        "pii_acts",
        "breach",
        "breach_discovered_at",
        "decided_by",
        "recorded_at",
        "supersedes",
    )
    readonly_fields = fields

    @admin.display(description="Current", boolean=True)
    def current(self, obj):
        return obj.is_current


@admin.register(AdditionalInformation)
class AdditionalInformationAdmin(AgencyScopedAdmin):
    list_display = ("incident", "recorded_at", "recorded_by", "short_summary")
    search_fields = ("incident__number", "summary")
    list_select_related = ("incident", "recorded_by")
    fields = ("incident", "summary", "recorded_at", "recorded_by")
    readonly_fields = fields

    @admin.display(description="Summary")
    def short_summary(self, obj):
        return _short(obj.summary)


@admin.register(Indicator)
class IndicatorAdmin(AgencyScopedAdmin):
    list_display = ("incident", "type", "value", "created_at")
    list_filter = ("type",)
    search_fields = ("value", "incident__number")
    list_select_related = ("incident",)
    fields = ("incident", "type", "value", "note", "created_at")
    readonly_fields = fields


class AuditorGrantForm(forms.ModelForm):
    """The grant's window, checked as the service checks it (times in the agency's zone: the
    admin's views run in it)."""

    class Meta:
        model = AuditorGrant
        fields = ("incident", "user", "valid_from", "valid_until")

    def clean(self):
        data = super().clean()
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end:
            try:
                services.grant_window(
                    now=timezone.now(),
                    valid_from=start,
                    valid_until=end,
                    tz=timezone.get_current_timezone(),
                )
            except InvalidInput as exc:
                field = exc.extra.get("field")
                self.add_error(field if field in self.fields else None, exc.message)
        return data


@admin.register(AuditorGrant)
class AuditorGrantAdmin(AgencyScopedAdmin):
    """Which auditor may read which incident. Granted and revoked here (each logged on the
    incident); never edited."""

    form = AuditorGrantForm
    allow_add = True
    allow_delete = True
    list_display = ("incident", "user", "valid_from", "valid_until", "in_force", "granted_by")
    list_filter = (("user", RelatedOnlyFieldListFilter),)
    search_fields = ("incident__number", "user__username")
    list_select_related = ("incident", "user", "granted_by")
    fields = ("incident", "user", "valid_from", "valid_until", "granted_by", "granted_at")
    readonly_fields = ("granted_by", "granted_at")

    @admin.display(description="In force", boolean=True)
    def in_force(self, obj):
        return obj.is_valid_at(timezone.now())

    def choices_for(self, request, db_field, ctx):
        if db_field.name == "user" and ctx is not None:
            auditors = Membership.objects.filter(agency=ctx.agency, role=Role.AUDITOR)
            return agency_members(ctx.agency).filter(pk__in=auditors.values("user_id"))
        return super().choices_for(request, db_field, ctx)

    def save_model(self, request, obj, form, change):
        # Through the service: role check, row lock and the GRANT event in one place.
        grant = services.auditor_grant(
            ctx=get_context(request),
            incident=obj.incident,
            user=obj.user,
            valid_from=obj.valid_from,
            valid_until=obj.valid_until,
        )
        obj.pk, obj.granted_by, obj.granted_at = grant.pk, grant.granted_by, grant.granted_at

    def delete_model(self, request, obj):
        services.auditor_revoke(ctx=get_context(request), incident=obj.incident, user=obj.user)

    def delete_queryset(self, request, queryset):
        for grant in queryset.select_related("incident", "user"):
            self.delete_model(request, grant)


# --- detections in -------------------------------------------------------------------------


@admin.register(IncidentCandidate)
class IncidentCandidateAdmin(AgencyScopedAdmin):
    """Read-only: candidates are formed by grouping (``incidents.ingest.detections_group``) and
    promoted, attached or dismissed by an ISSO through ``incidents.ingest``, never here."""

    list_display = (
        "last_seen",
        "system",
        "group_key",
        "count",
        "status",
        "incident",
        "first_seen",
    )
    list_filter = ("status", ("system", RelatedOnlyFieldListFilter))
    search_fields = ("group_key", "incident__number")
    list_select_related = ("system", "incident")
    fields = (
        "agency",
        "system",
        "group_key",
        "status",
        "first_seen",
        "last_seen",
        "count",
        "incident",
        "dismissed_reason",
        "resolved_by",
        "resolved_at",
        "created_at",
    )
    readonly_fields = fields
    actions = None


@admin.register(Detection)
class DetectionAdmin(AgencyScopedAdmin):
    """Read-only: detections are stored as received (``POST /api/v1/ingest/falco``,
    ``manage.py ingest_falco``) and never changed."""

    list_display = (
        "time",
        "priority",
        "rule",
        "hostname",
        "k8s_namespace",
        "k8s_pod",
        "system",
        "kind",
        "candidate",
    )
    list_filter = ("priority", "kind", ("system", RelatedOnlyFieldListFilter))
    search_fields = ("rule", "hostname", "k8s_pod", "container_id", "container_image", "output")
    list_select_related = ("system", "candidate__system")
    fields = (
        "agency",
        "kind",
        "time",
        "time_ns",
        "priority",
        "rule",
        "source",
        "hostname",
        "output",
        "system",
        "candidate",
        "container_id",
        "container_image",
        "k8s_cluster",
        "k8s_namespace",
        "k8s_pod",
        "process_name",
        "process_cmdline",
        "process_pid",
        "user_name",
        "file_path",
        "tags",
        "mitre_tactics",
        "mitre_techniques",
        "control_refs",
        "output_fields",
        "raw",
        "token",
        "received_at",
        "grouped_at",
        "content_hash",
    )
    readonly_fields = fields
    actions = None
