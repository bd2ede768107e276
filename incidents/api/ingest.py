"""``POST /api/v1/ingest/falco``: Falco and falcosidekick deliver alerts here;
``POST /api/v1/ingest/sysdig``: Sysdig Secure events and command records, the same way.

A plain Django view, not DRF: the only credential is an agency's ingest token
(``Authorization: Bearer dkt_…``), never a session, so there is no CSRF to check, and the body
is read as a capped stream rather than parsed by DRF.

falcosidekick drops an event on any answer but 2xx and never retries, so an error status is
given only when nothing was stored: a bad token (401), a body over the limit (413), an
unsupported encoding (415), or a body that cannot be read at all (400). Otherwise the answer is
200, after commit, with what was accepted, what was a duplicate and each rejected item.
"""

from __future__ import annotations

import zlib

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.models import IngestToken
from accounts.models.ingest_token import TOKEN_FORMAT
from incidents import falco
from incidents.ingest import alerts_store, sysdig_store

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
CHUNK = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"


class Refused(Exception):
    def __init__(self, status: int, code: str, detail: str):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def _error(status: int, code: str, detail: str) -> JsonResponse:
    response = JsonResponse({"detail": detail, "code": code}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="docket-ingest"'
    return response


def max_bytes() -> int:
    return int(getattr(settings, "DOCKET_INGEST_MAX_BYTES", DEFAULT_MAX_BYTES))


def authenticate(header: str | None) -> IngestToken:
    """The active ingest token named by an ``Authorization`` header; ``Refused`` (401) saying
    whether it is missing, malformed, unknown or revoked."""
    if not header:
        raise Refused(
            401, "token_missing", "Authorization header missing: send 'Bearer <ingest token>'."
        )
    scheme, _, plain = header.strip().partition(" ")
    plain = plain.strip()
    if scheme.lower() != "bearer" or not plain:
        raise Refused(
            401,
            "token_malformed",
            "Authorization header malformed: expected 'Bearer <ingest token>'.",
        )
    if not TOKEN_FORMAT.match(plain):
        raise Refused(
            401,
            "token_malformed",
            "Ingest token malformed: expected 'dkt_' followed by 43 URL-safe characters.",
        )
    token = IngestToken.lookup(plain)
    if token is None:
        raise Refused(401, "token_unknown", "Ingest token unknown.")
    if token.revoked_at is not None:
        raise Refused(
            401, "token_revoked", f"Ingest token revoked at {token.revoked_at.isoformat()}."
        )
    return token


def _too_large(limit: int) -> Refused:
    return Refused(
        413, "too_large", f"Body larger than {limit} bytes (decompressed); split the batch."
    )


def read_body(request, limit: int) -> bytes:
    """The request body, gunzipped when it says so (``Content-Encoding: gzip``) or starts with
    the gzip magic, read as a stream: neither the raw nor the decompressed body may exceed
    ``limit`` bytes, so a gzip bomb stops at the cap instead of filling memory."""
    declared = request.META.get("CONTENT_LENGTH")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip"):
        raise Refused(
            415, "unsupported_encoding", f"Content-Encoding {encoding!r} not supported: use gzip."
        )
    out = bytearray()
    raw_size = 0
    inflater = None
    first = True
    while True:
        chunk = request.read(CHUNK)
        if not chunk:
            break
        raw_size += len(chunk)
        if raw_size > limit:
            raise _too_large(limit)
        if first:
            first = False
            if encoding in ("gzip", "x-gzip") or chunk.startswith(GZIP_MAGIC):
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        if inflater is None:
            out += chunk
            continue
        data = chunk
        while data:
            if inflater.eof:
                # Concatenated gzip members (gzip -c a >> b) are one stream to gzip(1).
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                piece = inflater.decompress(data, limit + 1 - len(out))
            except zlib.error as exc:
                raise Refused(400, "bad_gzip", f"Body is not valid gzip: {exc}.") from exc
            out += piece
            if len(out) > limit:
                raise _too_large(limit)
            data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
    if inflater is not None and not inflater.eof:
        raise Refused(400, "bad_gzip", "Body is not valid gzip: the stream is truncated.")
    return bytes(out)


def decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Refused(
            400,
            "invalid_utf8",
            f"Body is not valid UTF-8: {exc.reason} at byte {exc.start}.",
        ) from exc


def ingest(request, store):
    """One delivery: authenticate the token, read the capped body, split it into items and
    hand them to ``store`` (``alerts_store``, ``sysdig_store``), which commits before the 200."""
    now = timezone.now()
    try:
        token = authenticate(request.META.get("HTTP_AUTHORIZATION"))
        body = read_body(request, max_bytes())
        items = falco.parse_body(decode(body), request.META.get("CONTENT_TYPE", ""))
    except Refused as exc:
        return _error(exc.status, exc.code, exc.detail)
    except falco.Unreadable as exc:
        return _error(400, "unreadable", f"Nothing stored: {exc}.")
    result = store(agency=token.agency, items=items, token=token, now=now)
    token.touch(now=now)
    return JsonResponse(result.as_dict(), status=200)


@csrf_exempt
@require_http_methods(["POST", "PUT"])
def falco_ingest(request):
    """Store the alerts of one delivery (see the module docstring and docs/api.md)."""
    return ingest(request, alerts_store)


@csrf_exempt
@require_http_methods(["POST", "PUT"])
def sysdig_ingest(request):
    """``POST /api/v1/ingest/sysdig``: Sysdig Secure runtime policy events and activity-audit
    command records, one object, an array or JSON lines, mixed; same token, limits and answers
    as the Falco endpoint (docs/api.md)."""
    return ingest(request, sysdig_store)
