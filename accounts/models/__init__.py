from .agency import Agency
from .ingest_token import IngestToken
from .membership import Membership, Role
from .signin import SignInFailure

__all__ = ["Agency", "IngestToken", "Membership", "Role", "SignInFailure"]
