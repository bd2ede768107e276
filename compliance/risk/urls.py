"""Pages of risk assessments, POA&M items and incidents' compliance snapshots."""

from django.urls import path

from compliance.risk import views

SYSTEM = "systems/<str:acronym>"
NUMBER = "<str:number>"

urlpatterns = [
    path(f"{SYSTEM}/risk-assessments/", views.risk_assessment_list, name="risk-assessment-list"),
    path(
        f"{SYSTEM}/risk-assessments/new/",
        views.risk_assessment_create,
        name="risk-assessment-create",
    ),
    path(f"{SYSTEM}/poam/", views.poam_list, name="poam-list"),
    path(f"{SYSTEM}/poam/new/", views.poam_create, name="poam-create"),
    path("poam/<int:pk>/", views.poam_detail, name="poam-detail"),
    path("poam/<int:pk>/milestones/", views.poam_milestone_add, name="poam-milestone-add"),
    path(
        "poam/<int:pk>/milestones/<int:milestone_pk>/done/",
        views.poam_milestone_complete,
        name="poam-milestone-complete",
    ),
    path("poam/<int:pk>/close/", views.poam_close, name="poam-close"),
    path(f"incidents/{NUMBER}/compliance/", views.incident_compliance, name="incident-compliance"),
    path(
        f"incidents/{NUMBER}/compliance/snapshot/",
        views.incident_snapshot_take,
        name="incident-snapshot-take",
    ),
    path(
        f"incidents/{NUMBER}/compliance/poam/",
        views.incident_poam_create,
        name="incident-poam-create",
    ),
]
