from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from .ingest import falco_ingest, sysdig_ingest
from .timeline import IncidentTimelineView
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
    *router.urls,
]
