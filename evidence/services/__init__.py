"""Every write to evidence and its custody ledger goes through here: the API, pages, commands.

One module a concern: ``intake`` (the upload's validator chain over one pass of the bytes),
``custody`` (the hash-chained ledger), ``reads`` (verified downloads, views, verification,
export entries, withdrawal), ``transfers`` (custody offered and acknowledged), ``common``
(limits and names). Files in storage are ``core.storage``'s. This package's names below are
the evidence services' public API.
"""

from .common import METADATA_FIELDS, clean_filename, max_upload_bytes
from .custody import CheckResult, custody_append, ledger_check, ledger_verify
from .intake import evidence_upload
from .reads import (
    VerifyingFile,
    custody_export,
    evidence_open,
    evidence_verify,
    evidence_verify_all,
    evidence_view,
    evidence_withdraw,
    record_failed_verify,
)
from .transfers import (
    custodian,
    may_offer_transfer,
    transfer_accept,
    transfer_candidates,
    transfer_decline,
    transfer_offer,
)

__all__ = [
    "METADATA_FIELDS",
    "CheckResult",
    "VerifyingFile",
    "clean_filename",
    "custodian",
    "custody_append",
    "custody_export",
    "evidence_open",
    "evidence_upload",
    "evidence_verify",
    "evidence_verify_all",
    "evidence_view",
    "evidence_withdraw",
    "ledger_check",
    "ledger_verify",
    "max_upload_bytes",
    "may_offer_transfer",
    "record_failed_verify",
    "transfer_accept",
    "transfer_candidates",
    "transfer_decline",
    "transfer_offer",
]
