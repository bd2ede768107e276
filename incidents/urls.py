from django.urls import path

from . import views
from .timeline_views import incident_timeline_page
from .triage_views import candidate_detail, triage_queue

NUMBER = "<str:number>"

urlpatterns = [
    path("incidents/", views.incident_list, name="incident-list"),
    path("incidents/new/", views.incident_create, name="incident-create"),
    path(f"incidents/{NUMBER}/", views.incident_detail, name="incident-detail"),
    path(f"incidents/{NUMBER}/edit/", views.incident_edit, name="incident-edit"),
    path(f"incidents/{NUMBER}/transition/", views.incident_transition, name="incident-transition"),
    path(f"incidents/{NUMBER}/determination/", views.incident_determine, name="incident-determine"),
    path(
        f"incidents/{NUMBER}/additional-information/",
        views.incident_additional_information,
        name="incident-additional-information",
    ),
    path(f"incidents/{NUMBER}/timeline/", incident_timeline_page, name="incident-timeline"),
    path("triage/", triage_queue, name="triage-queue"),
    path("triage/<int:pk>/", candidate_detail, name="candidate-detail"),
]
