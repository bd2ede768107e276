"""Page plumbing that needs no app: a service's refusal shown on its form; the address a
request came from."""

from __future__ import annotations

import ipaddress

from django.conf import settings

from .errors import InvalidInput


def apply_service_error(form, exc: InvalidInput) -> None:
    """Show a service's ``InvalidInput`` on ``form``: on the field it names when the form has
    that field, else above the form."""
    field = exc.extra.get("field")
    form.add_error(field if field in form.fields else None, exc.message)


def client_address(request) -> str:
    """The address a request came from: ``REMOTE_ADDR``, or, behind
    ``DOCKET_TRUSTED_PROXY_COUNT`` reverse proxies that each append to ``X-Forwarded-For``,
    the address the outermost of them saw (entries further left are the client's to forge).
    ``""`` when unknown (no request, or not an IP address)."""
    if request is None:
        return ""
    meta = getattr(request, "META", {})
    candidate = meta.get("REMOTE_ADDR", "")
    proxies = settings.DOCKET_TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [a.strip() for a in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= proxies:
            candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return ""
