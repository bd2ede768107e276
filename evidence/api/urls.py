from django.urls import path

from . import views

urlpatterns = [
    path(
        "incidents/<str:number>/evidence/",
        views.IncidentEvidenceView.as_view(),
        name="incident-evidence",
    ),
    path(
        "incidents/<str:number>/evidence/raw",
        views.RawUploadView.as_view(),
        name="incident-evidence-raw",
    ),
    path("evidence/", views.EvidenceListView.as_view(), name="evidence-list"),
    path("evidence/<int:pk>/", views.EvidenceDetailView.as_view(), name="evidence-detail"),
    path(
        "evidence/<int:pk>/download",
        views.EvidenceDownloadView.as_view(),
        name="evidence-download",
    ),
    path("evidence/<int:pk>/custody", views.EvidenceCustodyView.as_view(), name="evidence-custody"),
]
