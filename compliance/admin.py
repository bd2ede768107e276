"""The agency's systems, control assessments, licensed frameworks and crosswalk rows.

Frameworks and crosswalk rows are shown read-only: the reference ones (no agency: NIST from
OSCAL, Docket's skeletons) and the agency's own licensed imports, never another agency's.
They are changed only by their imports (``import_catalog``, ``import_framework``,
``import_crosswalk`` and the API), which validate whole files.
"""

from django.contrib import admin
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.db.models.functions import Greatest

from accounts.admin import AgencyScopedAdmin

from .models import ControlAssessment, ControlMapping, Framework, ImpactLevel, InformationSystem


@admin.register(InformationSystem)
class InformationSystemAdmin(AgencyScopedAdmin):
    """The agency's FISMA inventory. A system some incident names cannot be deleted: that
    would silently rewrite the incident's record."""

    allow_add = True
    allow_change = True
    allow_delete = True
    list_display = (
        "acronym",
        "name",
        "confidentiality",
        "integrity",
        "availability",
        "high_water_mark_display",
    )
    list_filter = ("confidentiality", "integrity", "availability")
    search_fields = ("acronym", "name")
    fields = ("agency", "acronym", "name", "confidentiality", "integrity", "availability")
    ordering = ("acronym",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_high_water_mark=Greatest("confidentiality", "integrity", "availability"))
        )

    @admin.display(description="High-water mark", ordering="_high_water_mark")
    def high_water_mark_display(self, obj):
        return ImpactLevel(obj.high_water_mark).label

    def can_delete_object(self, request, obj, ctx):
        return not obj.incidents.exists()


@admin.register(ControlAssessment)
class ControlAssessmentAdmin(AgencyScopedAdmin):
    """Read-only: assessments are append-only history, recorded through
    ``compliance.services.assessment_record`` (which checks the recorder's role)."""

    list_display = (
        "system",
        "control",
        "status",
        "implementation_status",
        "method",
        "assessed_at",
        "assessor",
        "recorded_at",
    )
    list_filter = (
        "status",
        "implementation_status",
        "method",
        ("system", RelatedOnlyFieldListFilter),
    )
    search_fields = ("control__label", "control__identifier", "system__acronym", "finding")
    list_select_related = ("system", "control", "assessor")
    fields = (
        "system",
        "control",
        "status",
        "implementation_status",
        "method",
        "finding",
        "assessed_at",
        "assessor",
        "recorded_at",
        "recorded_by",
    )
    readonly_fields = fields
    ordering = ("-assessed_at", "-pk")
    actions = None


@admin.register(Framework)
class FrameworkAdmin(AgencyScopedAdmin):
    """Reference frameworks and the agency's licensed ones; read-only (see the module). The
    agency may delete one of its own (a licence ended) while no assessment names its controls;
    its controls and crosswalk rows go with it. Reference frameworks are never deleted here."""

    allow_delete = True

    list_display = ("name", "version", "agency", "source", "updated_at")
    list_select_related = ("agency",)
    list_filter = (("agency", RelatedOnlyFieldListFilter),)
    search_fields = ("name", "version")
    fields = ("name", "version", "agency", "source", "licence_note", "created_at", "updated_at")
    readonly_fields = fields
    ordering = ("name", "version")
    actions = None

    def can_delete_object(self, request, obj, ctx):
        return (
            obj.agency_id == ctx.agency.pk
            and not ControlAssessment.objects.filter(control__framework=obj).exists()
        )


@admin.register(ControlMapping)
class ControlMappingAdmin(AgencyScopedAdmin):
    """Crosswalk rows: the reference ones and the agency's own; read-only (see the module)."""

    list_display = ("source_control", "relationship", "target_control", "agency", "source")
    list_filter = ("relationship",)
    search_fields = ("source_control__identifier", "target_control__identifier", "note")
    list_select_related = ("source_control", "target_control", "agency")
    fields = ("source_control", "relationship", "target_control", "agency", "source", "note")
    readonly_fields = fields
    ordering = ("source_control", "target_control")
    actions = None
