from django.urls import path

from . import views

NUMBER = "<str:number>"

urlpatterns = [
    path("audit/", views.audit_list, name="audit-list"),
    path("audit/export.csv", views.audit_export, {"fmt": "csv"}, name="audit-export-csv"),
    path("audit/export.jsonl", views.audit_export, {"fmt": "jsonl"}, name="audit-export-jsonl"),
    path(f"incidents/{NUMBER}/audit/", views.incident_audit, name="incident-audit"),
    path(
        f"incidents/{NUMBER}/audit/export.csv",
        views.incident_audit_export,
        {"fmt": "csv"},
        name="incident-audit-export-csv",
    ),
    path(
        f"incidents/{NUMBER}/audit/export.jsonl",
        views.incident_audit_export,
        {"fmt": "jsonl"},
        name="incident-audit-export-jsonl",
    ),
]
