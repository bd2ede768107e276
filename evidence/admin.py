"""Evidence in the admin: read-only. Uploads, downloads and custody entries go through
``evidence.services`` (streamed, hashed, logged), never through a model form."""

from django.contrib import admin

from accounts.admin import AgencyScopedAdmin, AgencyScopedInline

from .models import CustodyEntry, Evidence


class CustodyEntryInline(AgencyScopedInline):
    model = CustodyEntry
    fields = ("seq", "action", "actor_name", "at", "note", "location", "entry_hash")
    readonly_fields = fields
    show_change_link = False


@admin.register(Evidence)
class EvidenceAdmin(AgencyScopedAdmin):
    list_display = (
        "original_filename",
        "incident",
        "kind",
        "detected_format",
        "size",
        "uploaded_at",
        "uploaded_by",
    )
    list_filter = ("kind", "detected_format")
    search_fields = ("original_filename", "sha256", "md5", "incident__number", "source_host")
    list_select_related = ("incident", "uploaded_by")
    fields = (
        "incident",
        "kind",
        "original_filename",
        "size",
        "sha256",
        "md5",
        "detected_format",
        "compression",
        "format_details",
        "storage_backend",
        "storage_name",
        "collected_at",
        "collected_by",
        "collecting_tool",
        "source_host",
        "source_ip",
        "source_container",
        "source_pod",
        "source_namespace",
        "source_image",
        "source_description",
        "description",
        "uploaded_at",
        "uploaded_by",
        "withdrawn_at",
        "withdrawn_by",
        "withdrawn_reason",
    )
    readonly_fields = fields
    inlines = (CustodyEntryInline,)


@admin.register(CustodyEntry)
class CustodyEntryAdmin(AgencyScopedAdmin):
    """The append-only ledger: never added, changed or deleted here, by anyone."""

    list_display = ("evidence", "seq", "action", "actor_name", "at")
    list_filter = ("action",)
    search_fields = ("evidence__original_filename", "evidence__incident__number", "actor_name")
    list_select_related = ("evidence",)
    fields = (
        "evidence",
        "seq",
        "action",
        "actor",
        "actor_name",
        "actor_roles",
        "at",
        "note",
        "from_person",
        "to_person",
        "location",
        "data",
        "prev_hash",
        "entry_hash",
    )
    readonly_fields = fields
    ordering = ("-at", "-pk")
    actions = None
