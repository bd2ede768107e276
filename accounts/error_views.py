"""The error answers (``handler400`` … ``handler500`` in config/urls.py): under ``/api/`` a
JSON ``{"detail": …}`` as DRF gives for the errors it handles itself, so that API clients and
webhook senders (falcosidekick counts an HTML answer as a drop) can read every answer; pages
keep Django's own error pages.

Django calls these for whatever no view answered: an unknown URL, an exception that escaped a
view (DRF re-raises those it does not handle) or a middleware. It logs the exception with its
traceback (``django.request``) before calling ``server_error``."""

from django.http import JsonResponse
from django.views import defaults


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if _is_api(request):
        return JsonResponse(
            {"detail": "You do not have permission to perform this action."}, status=403
        )
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse(
            {
                "detail": "Internal server error: the request could not be completed. The "
                "error was logged; tell the administrator the time of the request if it "
                "persists."
            },
            status=500,
        )
    return defaults.server_error(request)
