from core.append_only import AppendOnlyError

from .command import CapturedCommand, CommandExtraction, CommandRecord, ExtractionStatus
from .detection import (
    CandidateStatus,
    Detection,
    DetectionKind,
    IncidentCandidate,
    Priority,
)
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
from .event import EventKind, IncidentEvent
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
    "CandidateStatus",
    "CapturedCommand",
    "CommandExtraction",
    "CommandRecord",
    "Decision",
    "Detection",
    "DetectionKind",
    "Determination",
    "EventKind",
    "ExtractionStatus",
    "FunctionalImpact",
    "Incident",
    "IncidentCandidate",
    "IncidentEvent",
    "IncidentSequence",
    "Indicator",
    "IndicatorType",
    "InformationImpact",
    "Location",
    "NcissLevel",
    "PiiAct",
    "Priority",
    "Recoverability",
    "State",
]
