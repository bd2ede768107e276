from django.contrib import admin
from django.db.models.functions import Greatest

from accounts.admin import AgencyScopedAdmin

from .models import ImpactLevel, InformationSystem


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
