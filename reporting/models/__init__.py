from .obligation import Obligation, ReminderDispatch, Submission
from .ruleset import (
    Anchor,
    AppliesTo,
    ObligationRule,
    RuleSet,
    RuleSetAdoption,
    RuleSetLocked,
)

__all__ = [
    "Anchor",
    "AppliesTo",
    "Obligation",
    "ObligationRule",
    "ReminderDispatch",
    "RuleSet",
    "RuleSetAdoption",
    "RuleSetLocked",
    "Submission",
]
