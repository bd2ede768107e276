from django.utils.functional import SimpleLazyObject

from .context import AgencyContextError, get_context


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
