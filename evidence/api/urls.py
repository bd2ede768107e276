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
    path("evidence/<int:pk>/verify", views.EvidenceVerifyView.as_view(), name="evidence-verify"),
    path(
        "evidence/<int:pk>/extract-commands",
        views.CaptureCommandsView.as_view(),
        name="api-evidence-extract-commands",
    ),
    path(
        "evidence/<int:pk>/withdraw", views.EvidenceWithdrawView.as_view(), name="evidence-withdraw"
    ),
    path(
        "evidence/<int:pk>/transfers",
        views.EvidenceTransfersView.as_view(),
        name="evidence-transfers",
    ),
    path(
        "evidence/transfers/<int:pk>/accept",
        views.TransferDecisionView.as_view(decision="accept"),
        name="evidence-transfer-accept",
    ),
    path(
        "evidence/transfers/<int:pk>/decline",
        views.TransferDecisionView.as_view(decision="decline"),
        name="evidence-transfer-decline",
    ),
]
