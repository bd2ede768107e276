"""Files in Docket's storage (a local folder, or S3 through django-storages): streamed reads,
hashing, moving a temporary file to its final name, deleting what a failed write left. Used by
evidence (uploads, downloads, verification, capture decoding) and by compliance's documents.
Imports no app."""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading

from django.core.files import File
from django.core.files.storage import default_storage

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20


class StreamFile(File):
    """A File over a stream that storages read in ``CHUNK_SIZE`` chunks."""

    DEFAULT_CHUNK_SIZE = CHUNK_SIZE


def storage_label() -> str:
    """The storage class, as recorded with each stored item."""
    cls = type(getattr(default_storage, "_wrapped", default_storage))
    return f"{cls.__module__}.{cls.__qualname__}"


def s3_object(name: str):
    """The boto3 object behind ``name`` when the storage is django-storages' S3Storage."""
    storage = getattr(default_storage, "_wrapped", default_storage)
    if not hasattr(storage, "bucket") or not hasattr(storage, "_normalize_name"):
        return None
    # django-storages/boto3: needed only when the storage is S3
    from storages.utils import clean_name

    return storage.bucket.Object(storage._normalize_name(clean_name(name)))


class S3Stream:
    """An S3 object's body read as it arrives (django-storages' ``S3File`` would first copy
    the whole object into a temporary file)."""

    def __init__(self, obj):
        # django-storages/boto3: needed only when the storage is S3
        from botocore.exceptions import ClientError

        try:
            self.body = obj.get()["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(obj.key) from exc
            raise

    def read(self, size: int = -1) -> bytes:
        return self.body.read(None if size is None or size < 0 else size)

    def close(self) -> None:
        self.body.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_stored(name: str):
    """A stored file opened for streaming reads, whatever the storage."""
    obj = s3_object(name)
    if obj is not None:
        return S3Stream(obj)
    return default_storage.open(name, "rb")


def hash_stored(name: str) -> tuple[str, int]:
    """The SHA-256 (hex) and size of a stored file, read as a stream."""
    digest, size = hashlib.sha256(), 0
    with open_stored(name) as fh:
        while chunk := fh.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def promote(temp_name: str, final_name: str) -> str:
    """Move the stored temporary file to its final name: a rename on a filesystem, a
    server-side copy then delete on S3 (no byte passes through Docket), else copy and
    delete through the storage API."""
    source = s3_object(temp_name)
    if source is not None:
        target = s3_object(final_name)
        if default_storage.exists(final_name):
            raise FileExistsError(final_name)
        storage = getattr(default_storage, "_wrapped", default_storage)
        extra = {
            k: v
            for k, v in storage.get_object_parameters(final_name).items()
            if k in ("ServerSideEncryption", "SSEKMSKeyId", "StorageClass")
        }
        target.copy(
            {"Bucket": source.bucket_name, "Key": source.key},
            ExtraArgs=extra or None,
            Config=storage.transfer_config,
        )
        default_storage.delete(temp_name)
        return final_name
    if hasattr(default_storage, "path"):
        try:
            src, dst = default_storage.path(temp_name), default_storage.path(final_name)
        except NotImplementedError:
            pass
        else:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if os.path.exists(dst):
                raise FileExistsError(final_name)
            os.replace(src, dst)
            return final_name
    with default_storage.open(temp_name, "rb") as fh:
        saved = default_storage.save(final_name, File(fh))
    default_storage.delete(temp_name)
    return saved


def discard(name: str | None) -> None:
    """Delete what a failed write left (a missing name is fine); a failure is logged, never
    raised, so it cannot hide the error being raised."""
    if not name:
        return
    try:
        default_storage.delete(name)
    except Exception:  # cleanup must not hide the error being raised
        logger.exception("Could not delete %s after a failed upload", name)


class BackgroundHash:
    """A hashlib digest computed in a thread of its own. hashlib releases the GIL while it
    hashes a large buffer, so SHA-256 and MD5 run beside each other and beside the reading
    of the request and the writing to storage (on one thread the two digests cost more than
    the rest of an upload together). The chunk objects are shared, not copied; at most
    ``WAITING`` of them wait, so memory stays bounded. ``stop()`` ends and joins the thread;
    it is safe to call more than once, and nothing may be fed after it."""

    WAITING = 4

    def __init__(self, name: str):
        self._hash = hashlib.new(name, usedforsecurity=name != "md5")
        self._queue: queue.Queue = queue.Queue(self.WAITING)
        self._thread: threading.Thread | None = None
        self._stopped = False

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._hash.update(chunk)

    def update(self, chunk) -> None:
        if self._stopped:
            raise RuntimeError("this digest was stopped; nothing more can be hashed")
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"evidence-{self._hash.name}", daemon=True
            )
            self._thread.start()
        self._queue.put(chunk if isinstance(chunk, bytes) else bytes(chunk))

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()

    def hexdigest(self) -> str:
        self.stop()
        return self._hash.hexdigest()


class LimitExceeded(Exception):
    """A stream read past its byte limit."""

    def __init__(self, limit: int):
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


class HashingReader:
    """A source as storage reads it (wrap it in ``StreamFile``): each chunk is counted against
    ``limit`` (``LimitExceeded`` past it), fed to every digest of ``digests`` (hashlib objects
    or ``BackgroundHash``es, by name) and to ``accept`` (a hook for subclasses that inspect
    the bytes on their way through). It cannot seek, except to rewind before the first read,
    as storages do."""

    closed = False

    def __init__(self, source, *, limit: int, digests: dict):
        self.source, self.limit, self.digests = source, limit, digests
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.read_source(CHUNK_SIZE if size is None or size < 0 else size)
        if not chunk:
            return b""
        self.size += len(chunk)
        if self.size > self.limit:
            raise LimitExceeded(self.limit)
        for digest in self.digests.values():
            digest.update(chunk)
        self.accept(chunk)
        return chunk

    def read_source(self, size: int) -> bytes:
        return self.source.read(size)

    def accept(self, chunk: bytes) -> None:
        """Called with each chunk once counted and hashed."""

    def hexdigest(self, name: str) -> str:
        return self.digests[name].hexdigest()

    def seekable(self) -> bool:
        return False  # S3 uploads (s3transfer) then read it as a stream, in parts

    def readable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset == 0 and whence == 0 and self.size == 0:
            return 0  # storages rewind before reading: nothing was read yet
        raise OSError("an upload stream cannot seek")
