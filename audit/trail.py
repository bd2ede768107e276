"""Writing and checking the audit trail (docs/adr/0020-audit-trail.md).

``record`` appends one entry to the chain of its agency in the caller's transaction: the
chain's head row (``AuditHead``) is locked FOR UPDATE, so concurrent acts of one agency append
one after the other (``seq`` 1, 2, 3… without gaps) and acts of different agencies do not wait
for each other; on SQLite the database's write lock serialises. If the act rolls back, so does
its entry: only what happened is recorded.

A refused act rolled back, so its entry is written by ``record_refusal`` in a transaction of
its own: at once when no act's transaction is open, otherwise (the refusal was decided inside
the act) once the unit of work is over — the middleware, command or task that set the act
context writes it (``flush_refusals``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.db.models.sql import InsertQuery
from django.utils import timezone

from core import ledger

from .context import ActContext, active, current_act, user_label
from .models import AuditEntry, AuditHead, Outcome, chain_key

log = logging.getLogger(__name__)


def genesis_hash(chain: str) -> str:
    """What the first entry of ``chain`` links to: binds the chain to its agency."""
    return hashlib.sha256(f"docket-audit-v1:{chain}".encode()).hexdigest()


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON (times as ISO 8601, decimals and UUIDs as text, sets sorted,
    model instances as their pk), so that it hashes the same once read back."""
    if isinstance(value, (set, frozenset)):
        value = sorted(value, key=str)
    return json.loads(json.dumps(value, cls=_Encoder))


class _Encoder(DjangoJSONEncoder):
    def default(self, o):
        if hasattr(o, "_meta") and hasattr(o, "pk"):
            return o.pk
        if isinstance(o, (set, frozenset)):
            return sorted(o, key=str)
        if isinstance(o, QuerySet):  # a many-to-many field's value
            return sorted(getattr(x, "pk", x) for x in o)
        return super().default(o)


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The changed fields of an edit: ``{field: {"before": old, "after": new}}``."""
    b, a = jsonable(dict(before)), jsonable(dict(after))
    return {
        name: {"before": b.get(name), "after": a.get(name)}
        for name in sorted(set(b) | set(a))
        if b.get(name) != a.get(name)
    }


def _subject(subject, subject_type, subject_id, subject_ref, incident):
    if subject is not None:
        subject_type = subject_type or subject._meta.label
        subject_id = subject_id if subject_id is not None else subject.pk
        if not subject_ref:
            subject_ref = getattr(subject, "audit_ref", None) or str(subject)
        if incident is None:
            if subject._meta.label == "incidents.Incident":
                incident = subject
            elif getattr(subject, "incident_id", None) is not None:
                incident = subject.incident_id
    return (
        subject_type or "",
        "" if subject_id is None else str(subject_id),
        (subject_ref or "")[:300],
        incident,
    )


def _locked_head(chain: str, agency_id) -> AuditHead:
    head = AuditHead.objects.select_for_update().filter(chain=chain).first()
    if head is not None:
        return head
    try:
        with transaction.atomic():
            AuditHead.objects.create(
                chain=chain, agency_id=agency_id, length=0, head_hash=genesis_hash(chain)
            )
    except IntegrityError:
        pass  # another act created it first; its lock is ours once it commits
    return AuditHead.objects.select_for_update().get(chain=chain)


def record(
    act: str,
    *,
    agency,
    subject=None,
    subject_type: str | None = None,
    subject_id=None,
    subject_ref: str = "",
    incident=None,
    changes: Mapping[str, Any] | None = None,
    outcome: str = Outcome.SUCCESS,
    reason: str = "",
    actor=None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append the entry of ``act`` to ``agency``'s chain (``None``: the installation's), in
    the current transaction. Who and where from come from the act context unless ``actor``
    is given; ``subject`` (a model instance) gives the subject's type, id, reference and
    incident unless those are given."""
    ctx = current_act()
    if actor is None or actor == ctx.actor:
        actor, label = ctx.actor, ctx.actor_label  # the context's label names a token too
    else:
        label = user_label(actor)
    subject_type, subject_id, subject_ref, incident = _subject(
        subject, subject_type, subject_id, subject_ref, incident
    )
    agency_id = getattr(agency, "pk", agency)
    chain = chain_key(agency_id)
    entry = AuditEntry(
        chain=chain,
        agency_id=agency_id,
        at=at or timezone.now(),
        actor=actor if getattr(actor, "pk", None) is not None else None,
        actor_label=(label or "system")[:300],
        act=act,
        subject_type=subject_type,
        subject_id=subject_id,
        subject_ref=subject_ref,
        incident_id=getattr(incident, "pk", incident),
        changes=jsonable(dict(changes or {})),
        outcome=outcome,
        reason=reason or "",
        address=ctx.address,
        user_agent=ctx.user_agent,
        request_id=ctx.request_id,
    )
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            _append_postgresql(entry, chain, agency_id)
            return entry
        head = _locked_head(chain, agency_id)
        entry.seq = head.length + 1
        entry.prev_hash = head.head_hash
        entry.entry_hash = ledger.entry_hash(entry.hashed_fields(), entry.prev_hash)
        entry.save(force_insert=True)
        AuditHead.objects.filter(pk=head.pk).update(length=entry.seq, head_hash=entry.entry_hash)
    return entry


_ADVANCE = (
    "UPDATE audit_audithead SET length = length + 1 WHERE chain = %s "
    "RETURNING id, length, head_hash"
)


