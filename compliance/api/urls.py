from rest_framework.routers import SimpleRouter

from . import imports
from .views import InformationSystemViewSet

router = SimpleRouter()
router.register("systems", InformationSystemViewSet, basename="api-system")

# The import and export paths first: "systems/import" must not be read as a system's id.
urlpatterns = imports.urlpatterns + router.urls
