from django.urls import path

from . import views

ACRONYM = "<str:acronym>"

urlpatterns = [
    path("systems/", views.system_list, name="system-list"),
    path("compliance/import/", views.compliance_import, name="compliance-import"),
    path(f"systems/{ACRONYM}/", views.system_detail, name="system-detail"),
    path(f"systems/{ACRONYM}/assessments/", views.system_assess, name="system-assess"),
    path(
        f"systems/{ACRONYM}/controls/<int:control_pk>/",
        views.control_history,
        name="system-control-history",
    ),
]
