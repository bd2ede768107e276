from .system import ImpactLevel, InformationSystem

__all__ = ["ImpactLevel", "InformationSystem"]
