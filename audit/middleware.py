"""The act context of a web request (``audit.context``), and the refusals it met.

Sets who (read from ``request.user`` when an entry is written, so DRF's token callers are
named too), where from (``core.web.client_address``, the user agent) and the request id: the
client's ``X-Request-ID`` when it is a plain token of up to 64 characters, else a new one;
the response echoes it in ``X-Request-ID``.

After the response, the refusals noted during the request are written in their own
transaction (the act's rolled back). A refusal answer (403 or 409) to a write that noted none
(a state conflict caught by a page) is recorded here as ``request_refused``, so every refused
act leaves an entry.
"""

from __future__ import annotations

import re
import uuid

from core.web import client_address

from .context import act_context
from .trail import flush_refusals, record_refusal

HEADER = "X-Request-ID"
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
REFUSAL_STATUSES = {403: "refused (403)", 409: "refused: conflicts with the current state (409)"}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def request_id(request) -> str:
    sent = request.META.get("HTTP_X_REQUEST_ID", "").strip()
    return sent if _ACCEPTED_ID.match(sent) else uuid.uuid4().hex


def _agency_of(request):
    ctx = getattr(request, "agency_context", None)
    try:
        return getattr(ctx, "agency", None) if ctx is not None else None
    except Exception:  # a lazy context that cannot resolve: no agency
        return None


def _reason(ctx, status: int) -> str:
    """The message of the last service error of that status, else the status's words."""
    for error in reversed(ctx.errors):
        if getattr(error, "status", None) == status:
            return error.message
    return REFUSAL_STATUSES[status]


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request_id(request)
        request.request_id = rid
        with act_context(
            address=client_address(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            request_id=rid,
            request=request,
        ) as ctx:
            response = self.get_response(request)
            flush_refusals(ctx)
            if (
                response.status_code in REFUSAL_STATUSES
                and request.method in WRITES
                and not ctx.refused
                and getattr(request, "user", None) is not None
                and request.user.is_authenticated
            ):
                match = getattr(request, "resolver_match", None)
                record_refusal(
                    "request_refused",
                    agency=_agency_of(request),
                    subject_type="request",
                    subject_id=getattr(match, "view_name", "") or "",
                    subject_ref=f"{request.method} {request.path}"[:300],
                    reason=_reason(ctx, response.status_code),
                )
        response[HEADER] = rid
        return response
