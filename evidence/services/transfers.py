"""Custody transfers: offered by the custodian (or an administrator), acknowledged or declined
by the receiver; the custodian is derived from the ledger."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from accounts.context import AgencyContext, AgencyContextError, context_for
from accounts.scoping import members_who_see, scope
from audit.trail import record_for
from core import ledger
from core.errors import Conflict, InvalidInput, NotFound, NotPermitted
from evidence.models import Action, CustodyEntry, CustodyTransfer, Evidence, TransferState

from .common import _now, _person
from .custody import custody_append
from .reads import _in_scope

logger = logging.getLogger(__name__)


# --- transfer of custody -----------------------------------------------------------------


def custodian(evidence: Evidence):
    """Who holds the item now: the receiver of its last acknowledged transfer, else its
    uploader. Read from the ledger, which is the record of custody."""
    last = (
        CustodyEntry.objects.filter(evidence_id=evidence.pk, action=Action.TRANSFER)
        .order_by("-seq")
        .select_related("to_person")
        .first()
    )
    return last.to_person if last is not None else evidence.uploaded_by


def may_offer_transfer(ctx: AgencyContext, evidence: Evidence, holder=None) -> bool:
    holder = holder if holder is not None else custodian(evidence)
    return ctx.may("custody_transfer_any") or holder.pk == ctx.user.pk


def transfer_candidates(ctx: AgencyContext, evidence: Evidence, holder=None) -> list:
    """Members of the item's agency who could receive it: those who see its incident, by the
    rules of ``accounts.scoping`` read from their memberships in a fixed number of queries
    (``transfer_offer`` checks the one chosen through ``scope`` itself)."""
    holder = holder if holder is not None else custodian(evidence)
    seeing = {
        m.user_id: m.user
        for m in members_who_see(evidence.incident)
        .filter(user__is_active=True)
        .exclude(user=holder)
        .select_related("user")
    }
    return sorted(seeing.values(), key=lambda u: u.get_username())


def _sees(user, agency, evidence: Evidence) -> bool:
    try:
        theirs = context_for(user, agency)
    except AgencyContextError:
        return False
    return scope(Evidence.objects.all(), theirs).filter(pk=evidence.pk).exists()


def transfer_offer(
    *,
    ctx: AgencyContext,
    evidence: Evidence,
    to_user,
    note: str = "",
    now: datetime | None = None,
) -> CustodyTransfer:
    """Offer custody of the item to ``to_user`` (a member of the same agency who sees the
    incident). Only the current custodian or an agency administrator may; one pending offer
    per item. Custody does not change until the receiver acknowledges."""
    now = _now(now)
    with transaction.atomic():
        ev = _in_scope(ctx, evidence, lock=True)
        holder = custodian(ev)
        if not may_offer_transfer(ctx, ev, holder):
            raise NotPermitted(
                f"Only the current custodian ({_person(holder)}) or an agency administrator may "
                "transfer custody."
            )
        if to_user is None or not to_user.is_active or not _sees(to_user, ev.incident.agency, ev):
            raise InvalidInput(
                "The receiver must be an active member of this agency who can see the incident.",
                field="to_user",
            )
        if to_user.pk == holder.pk:
            raise InvalidInput(f"{_person(holder)} already holds the item.", field="to_user")
        if ev.transfers.filter(state=TransferState.PENDING).exists():
            raise Conflict("A transfer of this item is already awaiting acknowledgement.")
        offer = CustodyTransfer.objects.create(
            evidence=ev,
            from_person=holder,
            to_person=to_user,
            requested_by=ctx.user,
            requested_at=now,
            note=(note or "").strip(),
        )
        _audit(ctx, offer, "offered", now)
        return offer


def _audit(ctx: AgencyContext, offer: CustodyTransfer, what: str, now: datetime) -> None:
    ev = offer.evidence
    record_for(
        ctx,
        "evidence_transfer",
        subject=offer,
        subject_ref=f"evidence {ev.pk}: {_person(offer.from_person)} to "
        f"{_person(offer.to_person)} ({what})",
        incident=ev.incident_id,
        at=now,
        changes={"state": {"before": None if what == "offered" else "pending", "after": what}},
        reason=offer.decision_note or offer.note,
    )


def _pending(ctx: AgencyContext, transfer: CustodyTransfer) -> CustodyTransfer:
    found = (
        scope(CustodyTransfer.objects.select_for_update(of=("self",)), ctx)
        .filter(pk=transfer.pk)
        .select_related("evidence", "from_person", "to_person", "requested_by")
        .first()
    )
    if found is None:
        raise NotFound("No such transfer.")
    if found.state != TransferState.PENDING:
        raise Conflict(f"This transfer was already {found.get_state_display().lower()}.")
    return found


def transfer_accept(
    *, ctx: AgencyContext, transfer: CustodyTransfer, note: str = "", now: datetime | None = None
) -> CustodyEntry:
    """The receiver acknowledges: custody passes, and the ledger gets a ``transfer`` entry
    from → to, with the acknowledging receiver as its actor."""
    now = _now(now)
    with transaction.atomic():
        offer = _pending(ctx, transfer)
        if offer.to_person_id != ctx.user.pk:
            raise NotPermitted("Only the receiver may acknowledge a transfer.")
        ev = _in_scope(ctx, offer.evidence, lock=True)
        if custodian(ev).pk != offer.from_person_id:
            raise Conflict("Custody changed since the offer; it can no longer be acknowledged.")
        offer.state, offer.decided_at, offer.decided_by = TransferState.ACCEPTED, now, ctx.user
        offer.decision_note = (note or "").strip()
        offer.save(update_fields=["state", "decided_at", "decided_by", "decision_note"])
        words = [f"Custody from {_person(offer.from_person)} to {_person(offer.to_person)}"]
        if offer.requested_by_id != offer.from_person_id:
            words.append(f"offered by {_person(offer.requested_by)}")
        text = ", ".join(words) + "."
        for extra in (offer.note, offer.decision_note):
            if extra:
                text += f" {extra}"
        _audit(ctx, offer, "accepted", now)
        return custody_append(
            evidence=ev,
            action=Action.TRANSFER,
            actor=ctx.user,
            ctx=ctx,
            at=now,
            note=text,
            from_person=offer.from_person,
            to_person=offer.to_person,
            data={
                "transfer": offer.pk,
                "offered_by": offer.requested_by.get_username(),
                "offered_at": ledger.entry_fields(at=offer.requested_at)["at"],
            },
        )


def transfer_decline(
    *, ctx: AgencyContext, transfer: CustodyTransfer, note: str = "", now: datetime | None = None
) -> CustodyTransfer:
    """The receiver declines, or the one who offered (or an agency administrator) withdraws
    the offer: nothing changes hands and the ledger is untouched."""
    now = _now(now)
    with transaction.atomic():
        offer = _pending(ctx, transfer)
        if offer.to_person_id == ctx.user.pk:
            offer.state = TransferState.DECLINED
        elif offer.requested_by_id == ctx.user.pk or ctx.may("custody_transfer_any"):
            offer.state = TransferState.CANCELLED
        else:
            raise NotPermitted(
                "Only the receiver, the one who offered or an agency administrator may decline "
                "or cancel a transfer."
            )
        offer.decided_at, offer.decided_by = now, ctx.user
        offer.decision_note = (note or "").strip()
        offer.save(update_fields=["state", "decided_at", "decided_by", "decision_note"])
        _audit(ctx, offer, offer.get_state_display().lower(), now)
        return offer
