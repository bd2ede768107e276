from core.append_only import AppendOnlyError

from .custody import Action, CustodyEntry
from .evidence import MUTABLE_FIELDS, WITHDRAWAL_FIELDS, Evidence, Kind, WriteOnceError
from .transfer import CustodyTransfer, TransferState

__all__ = [
    "MUTABLE_FIELDS",
    "WITHDRAWAL_FIELDS",
    "Action",
    "AppendOnlyError",
    "CustodyEntry",
    "CustodyTransfer",
    "Evidence",
    "Kind",
    "TransferState",
    "WriteOnceError",
]
