from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as account_views

api_v1 = [
    path("", include("incidents.api.urls")),
    path("", include("reporting.api.urls")),
    path("", include("compliance.api.urls")),
    path("", include("compliance.risk.api.urls")),
    path("", include("evidence.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]

urlpatterns = [
    path("", account_views.home, name="home"),
    # Browsers ask for /favicon.ico wherever a page names no icon (the API's JSON, downloads).
    path("favicon.ico", account_views.favicon, name="favicon"),
    path("agency/", account_views.switch_agency, name="switch-agency"),
    path("accounts/login/", account_views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/mfa/setup/", account_views.mfa_setup, name="mfa-setup"),
    path("accounts/mfa/verify/", account_views.mfa_verify, name="mfa-verify"),
    path("", include("evidence.urls")),
    path("", include("reporting.urls")),
    path("", include("incidents.urls")),
    path("", include("compliance.urls")),
    path("", include("compliance.risk.urls")),
    path("", include("audit.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
]

handler400 = "accounts.error_views.bad_request"
handler403 = "accounts.error_views.permission_denied"
handler404 = "accounts.error_views.page_not_found"
handler500 = "accounts.error_views.server_error"
