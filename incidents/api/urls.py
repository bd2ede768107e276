from rest_framework.routers import SimpleRouter

from .views import DeterminationViewSet, IncidentViewSet

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("determinations", DeterminationViewSet, basename="determination")

urlpatterns = router.urls
