from rest_framework.routers import SimpleRouter

from .views import InformationSystemViewSet

router = SimpleRouter()
router.register("systems", InformationSystemViewSet, basename="system")

urlpatterns = router.urls
