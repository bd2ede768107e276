from .calendar import CalendarToken
from .obligation import Obligation, ReminderDispatch, Submission
from .report import (
    ANNUAL_KIND,
    INCIDENT_KIND,
    OBLIGATION_KINDS,
    REPORT_KINDS,
    CisaResponse,
    CisaSeverity,
    RenderJob,
    Report,
    ReportState,
    ReportVersion,
    cisa_response_for,
)
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
    "ANNUAL_KIND",
    "INCIDENT_KIND",
    "OBLIGATION_KINDS",
    "REPORT_KINDS",
    "RULE_DATA_FIELDS",
    "Anchor",
    "AppliesTo",
    "CalendarToken",
    "CisaResponse",
    "CisaSeverity",
    "Obligation",
    "ObligationRule",
    "ReminderDispatch",
    "RenderJob",
    "Report",
    "ReportState",
    "ReportVersion",
    "RuleSet",
    "RuleSetAdoption",
    "RuleSetLocked",
    "Submission",
    "cisa_response_for",
]
