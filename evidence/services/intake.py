"""The upload is one validator chain over one pass of the bytes (STYLE: size → type sniffing by
content → format validation → store): each chunk read from the source is counted against the
size limit, hashed (SHA-256 and MD5), fed to the format inspector and written to storage under
a temporary name. Only when the whole file passed is it moved to its final name and its row
and first custody entries written, in one transaction. A rejection, an interruption or any
error on the way deletes whatever was written: no file, no row."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction

from accounts.context import AgencyContext
from accounts.labels import field_label, first_error
from accounts.permissions import require
from accounts.scoping import scope
from audit.trail import record_for
from core.errors import InvalidInput, NotFound
from core.events import EvidenceStored, publish
from core.storage import (
    BackgroundHash,
    HashingReader,
    LimitExceeded,
    StreamFile,
    discard,
    promote,
    storage_label,
)
from evidence import formats
from evidence.errors import TooLarge, UploadInterrupted
from evidence.models import Action, Evidence, Kind
from incidents.models import Incident

from .common import (
    _GUESS_MAY_BE,
    METADATA_FIELDS,
    _max_decompressed,
    _now,
    _person,
    clean_filename,
    max_upload_bytes,
)
from .custody import custody_append

logger = logging.getLogger(__name__)


# --- upload ----------------------------------------------------------------------------------


class _Rejected(Exception):
    def __init__(self, error):
        self.error = error


class _Intake(HashingReader):
    """The source as storage reads it: every chunk is counted against the limit, hashed
    (SHA-256 and MD5, each in a thread of its own) and inspected on its way through. A context
    manager: however the upload ends (stored, refused for size, format or kind, interrupted, a
    storage error), leaving the ``with`` block stops and joins both hash threads before the
    service returns or raises."""

    def __init__(self, source, *, limit: int, kind: str, max_decompressed: int):
        self.sha256 = BackgroundHash("sha256")
        self.md5 = BackgroundHash("md5")
        super().__init__(source, limit=limit, digests={"sha256": self.sha256, "md5": self.md5})
        self.kind = kind
        self.inspector: formats.Inspector | None = formats.Inspector(
            max_decompressed=max_decompressed
        )
        self.problem: formats.FormatError | None = None
        self.guess_checked = False

    def __enter__(self) -> _Intake:
        return self

    def __exit__(self, *exc) -> None:
        self.stop_hashing()

    def stop_hashing(self) -> None:
        """End and join the hash threads (idempotent)."""
        self.sha256.stop()
        self.md5.stop()

    def read(self, size: int = -1) -> bytes:
        try:
            try:
                return super().read(size)
            except LimitExceeded:
                raise _Rejected(
                    TooLarge(
                        f"The file is larger than the limit of {self.limit} bytes; nothing "
                        "was kept.",
                        limit=self.limit,
                    )
                ) from None
        except _Rejected:
            self.stop_hashing()  # storage may hold on to the intake; end the threads now
            raise

    def read_source(self, size: int) -> bytes:
        try:
            return self.source.read(size)
        except Exception as exc:
            raise _Rejected(
                UploadInterrupted(
                    f"The upload was interrupted after {self.size} bytes ({exc.__class__.__name__}"
                    f"{': ' + str(exc) if str(exc) else ''}); nothing was kept."
                )
            ) from exc

    def accept(self, chunk: bytes) -> None:
        if self.inspector is None:
            return
        try:
            self.inspector.feed(chunk)
        except formats.FormatError as exc:
            self.problem, self.inspector = exc, None
            if self.kind != Kind.OTHER:
                raise _Rejected(_format_rejection(self.kind, exc)) from None
            return
        guess = self.inspector.format_guess
        if guess and not self.guess_checked:
            self.guess_checked = True
            self._check_guess(guess)

    def _check_guess(self, guess: str) -> None:
        """Reject from the first bytes when they already rule the declared kind out."""
        allowed = formats.KIND_FORMATS.get(self.kind)
        if allowed is None:
            return
        may_be = _GUESS_MAY_BE.get(guess, {guess})
        if may_be is not None and not (may_be & allowed):
            reason = formats.kind_mismatch(self.kind, formats.FormatInfo(guess))
            raise _Rejected(InvalidInput(f"Declared kind {self.kind!r} rejected. {reason}"))

    def finish(self) -> formats.FormatInfo | None:
        if self.inspector is None:
            return None
        try:
            return self.inspector.close()
        except formats.FormatError as exc:
            self.problem = exc
            return None


def _format_rejection(kind: str, exc: formats.FormatError) -> InvalidInput:
    return InvalidInput(
        f"The file is not a valid {formats.FORMAT_NAMES.get(exc.format or '', 'file')}"
        f" for kind {kind!r}: {exc}.",
        reason=exc.reason,
        offset=exc.offset,
    )


def _metadata(metadata: dict | None, source: str) -> dict:
    metadata = dict(metadata or {})
    unknown = sorted(set(metadata) - set(METADATA_FIELDS))
    if unknown:
        raise InvalidInput(
            f"Unknown metadata field(s): {', '.join(unknown)}; allowed: "
            f"{', '.join(METADATA_FIELDS)}."
        )
    values = {k: v for k, v in metadata.items() if v not in (None, "")}
    if source:
        values["source_description"] = source
    return values


def evidence_upload(
    *,
    ctx: AgencyContext,
    incident: Incident,
    fileobj,
    filename: str,
    kind: str,
    declared_size: int | None = None,
    collected_at: datetime | None = None,
    source: str = "",
    metadata: dict | None = None,
    now: datetime | None = None,
) -> Evidence:
    """Store ``fileobj`` as evidence of ``incident`` (ISSOs and compliance officers who see the
    incident). One pass: size limit, SHA-256 and MD5, format recognised by content and
    validated, written to a temporary name; then moved to its final name and recorded with
    its ``upload`` custody entry (preceded by ``collect`` when ``collected_at`` is given). A
    declared kind the content contradicts is refused with the reason. Whatever goes wrong,
    nothing stays behind: no file, no row."""
    now = _now(now)
    require(ctx, "evidence_upload")
    filename = clean_filename(filename)
    if kind not in Kind.values:
        raise InvalidInput(
            f"Unknown kind {kind!r}; allowed: {', '.join(Kind.values)}.", field="kind"
        )
    if collected_at is not None and collected_at > now:
        raise InvalidInput(
            f"{field_label(Evidence, 'collected_at')} cannot be in the future.",
            field="collected_at",
        )
    limit = max_upload_bytes()
    if declared_size is not None:
        if declared_size > limit:
            raise TooLarge(
                f"The file ({declared_size} bytes) is larger than the limit of {limit} bytes.",
                limit=limit,
            )
        if declared_size == 0:
            raise InvalidInput("The file is empty.")
    if not scope(Incident.objects.all(), ctx).filter(pk=incident.pk).exists():
        raise NotFound("No such incident.")
    fields = _metadata(metadata, source)
    fields.setdefault("collected_by", _person(ctx.user) if collected_at else "")
    draft = Evidence(incident_id=incident.pk, kind=kind, collected_at=collected_at, **fields)
    try:
        draft.clean_fields(
            exclude=[
                "incident",
                "original_filename",
                "size",
                "sha256",
                "md5",
                "detected_format",
                "storage_name",
                "storage_backend",
                "uploaded_at",
                "uploaded_by",
            ]
        )
    except ValidationError as exc:
        name, message = first_error(Evidence, exc)
        raise InvalidInput(message, field=name) from exc

    uid = uuid.uuid4()
    temp_name = f"evidence/tmp/{uid.hex}.part"
    final_name = None
    kept = False
    # Leaving the block stops and joins the hash threads, whatever ended the upload.
    with _Intake(fileobj, limit=limit, kind=kind, max_decompressed=_max_decompressed()) as intake:
        try:
            try:
                temp_name = default_storage.save(temp_name, StreamFile(intake, name=temp_name))
            except _Rejected as rejected:
                raise rejected.error from rejected.__cause__
            if declared_size is not None and intake.size != declared_size:
                raise UploadInterrupted(
                    f"Received {intake.size} bytes of the {declared_size} declared: the upload was "
                    "interrupted; nothing was kept."
                )
            info = intake.finish()
            if info is None and kind != Kind.OTHER:
                raise _format_rejection(kind, intake.problem)
            if info is None:  # kind "other": kept with the problem on record
                problem = intake.problem
                info = formats.FormatInfo(
                    problem.format or "data", details={"problem": str(problem)}
                )
            reason = formats.kind_mismatch(kind, info)
            if reason:
                raise InvalidInput(f"Declared kind {kind!r} rejected. {reason}", field="kind")
            abbreviation = incident.agency.abbreviation
            final_name = promote(temp_name, f"evidence/{abbreviation}/{incident.number}/{uid.hex}")
            temp_name = None
            with transaction.atomic():
                locked = (
                    scope(Incident.objects.select_for_update(of=("self",)), ctx)
                    .filter(pk=incident.pk)
                    .first()
                )
                if locked is None:
                    raise NotFound("No such incident.")
                draft.uid = uid
                draft.original_filename = filename
                draft.size = intake.size
                draft.sha256 = intake.sha256.hexdigest()
                draft.md5 = intake.md5.hexdigest()
                draft.detected_format = info.format
                draft.compression = info.compression or ""
                draft.format_details = info.details
                draft.storage_name = final_name
                draft.storage_backend = storage_label()
                draft.uploaded_at = now
                draft.uploaded_by = ctx.user
                draft.save()
                if collected_at is not None:
                    custody_append(
                        evidence=draft,
                        action=Action.COLLECT,
                        actor=ctx.user,
                        ctx=ctx,
                        at=collected_at,
                        note=_collect_note(draft),
                        location=draft.source_host or draft.source_description,
                    )
                custody_append(
                    evidence=draft,
                    action=Action.UPLOAD,
                    actor=ctx.user,
                    ctx=ctx,
                    at=now,
                    note=f"Uploaded as {filename!r} ({formats.describe(info)}).",
                    location=f"{draft.storage_backend}:{final_name}",
                    data={"sha256": draft.sha256, "md5": draft.md5, "size": draft.size},
                )
                record_for(
                    ctx,
                    "evidence_upload",
                    subject=draft,
                    subject_ref=f"{incident.number} evidence {draft.pk} {filename!r}",
                    incident=incident,
                    at=now,
                    changes={
                        "sha256": {"before": None, "after": draft.sha256},
                        "size": {"before": None, "after": draft.size},
                        "kind": {"before": None, "after": draft.kind},
                    },
                )
                publish(EvidenceStored(ctx=ctx, at=now, evidence=draft))
            kept = True
            return draft
        finally:
            if not kept:
                discard(temp_name)
                discard(final_name)


def _collect_note(ev: Evidence) -> str:
    parts = [f"Collected by {ev.collected_by}" if ev.collected_by else "Collected"]
    if ev.collecting_tool:
        parts.append(f"with {ev.collecting_tool}")
    where = ", ".join(
        f"{label} {value}"
        for label, value in (
            ("host", ev.source_host),
            ("IP", ev.source_ip),
            ("namespace", ev.source_namespace),
            ("pod", ev.source_pod),
            ("container", ev.source_container),
            ("image", ev.source_image),
        )
        if value
    )
    if where:
        parts.append(f"from {where}")
    return " ".join(parts) + "."
