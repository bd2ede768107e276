from .agency import Agency
from .membership import Membership, Role

__all__ = ["Agency", "Membership", "Role"]
