"""Every write to evidence and its custody ledger goes through here: the API, pages, commands.

The upload is one validator chain over one pass of the bytes (STYLE: size → type sniffing by
content → format validation → store): each chunk read from the source is counted against the
size limit, hashed (SHA-256 and MD5), fed to the format inspector and written to storage under
a temporary name. Only when the whole file passed is it moved to its final name and its row
and first custody entries written, in one transaction. A rejection, an interruption or any
error on the way deletes whatever was written: no file, no row.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.context import AgencyContext, AgencyContextError, context_for
from accounts.labels import field_label, first_error
from accounts.models import Membership, Role
from accounts.permissions import require
from accounts.scoping import members_who_see, scope
from core import ledger
from core.errors import Conflict, InvalidInput, NotFound, NotPermitted
from core.events import EvidenceStored, publish
from core.time import format_local
from incidents.models import Incident

from . import formats
from .errors import IntegrityFailure, TooLarge, UploadInterrupted
from .models import Action, CustodyEntry, CustodyTransfer, Evidence, Kind, TransferState

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10 << 30
CHUNK_SIZE = 1 << 20
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


def _storage_label() -> str:
    cls = type(getattr(default_storage, "_wrapped", default_storage))
    return f"{cls.__module__}.{cls.__qualname__}"


# --- the custody ledger ------------------------------------------------------------------------


def custody_append(
    *,
    evidence: Evidence,
    action: str,
    actor=None,
    actor_name: str | None = None,
    ctx: AgencyContext | None = None,
    at: datetime | None = None,
    note: str = "",
    from_person=None,
    to_person=None,
    location: str = "",
    data: dict | None = None,
) -> CustodyEntry:
    """Append one entry to ``evidence``'s ledger, chained to the one before. The evidence row
    is locked for the rest of the transaction so two appends cannot take the same ``seq``."""
    if action not in Action.values:
        raise InvalidInput(f"Unknown custody action {action!r}.")
    with transaction.atomic():
        locked = (
            Evidence.objects.select_for_update().only("pk", "uid", "sha256").get(pk=evidence.pk)
        )
        genesis = ledger.genesis_hash(locked.uid, locked.sha256)
        last = (
            CustodyEntry.objects.filter(evidence_id=locked.pk)
            .order_by("-seq")
            .values("seq", "entry_hash")
            .first()
        )
        entry = CustodyEntry(
            evidence_id=locked.pk,
            seq=(last["seq"] + 1) if last else 1,
            action=action,
            actor=actor,
            actor_name=actor_name if actor_name is not None else _person(actor),
            actor_roles=_roles_text(ctx),
            at=_now(at),
            note=note,
            from_person=from_person,
            to_person=to_person,
            location=location,
            data=data or {},
            prev_hash=last["entry_hash"] if last else genesis,
        )
        entry.entry_hash = ledger.entry_hash(entry.hashed_fields(locked.uid), entry.prev_hash)
        entry.save()
        return entry


def ledger_check(evidence: Evidence, entries=None) -> list[str]:
    """The breaks in ``evidence``'s chain (empty when it holds). ``entries`` defaults to the
    stored ledger; a test may pass a modified copy."""
    if entries is None:
        entries = evidence.custody.order_by("seq")
    return ledger.check_chain(
        ((e.seq, e.hashed_fields(evidence.uid), e.prev_hash, e.entry_hash) for e in entries),
        ledger.genesis_hash(evidence.uid, evidence.sha256),
    )


@dataclass
class CheckResult:
    evidence: Evidence
    ok: bool
    problems: list[str]

    def line(self) -> str:
        ev = self.evidence
        head = f"{'OK' if self.ok else 'FAILED'} evidence {ev.pk} {ev.incident.number} "
        head += repr(ev.original_filename)
        return head if self.ok else f"{head}: {'; '.join(self.problems)}"


def ledger_verify() -> list[CheckResult]:
    """Walk every item's custody chain (``manage.py verify_ledger``)."""
    results = []
    for ev in Evidence.objects.select_related("incident").order_by("pk").iterator(chunk_size=200):
        problems = ledger_check(ev)
        results.append(CheckResult(ev, not problems, problems))
    return results


