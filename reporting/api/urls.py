from rest_framework.routers import SimpleRouter

from .reports import AnnualSummaryViewSet, RenderJobViewSet, ReportVersionViewSet, ReportViewSet
from .views import ObligationViewSet, RuleSetViewSet, SubmissionViewSet

router = SimpleRouter()
router.register("obligations", ObligationViewSet, basename="api-obligation")
router.register("submissions", SubmissionViewSet, basename="api-submission")
router.register("rulesets", RuleSetViewSet, basename="api-ruleset")
router.register("reports", ReportViewSet, basename="api-report")
router.register("report-versions", ReportVersionViewSet, basename="api-report-version")
router.register("render-jobs", RenderJobViewSet, basename="api-render-job")
router.register("annual-summaries", AnnualSummaryViewSet, basename="api-annual-summary")

urlpatterns = router.urls
