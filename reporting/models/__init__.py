from .calendar import CalendarToken
from .obligation import Obligation, ReminderDispatch, Submission
from .ruleset import (
    RULE_DATA_FIELDS,
    Anchor,
    AppliesTo,
    ObligationRule,
    RuleSet,
    RuleSetAdoption,
    RuleSetLocked,
)

__all__ = [
    "RULE_DATA_FIELDS",
    "Anchor",
    "AppliesTo",
    "CalendarToken",
    "Obligation",
    "ObligationRule",
    "ReminderDispatch",
    "RuleSet",
    "RuleSetAdoption",
    "RuleSetLocked",
    "Submission",
]
