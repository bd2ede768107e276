from accounts.append_only import AppendOnlyError

from .assessment import (
    AssessmentMethod,
    AssessmentStatus,
    ControlAssessment,
    ImplementationStatus,
)
from .framework import Baseline, Control, Framework
from .system import AuthorizationStatus, ImpactLevel, InformationSystem

__all__ = [
    "AppendOnlyError",
    "AssessmentMethod",
    "AssessmentStatus",
    "AuthorizationStatus",
    "Baseline",
    "Control",
    "ControlAssessment",
    "Framework",
    "ImpactLevel",
    "ImplementationStatus",
    "InformationSystem",
]
