from django.urls import path
from rest_framework.routers import SimpleRouter

from .ingest import falco_ingest
from .views import DeterminationViewSet, IncidentViewSet

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="api-incident")
router.register("determinations", DeterminationViewSet, basename="api-determination")

urlpatterns = [path("ingest/falco", falco_ingest, name="ingest-falco"), *router.urls]
