"""How the reporting clocks follow the incidents: subscribers to the incidents' domain events
(``core.events``), registered when the app is ready. All run in the act's transaction, under
its incident row lock, so an act and its clocks commit together or not at all."""

from __future__ import annotations

from core.errors import Conflict
from core.events import (
    AdditionalInformationRecorded,
    DeterminationRecorded,
    IncidentOpened,
    IncidentTransitioned,
    IncidentTransitioning,
    IncidentUpdated,
    Phase,
    subscribe,
)

from .models import Obligation
from .services import obligations_sync


def _sync(event, reason: str) -> None:
    actor = event.ctx.user if event.ctx is not None else None
    obligations_sync(incident=event.incident, actor=actor, now=event.at, reason=reason)


@subscribe(IncidentOpened, phase=Phase.IN_TRANSACTION)
def clocks_on_open(event: IncidentOpened) -> None:
    """CISA's one hour starts at identification."""
    _sync(event, "incident opened")


@subscribe(IncidentUpdated, phase=Phase.IN_TRANSACTION)
def clocks_on_update(event: IncidentUpdated) -> None:
    if "identified_at" in event.changed:
        _sync(event, "identified-at changed")


@subscribe(IncidentTransitioning, phase=Phase.GUARD)
def no_close_with_open_obligations(event: IncidentTransitioning) -> None:
    """An incident is not closed while a reporting obligation is still open."""
    if event.transition != "close":
        return
    open_ones = Obligation.objects.filter(incident=event.incident).open()
    if open_ones.exists():
        titles = ", ".join(str(o.rule.title) for o in open_ones.select_related("rule"))
        raise Conflict(
            f"{event.incident.number} still has open reporting obligations ({titles}); "
            "record their submissions or waive them before closing.",
            allowed_transitions=list(event.allowed),
            state=event.incident.state,
        )


@subscribe(IncidentTransitioned, phase=Phase.IN_TRANSACTION)
def clocks_on_dismiss(event: IncidentTransitioned) -> None:
    """A dismissed incident's open obligations are withdrawn."""
    if event.transition == "dismiss":
        _sync(event, "incident dismissed")


@subscribe(DeterminationRecorded, phase=Phase.IN_TRANSACTION)
def clocks_on_determination(event: DeterminationRecorded) -> None:
    """A major determination starts the CISA update, Congress and IG clocks; a correction
    moves or withdraws them."""
    _sync(event, "determination corrected" if event.corrects else "determination recorded")


@subscribe(AdditionalInformationRecorded, phase=Phase.IN_TRANSACTION)
def clocks_on_additional_information(event: AdditionalInformationRecorded) -> None:
    """New information about a major incident starts a supplemental report's clock."""
    _sync(event, "additional information")
