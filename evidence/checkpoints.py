"""Signed checkpoints of the custody chains (one per evidence item), made beside the audit
chains' (``audit.checkpoints``, which sits below evidence and cannot read its ledger)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db.models import Max
from django.utils import timezone

from audit.checkpoints import CheckpointRun, extend, latest_checkpoints
from audit.models import CheckpointKind
from core import ledger
from evidence.models import CustodyEntry, Evidence

log = logging.getLogger(__name__)


def custody_chain(uid) -> str:
    """The checkpoint chain key of an evidence item's ledger (its uid: stable everywhere)."""
    return f"evidence-{uid}"


def checkpoint_custody_chains(*, now: datetime | None = None) -> CheckpointRun:
    """Sign the head of every custody chain that moved since its last checkpoint."""
    now = now or timezone.now()
    run = CheckpointRun()
    latest = latest_checkpoints(CheckpointKind.CUSTODY)
    items = (
        Evidence.objects.select_related("incident")
        .annotate(length=Max("custody__seq"))
        .only("pk", "uid", "sha256", "incident__agency_id")
        .order_by("pk")
    )
    for ev in items.iterator(chunk_size=500):
        chain = custody_chain(ev.uid)

        def tail(after: int, ev=ev):
            entries = CustodyEntry.objects.filter(evidence_id=ev.pk, seq__gt=after).order_by("seq")
            for e in entries.iterator(chunk_size=2000):
                yield e.seq, e.hashed_fields(ev.uid), e.prev_hash, e.entry_hash

        extend(
            run,
            CheckpointKind.CUSTODY,
            chain,
            agency_id=ev.incident.agency_id,
            length=ev.length or 0,
            previous=latest.get(chain),
            genesis=ledger.genesis_hash(ev.uid, ev.sha256),
            tail=tail,
            now=now,
        )
    for chain, problems in run.refused.items():
        log.error("custody chain %s not checkpointed: %s", chain, "; ".join(problems))
    return run
