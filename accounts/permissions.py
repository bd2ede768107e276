"""Which roles may do what: one map, ``ACTS``, from an act to the roles that may do it.

Services refuse an act with ``require(ctx, act)`` (``NotPermitted``, with the act's message);
views ask ``ctx.may(act)`` and templates ``{% if may.act %}`` (``context_processors.agency``),
so a page offers only what its service would allow. django-fsm transitions take their
``permission=`` from here too (``incidents.models.incident``), and the permission-matrix test
(``tests/test_permission_matrix.py``) is generated from the map.

What a caller may *see* is not decided here: that is ``accounts.scoping.scope()``. An act on
an object the caller cannot see is refused as not found before or after the role check.

Object rules. Some acts hold for a role only on some objects; such an act says so in
``object_rule`` and the service checks "the role from the map AND the object rule":

- ``assigned_only``: roles that hold the act only on the systems assigned to them (an ISSO
  writes the compliance records of *her* systems); ``may(ctx, act, system=…)`` checks it.
- ``unless``: roles that, held beside a permitted one, take the act away (an agency
  administrator who is also an auditor of the agency does not use the administration).
- anything else (the current custodian of an item, the receiver of a transfer) is written in
  ``object_rule`` and checked by the service next to ``may``.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.trail import refusal_for
from core.errors import NotPermitted

from .models import Role

ISSO, CO, AO, AUDITOR, ADMIN = (
    Role.ISSO,
    Role.COMPLIANCE_OFFICER,
    Role.APPROVING_OFFICIAL,
    Role.AUDITOR,
    Role.AGENCY_ADMIN,
)


@dataclass(frozen=True)
class Act:
    """Who may do one act. ``who`` and ``what`` make the refusal: "Only {who} may {what}."."""

    roles: frozenset[str]
    who: str
    what: str
    assigned_only: frozenset[str] = frozenset()
    unless: frozenset[str] = frozenset()
    object_rule: str = ""

    @property
    def message(self) -> str:
        return f"Only {self.who} may {self.what}."


def _act(*roles: str, who: str, what: str, **rules) -> Act:
    return Act(roles=frozenset(roles), who=who, what=what, **rules)


HANDLER = "an ISSO or a compliance officer"
EDITOR = "an ISSO, compliance officer or approving official"
APPROVER = "an approving official"
GRANTOR = "an agency administrator or an approving official"

ACTS: dict[str, Act] = {
    # --- incidents (incidents.services, incidents.ingest, incidents.models.incident) ------
    "incident_open": _act(ISSO, CO, who=HANDLER, what="open an incident"),
    "incident_edit": _act(ISSO, CO, AO, who=EDITOR, what="edit an incident"),
    "incident_indicator_add": _act(ISSO, CO, AO, who=EDITOR, what="add indicators"),
    "incident_additional_information": _act(
        ISSO, CO, AO, who=EDITOR, what="record additional information"
    ),
    "incident_determine": _act(AO, who=APPROVER, what="decide whether an incident is major"),
    # Every lifecycle transition but ``close`` (django-fsm ``permission=``).
    "incident_transition": _act(
        ISSO, CO, who=HANDLER, what="move an incident along its lifecycle or dismiss it"
    ),
    "incident_close": _act(ISSO, CO, AO, who=EDITOR, what="close an incident"),
    "auditor_grant": _act(ADMIN, AO, who=GRANTOR, what="grant an auditor access"),
    "auditor_revoke": _act(ADMIN, AO, who=GRANTOR, what="revoke an auditor's access"),
    "candidate_handle": _act(
        ISSO, CO, who=HANDLER, what="promote, attach or dismiss a triage candidate"
    ),
    # --- evidence (evidence.services, evidence.captures) -----------------------------------
    "evidence_upload": _act(ISSO, CO, who=HANDLER, what="upload evidence"),
    "evidence_withdraw": _act(AO, who=APPROVER, what="withdraw evidence"),
    "evidence_extract_commands": _act(
        ISSO, CO, who=HANDLER, what="extract the commands of a capture"
    ),
    "custody_transfer_any": _act(
        ADMIN,
        who="the current custodian or an agency administrator",
        what="transfer custody",
        object_rule="Without this act, the current custodian of an item may still offer it, "
        "and the one who offered a transfer may still cancel it (evidence.services).",
    ),
    # --- reporting (reporting.services) ----------------------------------------------------
    "obligation_submit": _act(ISSO, CO, AO, who=EDITOR, what="record a submission"),
    "obligation_waive": _act(AO, who=APPROVER, what="waive a reporting obligation"),
    # --- compliance (compliance.services, compliance.risk.services) ------------------------
    "compliance_import": _act(
        CO,
        ADMIN,
        who="a compliance officer or an agency administrator",
        what="import",
        object_rule="Assessment files are imported row by row under system_record (an ISSO "
        "imports the assessments of her own systems).",
    ),
    "system_record": _act(
        CO,
        ISSO,
        who="a compliance officer, or an ISSO of this system",
        what="write its compliance records (assessments, risk assessments, POA&M)",
        assigned_only=frozenset({ISSO}),
        object_rule="An ISSO only on the systems assigned to her.",
    ),
    "risk_accept": _act(AO, who=APPROVER, what="accept a risk"),
    "snapshot_take": _act(ISSO, CO, who=HANDLER, what="take a compliance snapshot"),
    # --- the audit trail (audit.reads) ------------------------------------------------------
    "read_audit": _act(
        ADMIN,
        CO,
        AUDITOR,
        who="an agency administrator, a compliance officer or an auditor",
        what="read the audit trail",
        object_rule="An auditor reads the entries of the incidents granted to it (scope()).",
    ),
    "export_audit": _act(
        ADMIN,
        CO,
        AUDITOR,
        who="an agency administrator, a compliance officer or an auditor",
        what="export the audit trail",
        object_rule="The same entries as read_audit.",
    ),
    # --- administration (accounts.admin) ---------------------------------------------------
    "admin_use": _act(
        ADMIN,
        who="an agency administrator",
        what="use the administration",
        unless=frozenset({AUDITOR}),
        object_rule="Not when the administrator is also an auditor of the agency.",
    ),
}


def roles_for(act: str) -> frozenset[str]:
    """The roles that may do ``act`` (``KeyError`` for an act not in the map)."""
    return ACTS[act].roles


def permitted(roles, act: str, *, assigned: bool | None = None) -> bool:
    """Whether holding ``roles`` allows ``act``. ``assigned``: whether the object is a system
    assigned to the holder (``None``: no system in question, the role alone decides)."""
    rule = ACTS[act]
    roles = frozenset(roles)
    if roles & rule.unless:
        return False
    holding = roles & rule.roles
    if assigned is False:
        holding -= rule.assigned_only
    return bool(holding)


def may(ctx, act: str, *, system=None) -> bool:
    """Whether ``ctx`` may do ``act`` (on ``system``, for acts with an ``assigned_only``
    rule: a system or its pk)."""
    assigned = None
    if system is not None:
        assigned = getattr(system, "pk", system) in ctx.isso_system_ids
    return permitted(ctx.roles, act, assigned=assigned)


def require(ctx, act: str, *, system=None, doing: str | None = None) -> None:
    """Refuse ``act`` with ``NotPermitted`` unless ``ctx`` may do it. The message is the
    act's; ``doing`` names the particular deed when one act covers several ("Only an ISSO or a
    compliance officer may dismiss a candidate.")."""
    if not may(ctx, act, system=system):
        rule = ACTS[act]
        message = f"Only {rule.who} may {doing}." if doing else rule.message
        # The refusal is an audit entry, written once the act's transaction is over.
        refusal_for(ctx, act, subject_type="", reason=message)
        raise NotPermitted(message)
