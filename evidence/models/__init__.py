from accounts.append_only import AppendOnlyError

from .custody import Action, CustodyEntry
from .evidence import MUTABLE_FIELDS, Evidence, Kind, WriteOnceError

__all__ = [
    "MUTABLE_FIELDS",
    "Action",
    "AppendOnlyError",
    "CustodyEntry",
    "Evidence",
    "Kind",
    "WriteOnceError",
]
