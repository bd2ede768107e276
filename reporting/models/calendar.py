import hashlib
import secrets

from django.conf import settings
from django.db import models


def token_digest(token: str) -> str:
    """The sha256 (hex) under which a calendar token is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


class CalendarToken(models.Model):
    """The secret in a user's calendar feed URL. Only its sha256 is stored: the plain token is
    shown once, when it is issued or rotated, and cannot be read back afterwards.

    Not agency data: the feed built from it covers every agency the user holds a role in, each
    through ``accounts.scoping.scope`` with the user's context there.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_token"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    rotated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"

    @classmethod
    def issue(cls, user, *, now) -> tuple["CalendarToken", str]:
        """Create or rotate ``user``'s token; returns the row and the plain token (only here)."""
        plain = secrets.token_urlsafe(32)
        row, created = cls.objects.get_or_create(
            user=user, defaults={"token_hash": token_digest(plain), "created_at": now}
        )
        if not created:
            row.token_hash, row.rotated_at = token_digest(plain), now
            row.save(update_fields=["token_hash", "rotated_at"])
        return row, plain

    @classmethod
    def lookup(cls, plain: str) -> "CalendarToken | None":
        return cls.objects.select_related("user").filter(token_hash=token_digest(plain)).first()
