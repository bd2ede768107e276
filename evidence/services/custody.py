"""The custody ledger of each evidence item: appending an entry, checking the chain."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from accounts.context import AgencyContext
from audit.checkpoints import (
    ExportedCopy,
    against_checkpoints,
    missing_from_database,
    stored_checkpoints,
)
from audit.models import CheckpointKind
from core import ledger, signing
from core.errors import InvalidInput
from evidence.checkpoints import custody_chain
from evidence.models import Action, CustodyEntry, Evidence

from .common import _now, _person, _roles_text

logger = logging.getLogger(__name__)


# --- the custody ledger ------------------------------------------------------------------------


def custody_append(
    *,
    evidence: Evidence,
    action: str,
    actor=None,
    actor_name: str | None = None,
    ctx: AgencyContext | None = None,
    at: datetime | None = None,
    note: str = "",
    from_person=None,
    to_person=None,
    location: str = "",
    data: dict | None = None,
) -> CustodyEntry:
    """Append one entry to ``evidence``'s ledger, chained to the one before. The evidence row
    is locked for the rest of the transaction so two appends cannot take the same ``seq``."""
    if action not in Action.values:
        raise InvalidInput(f"Unknown custody action {action!r}.")
    with transaction.atomic():
        locked = (
            Evidence.objects.select_for_update().only("pk", "uid", "sha256").get(pk=evidence.pk)
        )
        genesis = ledger.genesis_hash(locked.uid, locked.sha256)
        last = (
            CustodyEntry.objects.filter(evidence_id=locked.pk)
            .order_by("-seq")
            .values("seq", "entry_hash")
            .first()
        )
        entry = CustodyEntry(
            evidence_id=locked.pk,
            seq=(last["seq"] + 1) if last else 1,
            action=action,
            actor=actor,
            actor_name=actor_name if actor_name is not None else _person(actor),
            actor_roles=_roles_text(ctx),
            at=_now(at),
            note=note,
            from_person=from_person,
            to_person=to_person,
            location=location,
            data=data or {},
            prev_hash=last["entry_hash"] if last else genesis,
        )
        entry.entry_hash = ledger.entry_hash(entry.hashed_fields(locked.uid), entry.prev_hash)
        entry.save()
        return entry


def ledger_check(evidence: Evidence, entries=None) -> list[str]:
    """The breaks in ``evidence``'s chain (empty when it holds). ``entries`` defaults to the
    stored ledger; a test may pass a modified copy."""
    if entries is None:
        entries = evidence.custody.order_by("seq")
    return ledger.check_chain(
        ((e.seq, e.hashed_fields(evidence.uid), e.prev_hash, e.entry_hash) for e in entries),
        ledger.genesis_hash(evidence.uid, evidence.sha256),
    )


@dataclass
class CheckResult:
    evidence: Evidence | None
    ok: bool
    problems: list[str]
    chain: str = ""

    def line(self) -> str:
        ev = self.evidence
        if ev is None:  # a chain only its checkpoints remember
            return f"FAILED custody {self.chain}: {'; '.join(self.problems)}"
        head = f"{'OK' if self.ok else 'FAILED'} evidence {ev.pk} {ev.incident.number} "
        head += repr(ev.original_filename)
        return head if self.ok else f"{head}: {'; '.join(self.problems)}"


def ledger_verify(copy: ExportedCopy | None = None) -> list[CheckResult]:
    """Walk every item's custody chain (``manage.py verify_ledger``): its links and hashes,
    and the signed checkpoints of it — those in the database, or those of an exported
    ``copy`` (with the copy's keys; a checkpoint the database lost is named). A checkpoint of
    a chain whose item is gone is a failure of its own."""
    if copy is None:
        checkpoints = stored_checkpoints(CheckpointKind.CUSTODY)
        keys = signing.trusted_public_keys()
        missing: list[tuple[str, str]] = []
    else:
        checkpoints, keys = copy.of_kind(CheckpointKind.CUSTODY), copy.public_keys
        missing = missing_from_database(copy, CheckpointKind.CUSTODY)
    results, seen = [], set()
    for ev in Evidence.objects.select_related("incident").order_by("pk").iterator(chunk_size=200):
        chain = custody_chain(ev.uid)
        seen.add(chain)
        entries = list(ev.custody.order_by("seq"))
        problems = ledger_check(ev, entries)
        cps = checkpoints.get(chain, [])
        problems += against_checkpoints(
            cps,
            length=entries[-1].seq if entries else 0,
            hashes={e.seq: e.entry_hash for e in entries},
            public_keys=keys,
        )
        problems += [p for c, p in missing if c == chain]
        results.append(CheckResult(ev, not problems, problems, chain))
    for chain in sorted(set(checkpoints) - seen):
        problems = against_checkpoints(checkpoints[chain], length=0, hashes={}, public_keys=keys)
        problems += [p for c, p in missing if c == chain]
        results.append(CheckResult(None, False, problems or ["the item is gone"], chain))
    return results
