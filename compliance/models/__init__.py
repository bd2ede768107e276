from core.append_only import AppendOnlyError

from .assessment import (
    AssessmentMethod,
    AssessmentStatus,
    ControlAssessment,
    ImplementationStatus,
)
from .framework import Baseline, Control, ControlMapping, Framework, Relationship
from .poam import PoamItem, PoamMilestone, PoamSeverity, PoamSource, PoamStatus
from .risk import RiskAssessment, RiskAssessmentMethod, RiskLevel
from .snapshot import ComplianceSnapshot, SnapshotJob, SnapshotReason
from .system import AuthorizationStatus, ImpactLevel, InformationSystem

__all__ = [
    "AppendOnlyError",
    "AssessmentMethod",
    "AssessmentStatus",
    "AuthorizationStatus",
    "Baseline",
    "ComplianceSnapshot",
    "Control",
    "ControlAssessment",
    "ControlMapping",
    "Framework",
    "ImpactLevel",
    "ImplementationStatus",
    "InformationSystem",
    "PoamItem",
    "PoamMilestone",
    "PoamSeverity",
    "PoamSource",
    "PoamStatus",
    "Relationship",
    "RiskAssessment",
    "RiskAssessmentMethod",
    "RiskLevel",
    "SnapshotJob",
    "SnapshotReason",
]
