"""The agency's systems and their control assessments in the admin.

``Framework``, ``Control`` and ``Baseline`` are deliberately NOT registered: they are global
reference data shared by every agency (no ``agency_path``), so no agency administrator may
change them. Operators load and update them with ``manage.py import_catalog``.
"""

from django.contrib import admin
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.db.models.functions import Greatest

from accounts.admin import AgencyScopedAdmin

from .models import ControlAssessment, ImpactLevel, InformationSystem


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
