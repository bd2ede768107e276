from rest_framework.routers import SimpleRouter

from .views import InformationSystemViewSet

router = SimpleRouter()
router.register("systems", InformationSystemViewSet, basename="api-system")

urlpatterns = router.urls
