from .custody import Action, AppendOnlyError, CustodyEntry
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
