from django.urls import path

from . import views

urlpatterns = [
    path(
        "incidents/<str:number>/evidence/",
        views.incident_evidence,
        name="incident-evidence-list",
    ),
    path("evidence/<int:pk>/", views.evidence_item, name="evidence-item"),
    path(
        "evidence/<int:pk>/download/", views.evidence_item_download, name="evidence-item-download"
    ),
    path("evidence/<int:pk>/verify/", views.evidence_item_verify, name="evidence-item-verify"),
    path(
        "evidence/<int:pk>/withdraw/", views.evidence_item_withdraw, name="evidence-item-withdraw"
    ),
    path(
        "evidence/<int:pk>/transfer/", views.evidence_item_transfer, name="evidence-item-transfer"
    ),
    path(
        "evidence/transfers/<int:pk>/",
        views.evidence_transfer_decide,
        name="evidence-transfer-decide",
    ),
]
