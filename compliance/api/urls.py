from rest_framework.routers import SimpleRouter

from .views import AssessmentViewSet, FrameworkViewSet, InformationSystemViewSet

router = SimpleRouter()
router.register("systems", InformationSystemViewSet, basename="api-system")
router.register("assessments", AssessmentViewSet, basename="api-assessment")
router.register("frameworks", FrameworkViewSet, basename="api-framework")

urlpatterns = router.urls
