from .determination import Decision, Determination, PiiAct
from .enums import (
    AttackVector,
    FunctionalImpact,
    IndicatorType,
    InformationImpact,
    Location,
    NcissLevel,
    Recoverability,
)
from .event import AppendOnlyError, EventKind, IncidentEvent
from .incident import (
    AdditionalInformation,
    AuditorGrant,
    Incident,
    IncidentSequence,
    Indicator,
    State,
)

__all__ = [
    "AdditionalInformation",
    "AppendOnlyError",
    "AttackVector",
    "AuditorGrant",
    "Decision",
    "Determination",
    "EventKind",
    "FunctionalImpact",
    "Incident",
    "IncidentEvent",
    "IncidentSequence",
    "Indicator",
    "IndicatorType",
    "InformationImpact",
    "Location",
    "NcissLevel",
    "PiiAct",
    "Recoverability",
    "State",
]