# --- stored files ------------------------------------------------------------------------------


def _s3_object(name: str):
    """The boto3 object behind ``name`` when the storage is django-storages' S3Storage."""
    storage = getattr(default_storage, "_wrapped", default_storage)
    if not hasattr(storage, "bucket") or not hasattr(storage, "_normalize_name"):
        return None
    from storages.utils import clean_name

    return storage.bucket.Object(storage._normalize_name(clean_name(name)))


class _S3Stream:
    """An S3 object's body read as it arrives (django-storages' ``S3File`` would first copy
    the whole object into a temporary file)."""

    def __init__(self, obj):
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
    obj = _s3_object(name)
    if obj is not None:
        return _S3Stream(obj)
    return default_storage.open(name, "rb")


def hash_stored(name: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open_stored(name) as fh:
        while chunk := fh.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _stored_problem(ev: Evidence) -> tuple[str | None, str, int | None]:
    """(problem or None, SHA-256 found, size found) for the stored file of ``ev`` ("" and
    ``None`` when the file is missing)."""
    try:
        actual, size = hash_stored(ev.storage_name)
    except FileNotFoundError:
        return "the stored file is missing", "", None
    if actual != ev.sha256:
        return f"SHA-256 of the stored file is {actual}, recorded {ev.sha256}", actual, size
    if size != ev.size:
        return f"the stored file has {size} bytes, recorded {ev.size}", actual, size
    return None, actual, size


def _alert_admins(ev: Evidence, problem: str) -> None:
    """Tell the agency's administrators that an item failed verification."""
    agency = ev.incident.agency
    emails = sorted(
        {
            m.user.email
            for m in Membership.objects.filter(agency=agency, role=Role.AGENCY_ADMIN)
            .select_related("user")
            .only("user__email")
            if m.user.email
        }
    )
    logger.error("Evidence %s of %s failed verification: %s", ev.pk, ev.incident.number, problem)
    if emails:
        send_mail(
            f"[Docket] Evidence integrity failure in {ev.incident.number}",
            f"Evidence {ev.pk} ({ev.original_filename}) of incident {ev.incident.number} no "
            f"longer matches what was recorded at upload: {problem}.\n\nDownloads of it are "
            "refused until it is investigated.",
            None,
            emails,
            fail_silently=True,
        )


def record_failed_verify(
    ev: Evidence, problem: str, actual: str, *, actor, ctx, now, size: int | None = None
) -> None:
    """A failed ``verify`` entry: what was found (``sha256``, ``size``; empty when the file is
    missing) beside the problem. The item shows it as its integrity status
    (``evidence.integrity``) until a later check finds the file intact."""
    data = {"ok": False, "sha256": actual}
    if size is not None:
        data["size"] = size
    # Its own transaction: the failure must stay on record although the caller raises.
    with transaction.atomic():
        custody_append(
            evidence=ev,
            action=Action.VERIFY,
            actor=actor,
            actor_name=None if actor is not None else "system",
            ctx=ctx,
            at=now,
            note=f"FAILED: {problem}",
            data=data,
        )
    _alert_admins(ev, problem)


def evidence_verify_all(*, now: datetime | None = None) -> list[CheckResult]:
    """Re-hash every stored file against its recorded SHA-256 and size; each check is a
    ``verify`` custody entry (``manage.py verify_evidence``, the Celery task)."""
    results = []
    for ev in (
        Evidence.objects.select_related("incident__agency").order_by("pk").iterator(chunk_size=200)
    ):
        problem, actual, size = _stored_problem(ev)
        if problem:
            record_failed_verify(
                ev, problem, actual, actor=None, ctx=None, now=_now(now), size=size
            )
        else:
            custody_append(
                evidence=ev,
                action=Action.VERIFY,
                actor_name="system",
                at=_now(now),
                note="SHA-256 and size match the upload.",
                data={"ok": True, "sha256": actual},
            )
        results.append(CheckResult(ev, problem is None, [problem] if problem else []))
    return results


class VerifyingFile:
    """A stored file handed out for reading, re-hashed on the way: at its end a mismatch
    raises ``IntegrityFailure`` (cutting a streamed response short) instead of ending
    cleanly, after ``on_mismatch(problem, sha256, size)`` recorded it."""

    def __init__(self, fh, evidence: Evidence, on_mismatch=None):
        self.fh = fh
        self.evidence = evidence
        self.digest = hashlib.sha256()
        self.size = 0
        self.on_mismatch = on_mismatch
        self.name = ""  # FileResponse: no path to look at; Content-Length is set by the view

    def read(self, size: int = -1) -> bytes:
        chunk = self.fh.read(size)
        if chunk:
            self.digest.update(chunk)
            self.size += len(chunk)
        elif self.digest.hexdigest() != self.evidence.sha256:
            actual = self.digest.hexdigest()
            if self.on_mismatch is not None:
                on_mismatch, self.on_mismatch = self.on_mismatch, None  # once
                on_mismatch(
                    f"the stored file changed while it was being read: SHA-256 {actual}, "
                    f"recorded {self.evidence.sha256}",
                    actual,
                    self.size,
                )
            raise IntegrityFailure("The stored file changed while it was being read.")
        return chunk

    def close(self) -> None:
        self.fh.close()


def evidence_open(
    *, ctx: AgencyContext, evidence: Evidence, purpose: str, now: datetime | None = None
) -> VerifyingFile:
    """Open an item for reading by anyone who may see its incident (auditors included). The
    file is re-hashed first; a mismatch is recorded as a failed ``verify`` entry, alerts the
    agency administrators and raises ``IntegrityFailure``. Otherwise the access is logged
    (``view`` or ``download``) before the file is handed out, itself re-hashed on the way."""
    if purpose not in (Action.VIEW, Action.DOWNLOAD):
        raise InvalidInput("The purpose must be 'view' or 'download'.", field="purpose")
    now = _now(now)
    ev = (
        scope(Evidence.objects.select_related("incident__agency"), ctx)
        .filter(pk=evidence.pk)
        .first()
    )
    if ev is None:
        raise NotFound("No such evidence.")
    problem, actual, size = _stored_problem(ev)
    if problem:
        record_failed_verify(ev, problem, actual, actor=ctx.user, ctx=ctx, now=now, size=size)
        raise IntegrityFailure(
            f"Evidence {ev.pk} failed verification ({problem}); it is not handed out and the "
            "agency administrators were alerted."
        )
    data = {"sha256_verified": actual}
    note = ""
    if ev.withdrawn_at is not None:
        data["withdrawn"] = True
        note = f"Withdrawn item (since {ev.withdrawn_at.isoformat()}: {ev.withdrawn_reason})."
    custody_append(
        evidence=ev,
        action=purpose,
        actor=ctx.user,
        ctx=ctx,
        at=now,
        note=note,
        location=f"{_storage_label()}:{ev.storage_name}",
        data=data,
    )

    def on_mismatch(problem: str, found: str, found_size: int) -> None:
        # Found only at the end of the read: recorded like any failed check, so the item
        # shows the failure (the time is that of the discovery, not of the opening).
        record_failed_verify(
            ev, problem, found, actor=ctx.user, ctx=ctx, now=timezone.now(), size=found_size
        )

    return VerifyingFile(open_stored(ev.storage_name), ev, on_mismatch=on_mismatch)


# --- access, verification, export, withdrawal ----------------------------------------------


def _in_scope(ctx: AgencyContext, evidence: Evidence, *, lock: bool = False) -> Evidence:
    queryset = Evidence.objects.select_related("incident__agency", "uploaded_by")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    ev = scope(queryset, ctx).filter(pk=evidence.pk).first()
    if ev is None:
        raise NotFound("No such evidence.")
    return ev


def evidence_view(*, ctx: AgencyContext, evidence: Evidence, now: datetime | None = None):
    """Record that ``ctx.user`` looked at the item's record (its page: metadata, hashes,
    ledger). The file is not read; reading it goes through ``evidence_open``."""
    ev = _in_scope(ctx, evidence)
    return custody_append(
        evidence=ev,
        action=Action.VIEW,
        actor=ctx.user,
        ctx=ctx,
        at=_now(now),
        note="Record viewed (metadata, hashes and ledger).",
        data={"what": "record"},
    )


def evidence_verify(
    *, ctx: AgencyContext, evidence: Evidence, now: datetime | None = None
) -> CheckResult:
    """Re-hash the stored file now, on request of anyone who sees the item; the result is a
    ``verify`` custody entry either way (a failure also alerts the agency administrators)."""
    now = _now(now)
    ev = _in_scope(ctx, evidence)
    problem, actual, size = _stored_problem(ev)
    if problem:
        record_failed_verify(ev, problem, actual, actor=ctx.user, ctx=ctx, now=now, size=size)
        return CheckResult(ev, False, [problem])
    custody_append(
        evidence=ev,
        action=Action.VERIFY,
        actor=ctx.user,
        ctx=ctx,
        at=now,
        note="SHA-256 and size match the upload.",
        data={"ok": True, "sha256": actual},
    )
    return CheckResult(ev, True, [])


def custody_export(
    *,
    ctx: AgencyContext,
    evidence: Evidence,
    destination: str,
    package: str = "",
    now: datetime | None = None,
) -> CustodyEntry:
    """Record that the item is copied out of Docket (into an evidence package, to an outside
    party): an ``export`` entry naming where it went, written only after the stored file was
    re-hashed and found intact. Withdrawn items are not exported."""
    now = _now(now)
    if not destination or not destination.strip():
        raise InvalidInput("Say where the item is exported to.", field="destination")
    ev = _in_scope(ctx, evidence)
    if ev.withdrawn:
        raise Conflict(f"Evidence {ev.pk} was withdrawn; it is not exported.")
    problem, actual, size = _stored_problem(ev)
    if problem:
        record_failed_verify(ev, problem, actual, actor=ctx.user, ctx=ctx, now=now, size=size)
        raise IntegrityFailure(f"Evidence {ev.pk} failed verification ({problem}); not exported.")
    return custody_append(
        evidence=ev,
        action=Action.EXPORT,
        actor=ctx.user,
        ctx=ctx,
        at=now,
        note=f"Exported to {destination.strip()}.",
        location=destination.strip()[:500],
        data={"sha256_verified": actual, "package": package},
    )


def evidence_withdraw(
    *, ctx: AgencyContext, evidence: Evidence, reason: str, now: datetime | None = None
) -> Evidence:
    """An approving official withdraws the item, with a reason: it keeps its file and ledger
    but is left out of new reports and evidence packages. Once only."""
    now = _now(now)
    require(ctx, "evidence_withdraw")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("A reason for the withdrawal is required.", field="reason")
    with transaction.atomic():
        ev = _in_scope(ctx, evidence, lock=True)
        if ev.withdrawn:
            raise Conflict(
                f"Evidence {ev.pk} was already withdrawn "
                f"({format_local(ev.withdrawn_at, ev.incident.agency.tz)})."
            )
        ev.withdrawn_at, ev.withdrawn_by, ev.withdrawn_reason = now, ctx.user, reason
        ev.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawn_reason"])
        custody_append(
            evidence=ev,
            action=Action.WITHDRAW,
            actor=ctx.user,
            ctx=ctx,
            at=now,
            note=reason,
        )
    return ev


# --- transfer of custody -----------------------------------------------------------------


def custodian(evidence: Evidence):
    """Who holds the item now: the receiver of its last acknowledged transfer, else its
    uploader. Read from the ledger, which is the record of custody."""
    last = (
        CustodyEntry.objects.filter(evidence_id=evidence.pk, action=Action.TRANSFER)
        .order_by("-seq")
        .select_related("to_person")
        .first()
    )
    return last.to_person if last is not None else evidence.uploaded_by


def may_offer_transfer(ctx: AgencyContext, evidence: Evidence, holder=None) -> bool:
    holder = holder if holder is not None else custodian(evidence)
    return ctx.may("custody_transfer_any") or holder.pk == ctx.user.pk


def transfer_candidates(ctx: AgencyContext, evidence: Evidence, holder=None) -> list:
    """Members of the item's agency who could receive it: those who see its incident, by the
    rules of ``accounts.scoping`` read from their memberships in a fixed number of queries
    (``transfer_offer`` checks the one chosen through ``scope`` itself)."""
    holder = holder if holder is not None else custodian(evidence)
    seeing = {
        m.user_id: m.user
        for m in members_who_see(evidence.incident)
        .filter(user__is_active=True)
        .exclude(user=holder)
        .select_related("user")
    }
    return sorted(seeing.values(), key=lambda u: u.get_username())


def _sees(user, agency, evidence: Evidence) -> bool:
    try:
        theirs = context_for(user, agency)
    except AgencyContextError:
        return False
    return scope(Evidence.objects.all(), theirs).filter(pk=evidence.pk).exists()


def transfer_offer(
    *,
    ctx: AgencyContext,
    evidence: Evidence,
    to_user,
    note: str = "",
    now: datetime | None = None,
) -> CustodyTransfer:
    """Offer custody of the item to ``to_user`` (a member of the same agency who sees the
    incident). Only the current custodian or an agency administrator may; one pending offer
    per item. Custody does not change until the receiver acknowledges."""
    now = _now(now)
    with transaction.atomic():
        ev = _in_scope(ctx, evidence, lock=True)
        holder = custodian(ev)
        if not may_offer_transfer(ctx, ev, holder):
            raise NotPermitted(
                f"Only the current custodian ({_person(holder)}) or an agency administrator may "
                "transfer custody."
            )
        if to_user is None or not to_user.is_active or not _sees(to_user, ev.incident.agency, ev):
            raise InvalidInput(
                "The receiver must be an active member of this agency who can see the incident.",
                field="to_user",
            )
        if to_user.pk == holder.pk:
            raise InvalidInput(f"{_person(holder)} already holds the item.", field="to_user")
        if ev.transfers.filter(state=TransferState.PENDING).exists():
            raise Conflict("A transfer of this item is already awaiting acknowledgement.")
        return CustodyTransfer.objects.create(
            evidence=ev,
            from_person=holder,
            to_person=to_user,
            requested_by=ctx.user,
            requested_at=now,
            note=(note or "").strip(),
        )


def _pending(ctx: AgencyContext, transfer: CustodyTransfer) -> CustodyTransfer:
    found = (
        scope(CustodyTransfer.objects.select_for_update(of=("self",)), ctx)
        .filter(pk=transfer.pk)
        .select_related("evidence", "from_person", "to_person", "requested_by")
        .first()
    )
    if found is None:
        raise NotFound("No such transfer.")
    if found.state != TransferState.PENDING:
        raise Conflict(f"This transfer was already {found.get_state_display().lower()}.")
    return found


def transfer_accept(
    *, ctx: AgencyContext, transfer: CustodyTransfer, note: str = "", now: datetime | None = None
) -> CustodyEntry:
    """The receiver acknowledges: custody passes, and the ledger gets a ``transfer`` entry
    from → to, with the acknowledging receiver as its actor."""
    now = _now(now)
    with transaction.atomic():
        offer = _pending(ctx, transfer)
        if offer.to_person_id != ctx.user.pk:
            raise NotPermitted("Only the receiver may acknowledge a transfer.")
        ev = _in_scope(ctx, offer.evidence, lock=True)
        if custodian(ev).pk != offer.from_person_id:
            raise Conflict("Custody changed since the offer; it can no longer be acknowledged.")
        offer.state, offer.decided_at, offer.decided_by = TransferState.ACCEPTED, now, ctx.user
        offer.decision_note = (note or "").strip()
        offer.save(update_fields=["state", "decided_at", "decided_by", "decision_note"])
        words = [f"Custody from {_person(offer.from_person)} to {_person(offer.to_person)}"]
        if offer.requested_by_id != offer.from_person_id:
            words.append(f"offered by {_person(offer.requested_by)}")
        text = ", ".join(words) + "."
        for extra in (offer.note, offer.decision_note):
            if extra:
                text += f" {extra}"
        return custody_append(
            evidence=ev,
            action=Action.TRANSFER,
            actor=ctx.user,
            ctx=ctx,
            at=now,
            note=text,
            from_person=offer.from_person,
            to_person=offer.to_person,
            data={
                "transfer": offer.pk,
                "offered_by": offer.requested_by.get_username(),
                "offered_at": ledger.entry_fields(at=offer.requested_at)["at"],
            },
        )


def transfer_decline(
    *, ctx: AgencyContext, transfer: CustodyTransfer, note: str = "", now: datetime | None = None
) -> CustodyTransfer:
    """The receiver declines, or the one who offered (or an agency administrator) withdraws
    the offer: nothing changes hands and the ledger is untouched."""
    now = _now(now)
    with transaction.atomic():
        offer = _pending(ctx, transfer)
        if offer.to_person_id == ctx.user.pk:
            offer.state = TransferState.DECLINED
        elif offer.requested_by_id == ctx.user.pk or ctx.may("custody_transfer_any"):
            offer.state = TransferState.CANCELLED
        else:
            raise NotPermitted(
                "Only the receiver, the one who offered or an agency administrator may decline "
                "or cancel a transfer."
            )
        offer.decided_at, offer.decided_by = now, ctx.user
        offer.decision_note = (note or "").strip()
        offer.save(update_fields=["state", "decided_at", "decided_by", "decision_note"])
        return offer


# --- upload ----------------------------------------------------------------------------------


class _Rejected(Exception):
    def __init__(self, error):
        self.error = error


class _BackgroundHash:
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


class _Intake:
    """The source as storage reads it: every chunk is counted against the limit, hashed and
    inspected on its way through. A context manager: however the upload ends (stored,
    refused for size, format or kind, interrupted, a storage error), leaving the ``with``
    block stops and joins both hash threads before the service returns or raises."""

    def __init__(self, source, *, limit: int, kind: str, max_decompressed: int):
        self.source = source
        self.limit = limit
        self.kind = kind
        self.size = 0
        self.sha256 = _BackgroundHash("sha256")
        self.md5 = _BackgroundHash("md5")
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
            return self._read(size)
        except _Rejected:
            self.stop_hashing()  # storage may hold on to the intake; end the threads now
            raise

    def _read(self, size: int) -> bytes:
        try:
            chunk = self.source.read(CHUNK_SIZE if size is None or size < 0 else size)
        except Exception as exc:
            raise _Rejected(
                UploadInterrupted(
                    f"The upload was interrupted after {self.size} bytes ({exc.__class__.__name__}"
                    f"{': ' + str(exc) if str(exc) else ''}); nothing was kept."
                )
            ) from exc
        if not chunk:
            return b""
        self.size += len(chunk)
        if self.size > self.limit:
            raise _Rejected(
                TooLarge(
                    f"The file is larger than the limit of {self.limit} bytes; nothing was kept.",
                    limit=self.limit,
                )
            )
        self.sha256.update(chunk)
        self.md5.update(chunk)
        self._inspect(chunk)
        return chunk

    def _inspect(self, chunk: bytes) -> None:
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

    closed = False

    def seekable(self) -> bool:
        return False  # S3 uploads (s3transfer) then read it as a stream, in parts

    def readable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset == 0 and whence == 0 and self.size == 0:
            return 0  # storages rewind before reading: nothing was read yet
        raise OSError("an upload stream cannot seek")

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


class _IntakeFile(File):
    DEFAULT_CHUNK_SIZE = CHUNK_SIZE


def _promote(temp_name: str, final_name: str) -> str:
    """Move the stored temporary file to its final name: a rename on a filesystem, a
    server-side copy then delete on S3 (no byte passes through Docket), else copy and
    delete through the storage API."""
    source = _s3_object(temp_name)
    if source is not None:
        target = _s3_object(final_name)
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


def _discard(name: str | None) -> None:
    if not name:
        return
    try:
        default_storage.delete(name)
    except Exception:  # cleanup must not hide the error being raised
        logger.exception("Could not delete %s after a failed upload", name)


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
                temp_name = default_storage.save(temp_name, _IntakeFile(intake, name=temp_name))
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
            final_name = _promote(temp_name, f"evidence/{abbreviation}/{incident.number}/{uid.hex}")
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
                draft.storage_backend = _storage_label()
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
                publish(EvidenceStored(ctx=ctx, at=now, evidence=draft))
            kept = True
            return draft
        finally:
            if not kept:
                _discard(temp_name)
                _discard(final_name)


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
