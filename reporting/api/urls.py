from rest_framework.routers import SimpleRouter

from .views import ObligationViewSet, RuleSetViewSet, SubmissionViewSet

router = SimpleRouter()
router.register("obligations", ObligationViewSet, basename="obligation")
router.register("submissions", SubmissionViewSet, basename="submission")
router.register("rulesets", RuleSetViewSet, basename="ruleset")

urlpatterns = router.urls
