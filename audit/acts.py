"""Every act the audit trail records, with the words its pages show: one line per act.

An entry's ``act`` is one of these names: every ``record()`` in the code names one, and every
act of ``accounts.permissions.ACTS`` is one (a refused act is recorded under its permission's
name); ``tests/test_audit_coverage.py`` checks both. A new act is one line here and one
``record()`` call where it is done.
"""

from __future__ import annotations

ACTS: dict[str, str] = {
    # --- incidents ---------------------------------------------------------------------------
    "incident_open": "Incident opened",
    "incident_edit": "Incident edited",
    "incident_transition": "Incident moved along its lifecycle",
    "incident_close": "Incident closed",
    "incident_determine": "Major-incident determination recorded",
    "incident_additional_information": "Additional information recorded",
    "incident_indicator_add": "Indicators added",
    "auditor_grant": "Auditor granted an incident",
    "auditor_revoke": "Auditor's grant revoked",
    "auditor_grant_expired": "Auditor's grant expired",
    "candidate_handle": "Triage candidate promoted, attached or dismissed",
    "detections_ingest": "Detections delivered",
    # --- reporting -----------------------------------------------------------------------------
    "obligation_submit": "Submission recorded",
    "obligation_waive": "Reporting obligation waived",
    "report_draft": "Report drafted",
    "report_edit": "Report edited",
    "report_revise": "Report revision started",
    "report_submit_for_review": "Report sent for review",
    "report_return": "Report returned to draft",
    "report_approve": "Report approved",
    "report_submit": "Report submitted",
    "report_render_request": "Report rendering asked for",
    "report_render": "Report version rendered (or failed)",
    "report_download": "Report version downloaded",
    "cisa_response": "CISA's tracking number and severity recorded",
    # --- evidence packages ---------------------------------------------------------------------
    "package_request": "Evidence package asked for",
    "package_build": "Evidence package built",
    "package_download": "Evidence package downloaded",
    # --- evidence ------------------------------------------------------------------------------
    "evidence_upload": "Evidence uploaded",
    "evidence_view": "Evidence page viewed",
    "evidence_download": "Evidence downloaded",
    "evidence_content_view": "Evidence content opened",
    "evidence_verify": "Evidence verified",
    "evidence_verify_all": "All evidence re-hashed (daily check)",
    "evidence_export": "Evidence exported",
    "evidence_transfer": "Custody transfer offered, accepted, declined or cancelled",
    "custody_transfer_any": "Custody transfer by an administrator (refused)",
    "evidence_withdraw": "Evidence withdrawn",
    "evidence_extract_commands": "Commands of a capture extracted",
    # --- compliance ----------------------------------------------------------------------------
    "system_record": "Compliance record written",
    "compliance_import": "Compliance records imported",
    "risk_accept": "Risk accepted",
    "snapshot_take": "Compliance snapshot taken",
    # --- accounts and administration -------------------------------------------------------------
    "sign_in": "Signed in",
    "sign_in_failed": "Sign-in failed",
    "second_factor_failed": "Second factor refused",
    "sign_out": "Signed out",
    "membership_change": "Membership or role changed",
    "ingest_token_issue": "Ingest token issued",
    "ingest_token_revoke": "Ingest token revoked",
    "admin_use": "Administration used (refused)",
    "admin_add": "Added in the administration",
    "admin_change": "Changed in the administration",
    "admin_delete": "Deleted in the administration",
    # --- the audit trail itself ------------------------------------------------------------------
    "read_audit": "Audit trail read",
    "export_audit": "Audit trail exported",
    "export_checkpoints": "Signed checkpoints exported",
    # --- refusals --------------------------------------------------------------------------------
    "out_of_scope": "Record outside the caller's scope asked for",
    "request_refused": "Request refused",
}


def label(act: str) -> str:
    """The words for ``act`` (the name itself for an act this list does not know)."""
    return ACTS.get(act, act)
