import hashlib
import re
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

PREFIX = "dkt_"
# secrets.token_urlsafe(32): 43 characters of the URL-safe base64 alphabet.
TOKEN_FORMAT = re.compile(r"^dkt_[A-Za-z0-9_-]{43}$")
# last_used_at is refreshed at most this often: a sensor posting every few milliseconds must
# not turn every alert into a write to the token row.
TOUCH_INTERVAL = timedelta(minutes=1)


def token_digest(token: str) -> str:
    """The sha256 (hex) under which an ingest token is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


class IngestToken(models.Model):
    """A bearer token with which a detection source (Falco, falcosidekick) posts alerts for one
    agency to ``/api/v1/ingest/falco``.

    Only the token's sha256 is stored: the plain token (``dkt_`` + 43 URL-safe characters) is
    shown once, when it is issued, and cannot be read back. ``hint`` keeps its first characters
    so people can tell tokens apart. A revoked token is refused from then on; its row stays,
    since detections name the token that delivered them.
    """

    agency_path = "agency"

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.CASCADE, related_name="ingest_tokens"
    )
    name = models.CharField(max_length=100, help_text="What posts with it, e.g. 'falco-prod'.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=16, editable=False)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["agency__abbreviation", "name", "pk"]

    def __str__(self) -> str:
        state = " (revoked)" if self.revoked_at else ""
        return f"{self.agency.abbreviation} ingest token {self.name} {self.hint}…{state}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(
        cls, *, agency, name: str, created_by=None, now: datetime | None = None
    ) -> tuple["IngestToken", str]:
        """A new token for ``agency``; returns the row and the plain token (only here)."""
        plain = PREFIX + secrets.token_urlsafe(32)
        row = cls.objects.create(
            agency=agency,
            name=name,
            token_hash=token_digest(plain),
            hint=plain[: len(PREFIX) + 6],
            created_at=now or timezone.now(),
            created_by=created_by,
        )
        return row, plain

    @classmethod
    def lookup(cls, plain: str) -> "IngestToken | None":
        """The token row for ``plain`` (revoked ones too: the caller tells them apart)."""
        return cls.objects.select_related("agency").filter(token_hash=token_digest(plain)).first()

    def revoke(self, *, now: datetime | None = None) -> None:
        """Refuse this token from now on. Idempotent: the first revocation time stays."""
        now = now or timezone.now()
        updated = IngestToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if updated:
            self.revoked_at = now
        else:
            self.refresh_from_db(fields=["revoked_at"])

    def touch(self, *, now: datetime | None = None) -> None:
        """Record a use, writing at most once per ``TOUCH_INTERVAL``."""
        now = now or timezone.now()
        if self.last_used_at is not None and now - self.last_used_at < TOUCH_INTERVAL:
            return
        IngestToken.objects.filter(pk=self.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_INTERVAL)
        ).update(last_used_at=now)
        self.last_used_at = now
