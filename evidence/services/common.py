"""What the evidence services share: limits, the clock, names of people and files."""

from __future__ import annotations

import logging
import unicodedata
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from accounts.context import AgencyContext
from core.errors import InvalidInput
from evidence import formats

logger = logging.getLogger(__name__)


DEFAULT_MAX_BYTES = 10 << 30
METADATA_FIELDS = (
    "collected_by",
    "collecting_tool",
    "source_host",
    "source_ip",
    "source_container",
    "source_pod",
    "source_namespace",
    "source_image",
    "description",
)
# The formats a kind's first bytes may still turn out to be (the block walk or gzip decide).
_GUESS_MAY_BE = {
    "blocks": {"scap", "pcapng"},
    "gzip": None,  # anything: the content inside decides
    "json": {"json", "jsonl"},
}


def max_upload_bytes() -> int:
    return getattr(settings, "DOCKET_EVIDENCE_MAX_BYTES", DEFAULT_MAX_BYTES)


def _max_decompressed() -> int:
    return getattr(
        settings, "DOCKET_EVIDENCE_MAX_DECOMPRESSED_BYTES", formats.DEFAULT_MAX_DECOMPRESSED
    )


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def clean_filename(name: str | None) -> str:
    """The uploader's file name, kept as a label only (files are stored under names of our
    making). Path separators and control or format characters (e.g. right-to-left overrides
    that disguise an extension) are refused, not silently stripped."""
    if not name or not name.strip():
        raise InvalidInput("A file name is required.", field="filename")
    name = unicodedata.normalize("NFC", name)
    if "/" in name or "\\" in name:
        raise InvalidInput("The file name may not contain path separators.", field="filename")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise InvalidInput(
            "The file name may not contain control or formatting characters.", field="filename"
        )
    if name.strip(" .") == "":
        raise InvalidInput("The file name names no file.", field="filename")
    if len(name) > 255:
        raise InvalidInput("The file name is longer than 255 characters.", field="filename")
    return name


def _roles_text(ctx: AgencyContext | None) -> str:
    return ",".join(sorted(ctx.roles)) if ctx is not None else ""


def _person(user) -> str:
    if user is None:
        return ""
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return f"{full} ({user.get_username()})" if full else user.get_username()
