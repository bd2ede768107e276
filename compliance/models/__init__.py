from accounts.append_only import AppendOnlyError

from .assessment import (
    AssessmentMethod,
    AssessmentStatus,
    ControlAssessment,
    ImplementationStatus,
)
from .framework import Baseline, Control, ControlMapping, Framework, Relationship
from .system import AuthorizationStatus, ImpactLevel, InformationSystem

__all__ = [
    "AppendOnlyError",
    "AssessmentMethod",
    "AssessmentStatus",
    "AuthorizationStatus",
    "Baseline",
    "Control",
    "ControlAssessment",
    "ControlMapping",
    "Framework",
    "ImpactLevel",
    "ImplementationStatus",
    "InformationSystem",
    "Relationship",
]
