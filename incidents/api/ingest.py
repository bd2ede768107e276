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

import logging
import zlib
from functools import cache

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.models import Agency, IngestToken
from accounts.models.ingest_token import TOKEN_FORMAT, token_digest
from audit.context import acting_as
from compliance.models import InformationSystem
from incidents import falco
from incidents.ingest import (
    SELECTOR_FIELDS,
    SELECTOR_ORDER,
    _selectors_from_rows,
    alerts_store,
    delivery_record,
    sysdig_store,
)

log = logging.getLogger(__name__)

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
    token = _lookup(plain)
    if token is None:
        raise Refused(401, "token_unknown", "Ingest token unknown.")
    if token.revoked_at is not None:
        raise Refused(
            401, "token_revoked", f"Ingest token revoked at {token.revoked_at.isoformat()}."
        )
    return token


@cache
def _lookup_query() -> tuple[str, list, list, list]:
    """One query for the token, its agency and the agency's systems' selectors (a row per
    system, ordered as attribution tries them), with the fields each part of a row loads."""
    quote = connection.ops.quote_name
    token_fields = list(IngestToken._meta.concrete_fields)
    agency_fields = list(Agency._meta.concrete_fields)
    system_meta = InformationSystem._meta
    system_fields = [
        system_meta.pk if n == "pk" else system_meta.get_field(n) for n in SELECTOR_FIELDS
    ]
    order = [system_meta.pk if n == "pk" else system_meta.get_field(n) for n in SELECTOR_ORDER]

    def cols(alias, fields):
        return [f"{alias}.{quote(f.column)}" for f in fields]

    def col(model, name):
        return quote(model._meta.get_field(name).column)

    columns = cols("t", token_fields) + cols("a", agency_fields) + cols("s", system_fields)
    agency_pk = quote(Agency._meta.pk.column)
    # Identifiers come from the models; the token's hash is the one parameter.
    sql = (
        f"SELECT {', '.join(columns)} "  # noqa: S608
        f"FROM {quote(IngestToken._meta.db_table)} t "
        f"INNER JOIN {quote(Agency._meta.db_table)} a "
        f"ON a.{agency_pk} = t.{col(IngestToken, 'agency')} "
        f"LEFT JOIN {quote(system_meta.db_table)} s "
        f"ON s.{col(InformationSystem, 'agency')} = a.{agency_pk} "
        f"WHERE t.{col(IngestToken, 'token_hash')} = %s "
        f"ORDER BY {', '.join(cols('s', order))}"
    )
    return sql, token_fields, agency_fields, system_fields


@cache
def _loaders(fields: tuple) -> tuple:
    """Per field: the column and the converters the ORM applies to its values (datetimes on
    SQLite, JSON …), found once."""
    out = []
    for field in fields:
        col = field.get_col(field.model._meta.db_table)
        converters = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        out.append((col, tuple(converters)))
    return tuple(out)


def _from_db(fields, values) -> list:
    """Column values as the ORM would load them."""
    out = []
    for (col, converters), value in zip(_loaders(tuple(fields)), values, strict=True):
        for convert in converters:
            value = convert(value, col, connection)
        out.append(value)
    return out


def _lookup(plain: str) -> IngestToken | None:
    """``IngestToken.lookup`` in one query that also reads the agency (``token.agency``) and
    its systems' selectors (``token.agency_selectors``): the per-request reads of an ingest,
    in one round trip and without the ORM's query building."""
    sql, token_fields, agency_fields, system_fields = _lookup_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [token_digest(plain)])
        rows = cursor.fetchall()
    if not rows:
        return None
    n_token, n_agency = len(token_fields), len(agency_fields)
    first = rows[0]
    token = IngestToken.from_db(
        connection.alias,
        [f.attname for f in token_fields],
        _from_db(token_fields, first[:n_token]),
    )
    token.agency = Agency.from_db(
        connection.alias,
        [f.attname for f in agency_fields],
        _from_db(agency_fields, first[n_token : n_token + n_agency]),
    )
    token.agency_selectors = _selectors_from_rows(
        _from_db(system_fields, row[n_token + n_agency :])
        for row in rows
        if row[n_token + n_agency] is not None
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
    label = f"ingest token {token.name!r} ({token.hint}…)"
    with acting_as(actor_label=label), transaction.atomic():
        result = store(
            agency=token.agency,
            items=items,
            token=token,
            selectors=getattr(token, "agency_selectors", None),
            now=now,
        )
        delivery_record(token=token, result=result, now=now)
    try:
        token.touch(now=now)
    except DatabaseError:
        # The delivery is committed: an error status now would make the sender drop or resend
        # what is stored. "Last used" is bookkeeping; log and answer as stored.
        log.warning("ingest token %s: last-used time not recorded", token.pk, exc_info=True)
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
