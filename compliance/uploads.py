"""Documents streamed to storage with their SHA-256 computed on the way (risk assessment reports).

One pass over the bytes: each chunk read is counted against the size limit, hashed and written
to storage under a name of our making. Anything that goes wrong deletes what was written, so a
rejected upload leaves no file. (Storage itself — streamed
files, deletion of what a failed write left — is ``core.storage``'s, shared with evidence,
whose upload chain adds format validation.)
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage

from core.errors import InvalidInput
from core.storage import HashingReader, LimitExceeded, StreamFile, discard

DEFAULT_MAX_BYTES = 100 << 20


def max_document_bytes() -> int:
    return getattr(settings, "DOCKET_DOCUMENT_MAX_BYTES", DEFAULT_MAX_BYTES)


@dataclass(frozen=True)
class StoredDocument:
    name: str
    sha256: str
    size: int


def store_hashed(
    fileobj, *, folder: str, field: str = "document", label: str = "Document"
) -> StoredDocument:
    """Stream ``fileobj`` to ``folder/<random>`` in the default storage; its SHA-256 and size.

    Refuses an empty file and one over ``DOCKET_DOCUMENT_MAX_BYTES`` (``InvalidInput`` for
    ``field``, its message naming the ``label``); on any error, including a source that fails
    mid-read, nothing stays in storage. The caller deletes the stored file with ``discard`` if
    its own transaction fails afterwards.
    """
    limit = max_document_bytes()
    hashing = HashingReader(fileobj, limit=limit, digests={"sha256": hashlib.sha256()})
    name = f"{folder}/{uuid.uuid4().hex}"
    kept = False
    try:
        try:
            name = default_storage.save(name, StreamFile(hashing, name=name))
        except LimitExceeded:
            raise InvalidInput(
                f"{label}: the file is larger than the limit of {limit} bytes; nothing was kept.",
                field=field,
            ) from None
        if hashing.size == 0:
            raise InvalidInput(f"{label}: the file is empty.", field=field)
        kept = True
        return StoredDocument(name=name, sha256=hashing.hexdigest("sha256"), size=hashing.size)
    finally:
        if not kept:
            discard(name)
