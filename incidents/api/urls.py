from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from .ingest import falco_ingest, sysdig_ingest
from .timeline import CaptureCommandsView, IncidentTimelineView
from .views import DeterminationViewSet, IncidentViewSet

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="api-incident")
router.register("determinations", DeterminationViewSet, basename="api-determination")

urlpatterns = [
    path("ingest/falco", falco_ingest, name="ingest-falco"),
    path("ingest/sysdig", sysdig_ingest, name="ingest-sysdig"),
    re_path(
        r"^incidents/(?P<number>[^/]+)/timeline/?$",
        IncidentTimelineView.as_view(),
        name="api-incident-timeline",
    ),
    path(
        "evidence/<int:pk>/extract-commands",
        CaptureCommandsView.as_view(),
        name="api-evidence-extract-commands",
    ),
    *router.urls,
]
