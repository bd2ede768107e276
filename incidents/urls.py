from django.urls import path

from . import views

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
]
