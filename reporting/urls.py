from django.urls import path

from . import views

urlpatterns = [
    path("deadlines/", views.board, name="board"),
    path("calendar/", views.calendar_settings, name="calendar-settings"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar-feed"),
    path("obligations/<int:pk>/submit/", views.obligation_submit, name="obligation-submit"),
    path("obligations/<int:pk>/waive/", views.obligation_waive, name="obligation-waive"),
]