def _append_postgresql(entry: AuditEntry, chain: str, agency_id) -> None:
    """The append in two round trips (an act's cost is mostly its round trips): the head is
    locked, advanced and read by one UPDATE … RETURNING; the entry is inserted and the head's
    hash moved by one statement (the ORM's own INSERT inside a data-modifying CTE)."""
    with connection.cursor() as cursor:
        cursor.execute(_ADVANCE, [chain])
        found = cursor.fetchone()
        if found is None:
            _locked_head(chain, agency_id)  # the chain's first entry: create its head
            cursor.execute(_ADVANCE, [chain])
            found = cursor.fetchone()
        head_id, entry.seq, entry.prev_hash = found
        entry.entry_hash = ledger.entry_hash(entry.hashed_fields(), entry.prev_hash)
        fields = [f for f in AuditEntry._meta.concrete_fields if not f.primary_key]
        query = InsertQuery(AuditEntry)
        query.insert_values(fields, [entry])
        ((insert, params),) = query.get_compiler(connection=connection).as_sql()
        cursor.execute(
            f"WITH e AS ({insert} RETURNING id, entry_hash), "  # noqa: S608 (the ORM's SQL)
            "h AS (UPDATE audit_audithead SET head_hash = e.entry_hash FROM e "
            "WHERE audit_audithead.id = %s) SELECT id FROM e",
            [*params, head_id],
        )
        entry.pk = cursor.fetchone()[0]
    entry._state.adding, entry._state.db = False, connection.alias


def record_for(ctx, act: str, **fields) -> AuditEntry:
    """``record`` of an act done with an agency context (``accounts.context.AgencyContext``):
    its agency's chain, its user as the actor."""
    return record(act, agency=ctx.agency, actor=ctx.user, **fields)


def refusal_for(ctx, act: str, **fields) -> AuditEntry | None:
    """``record_refusal`` of an act refused to an agency context."""
    return record_refusal(act, agency=ctx.agency, actor=ctx.user, **fields)


def refuse_out_of_scope(ctx, model, *, what: str, **lookup) -> None:
    """A record that exists was asked for outside ``ctx``'s scope (the caller is answered
    "not found", as for an absent one): an ``out_of_scope`` refusal on the chain of the
    record's agency, whose people learn of the attempt. Nothing when no such record exists.
    ``model`` declares its ``agency_path`` (``accounts.scoping``)."""
    path = getattr(model, "agency_path", None)
    if path is None or ctx is None:
        return
    found = model._base_manager.filter(**lookup).values_list("pk", path).first()
    if found is None:
        return
    pk, agency_id = found
    incident_path = getattr(model, "incident_path", None)
    incident_id = None
    if incident_path is not None:
        incident_id = (
            pk
            if incident_path == ""
            else model._base_manager.filter(pk=pk).values_list(incident_path, flat=True).first()
        )
    record_refusal(
        "out_of_scope",
        agency=agency_id,
        actor=getattr(ctx, "user", None),
        subject_type=model._meta.label,
        subject_id=pk,
        subject_ref=what,
        incident=incident_id,
        reason=f"Outside the scope of {getattr(getattr(ctx, 'agency', None), 'abbreviation', '?')}"
        f" ({', '.join(sorted(getattr(ctx, 'roles', ()) or ())) or 'no role'}): answered "
        "not found.",
    )


def _inside_act() -> bool:
    """Whether a transaction of an act is open (a test case's own wrapping does not count)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def record_refusal(act: str, *, agency, **fields) -> AuditEntry | None:
    """The entry of a refused act (``outcome`` failure; ``reason`` says why), in a
    transaction of its own so that it survives the act's rollback: written now when no act's
    transaction is open, else kept on the act context and written when its unit of work ends
    (then ``None`` is returned). Same arguments as ``record``."""
    fields.setdefault("outcome", Outcome.FAILURE)
    ctx = active()
    if ctx is not None:
        ctx.refused.append(act)
        if _inside_act():
            ctx.pending.append((act, agency, fields))
            return None
    elif _inside_act():
        log.warning("refusal of %s recorded inside a transaction outside any act context", act)
    with transaction.atomic():
        return record(act, agency=agency, **fields)


def flush_refusals(ctx: ActContext) -> None:
    """Write the refusals noted during the unit of work of ``ctx`` (now over)."""
    pending, ctx.pending[:] = list(ctx.pending), []
    for act, agency, fields in pending:
        try:
            with transaction.atomic():
                record(act, agency=agency, **fields)
        except Exception:
            log.exception("the refusal of %s could not be recorded", act)


def chain_entries(agency):
    """The entries of ``agency``'s chain (``None``: the installation's), in ``seq`` order."""
    return AuditEntry.objects.filter(chain=chain_key(agency)).order_by("seq")


def check_entries(chain: str, entries: Iterable[AuditEntry]) -> list[str]:
    """Problems of the entries of ``chain`` (links and hashes); empty when they hold."""
    rows = ((e.seq, e.hashed_fields(), e.prev_hash, e.entry_hash) for e in entries)
    problems = ledger.check_chain(rows, genesis_hash(chain))
    return [p for p in problems if p != "the ledger is empty"]


def check_agency_chain(agency) -> list[str]:
    """Problems of ``agency``'s chain: each entry's link and hash, and its end against the
    head row (a removed last entry). Empty when it holds."""
    chain = chain_key(agency)
    problems = check_entries(chain, chain_entries(agency).iterator(chunk_size=2000))
    head = AuditHead.objects.filter(chain=chain).first()
    last = chain_entries(agency).last()
    end = (last.seq, last.entry_hash) if last is not None else (0, genesis_hash(chain))
    if head is not None and (head.length, head.head_hash) != end:
        problems.append(
            f"the chain ends at #{end[0]} but its head records "
            f"{head.length} entries (entries removed from its end)"
        )
    return problems
