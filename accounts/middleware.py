from urllib.parse import unquote

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils.functional import SimpleLazyObject
from django_otp import devices_for_user

from .context import AgencyContextError, get_context


class RefuseNulMiddleware:
    """A NUL character (``%00``) in the path or the query string is refused with 400 before
    any view runs. No Docket address, number, acronym or filter value holds one, and
    PostgreSQL cannot compare text with one: a NUL that reached a query was a 500 on every
    route that looks a URL value up (incident numbers, system acronyms, admin filters)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or "\x00" in request.path_info:
            where = "path"
        elif "\x00" in unquote(request.META.get("QUERY_STRING", ""), errors="replace"):
            where = "query string"
        else:
            return self.get_response(request)
        detail = f"The URL's {where} holds a NUL character (%00), which no Docket value contains."
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": detail}, status=400)
        return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")


class AgencyContextMiddleware:
    """Puts ``request.agency_context`` (lazy; ``None`` when no agency applies) on page requests.
    API views resolve the context themselves, after DRF has authenticated the caller."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        def _resolve():
            try:
                return get_context(request)
            except AgencyContextError:
                return None

        request.agency_context = SimpleLazyObject(_resolve)
        return self.get_response(request)


class RequireSecondFactorMiddleware:
    """With ``DOCKET_REQUIRE_MFA``, a signed-in user whose session was not verified with a
    second factor (django-otp) reaches only the enrolment and verification pages and sign-out.
    API calls with a token are not session sign-ins and pass (DRF authenticates them later)."""

    ALLOWED_NAMES = frozenset({"mfa-setup", "mfa-verify", "logout", "login"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            settings.DOCKET_REQUIRE_MFA
            and user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith("/" + settings.STATIC_URL.lstrip("/"))
        ):
            try:
                name = resolve(request.path_info).url_name
            except Resolver404:
                name = None
            if name not in self.ALLOWED_NAMES:
                has_device = any(True for _ in devices_for_user(user, confirmed=True))
                return redirect("mfa-verify" if has_device else "mfa-setup")
        return self.get_response(request)
