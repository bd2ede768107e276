from rest_framework.routers import SimpleRouter

from .views import ObligationViewSet, RuleSetViewSet, SubmissionViewSet

router = SimpleRouter()
router.register("obligations", ObligationViewSet, basename="api-obligation")
router.register("submissions", SubmissionViewSet, basename="api-submission")
router.register("rulesets", RuleSetViewSet, basename="api-ruleset")

urlpatterns = router.urls
