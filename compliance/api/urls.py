from rest_framework.routers import SimpleRouter

from . import imports
from .views import AssessmentViewSet, FrameworkViewSet, InformationSystemViewSet

router = SimpleRouter()
router.register("systems", InformationSystemViewSet, basename="api-system")
router.register("assessments", AssessmentViewSet, basename="api-assessment")
router.register("frameworks", FrameworkViewSet, basename="api-framework")

# The import and export paths first: "systems/import" must not be read as a system's id.
urlpatterns = imports.urlpatterns + router.urls
