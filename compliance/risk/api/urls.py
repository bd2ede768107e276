from django.urls import path
from rest_framework.routers import SimpleRouter

from compliance.risk.api.views import (
    ComplianceSnapshotViewSet,
    IncidentSnapshotViewSet,
    PoamItemViewSet,
    RiskAssessmentViewSet,
    poam_oscal,
)

router = SimpleRouter()
router.register("risk-assessments", RiskAssessmentViewSet, basename="api-risk-assessment")
router.register("poam-items", PoamItemViewSet, basename="api-poam-item")
router.register("compliance-snapshots", ComplianceSnapshotViewSet, basename="api-snapshot")

NUMBER = r"<str:number>"
incident_snapshots = IncidentSnapshotViewSet.as_view({"get": "list", "post": "create"})
incident_latest = IncidentSnapshotViewSet.as_view({"get": "latest"})

urlpatterns = [
    path("systems/<int:pk>/poam/oscal", poam_oscal, name="api-system-poam-oscal"),
    path(
        f"incidents/{NUMBER}/compliance-snapshots/",
        incident_snapshots,
        name="api-incident-snapshots",
    ),
    path(
        f"incidents/{NUMBER}/compliance-snapshots/latest/",
        incident_latest,
        name="api-incident-snapshot-latest",
    ),
    *router.urls,
]
