from django.urls import path

from . import views

urlpatterns = [
    path("auditor/", views.auditor_home, name="auditor-home"),
    path("incidents/<str:number>/packages/", views.incident_packages, name="incident-packages"),
    path("packages/<int:pk>/download/", views.package_download, name="package-download"),
]
