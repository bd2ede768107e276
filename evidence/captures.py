"""Commands executed in scap evidence: running ``sysdig`` over an item and storing what it found.

``capture_commands_extract`` is the one workflow: the item's stored file is read through the
evidence storage and checked against its recorded SHA-256 (a local path is used as it is; any
other storage is copied to a temporary file first, since sysdig needs a path), sysdig decodes
it (``evidence.scap_commands``), and in one transaction the item's ``CapturedCommand`` rows are
replaced by what this run found and its ``CommandExtraction`` records the outcome — so running
it again gives the same rows, and a failure (sysdig missing, a corrupt capture, a time-out) is
recorded with its reason and leaves no rows, never raised.
The read is a ``view`` entry in the item's custody ledger, by "system".

It is durable work (``core.jobs``): when a scap item is stored (the ``EvidenceStored`` event)
or a re-run is requested (``capture_commands_request``), the item's ``CommandExtraction`` is
set pending in that transaction and the task is queued once it commits; the job sweep queues
it again when its message was lost. The ``extract_commands`` command runs it at once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.context import AgencyContext
from accounts.permissions import require
from accounts.scoping import scope
from core.errors import InvalidInput, NotFound
from core.events import EvidenceStored, Phase, subscribe
from core.jobs import enqueue_on_commit, register_sweep, requeue_stale
from core.storage import hash_stored, open_stored
from incidents.models import CapturedCommand, CommandExtraction, ExtractionStatus

from . import scap_commands
from .models import Action, Evidence
from .services import custody_append, record_failed_verify

log = logging.getLogger(__name__)

SCAP = "scap"


def _binary() -> str:
    return getattr(settings, "DOCKET_SYSDIG_BINARY", "sysdig")


def _timeout() -> float:
    return float(getattr(settings, "DOCKET_SYSDIG_TIMEOUT_SECONDS", scap_commands.DEFAULT_TIMEOUT))


def _max_output() -> int:
    return int(
        getattr(settings, "DOCKET_SYSDIG_MAX_OUTPUT_BYTES", scap_commands.DEFAULT_MAX_OUTPUT)
    )


def _max_memory() -> int:
    return int(
        getattr(settings, "DOCKET_SYSDIG_MAX_MEMORY_BYTES", scap_commands.DEFAULT_MAX_MEMORY)
    )


EXTRACT_TASK = "evidence.tasks.extract_capture_commands"


def _queue(evidence: Evidence, now: datetime) -> None:
    """Mark the item's extraction pending (the job row) and queue it once this commits."""
    CommandExtraction.objects.update_or_create(
        evidence=evidence, defaults={"status": ExtractionStatus.PENDING, "queued_at": now}
    )
    enqueue_on_commit(EXTRACT_TASK, evidence.pk)


@subscribe(EvidenceStored, phase=Phase.IN_TRANSACTION)
def capture_commands_after_upload(event: EvidenceStored) -> None:
    """A stored scap capture is decoded by the worker once the upload commits."""
    if event.evidence.detected_format == SCAP:
        _queue(event.evidence, event.at)


def capture_commands_requeue(now: datetime) -> int:
    """The job sweep: extractions pending since before the stale limit are queued again."""
    pending = CommandExtraction.objects.filter(status=ExtractionStatus.PENDING)
    return requeue_stale(pending, EXTRACT_TASK, now, key="evidence_id")


register_sweep("evidence.command_extraction", capture_commands_requeue)


def capture_commands_request(
    *, ctx: AgencyContext, evidence: Evidence, now: datetime | None = None
) -> None:
    """Run the extraction again for an item the caller sees (ISSOs, compliance officers), in
    Celery once the caller's transaction commits."""
    now = now or timezone.now()
    require(ctx, "evidence_extract_commands")
    found = scope(Evidence.objects.all(), ctx).filter(pk=evidence.pk).first()
    if found is None:
        raise NotFound("No such evidence.")
    if found.detected_format != SCAP:
        raise InvalidInput(f"Evidence {found.pk} is not a scap capture.", field="evidence")
    with transaction.atomic():
        _queue(found, now)


@contextmanager
def _local_copy(ev: Evidence):
    """A local path holding the item's bytes, checked against the recorded SHA-256."""
    digest = hashlib.sha256()
    path = None
    try:
        path = default_storage.path(ev.storage_name)
    except NotImplementedError:
        path = None
    if path is not None:
        _check(ev, hash_stored(ev.storage_name)[0])
        yield path
        return
    tmp = tempfile.mkdtemp(prefix="docket-scap-")
    try:
        local = os.path.join(tmp, "capture.scap")
        # open_stored streams from S3 (django-storages' own S3File would copy it first).
        with open_stored(ev.storage_name) as src, open(local, "wb") as dst:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                dst.write(chunk)
        _check(ev, digest.hexdigest())
        yield local
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check(ev: Evidence, actual: str) -> None:
    if actual != ev.sha256:
        problem = f"SHA-256 mismatch while decoding commands: stored {actual}"
        record_failed_verify(
            ev=ev, problem=problem, actual=actual, actor=None, ctx=None, now=timezone.now()
        )
        raise scap_commands.ExtractionFailed(
            f"the stored file's SHA-256 is {actual}, recorded {ev.sha256}: not decoded"
        )


def capture_commands_extract(*, evidence_id: int, now: datetime | None = None) -> CommandExtraction:
    """Decode the executed commands of scap item ``evidence_id`` and store them, replacing
    those of an earlier run; returns the item's ``CommandExtraction`` (succeeded or failed,
    with the reason). A system act (the task, the command): no caller scope."""
    now = now or timezone.now()
    ev = Evidence.objects.select_related("incident").filter(pk=evidence_id).first()
    if ev is None:
        raise NotFound(f"No evidence {evidence_id}.")
    if ev.detected_format != SCAP:
        raise InvalidInput(f"Evidence {ev.pk} is not a scap capture ({ev.detected_format}).")
    extraction, _ = CommandExtraction.objects.get_or_create(evidence=ev)
    extraction.started_at = now
    try:
        with _local_copy(ev) as path:
            _record_read(ev, now)
            result = scap_commands.extract(
                path,
                binary=_binary(),
                timeout=_timeout(),
                max_output=_max_output(),
                max_memory=_max_memory(),
            )
    except (scap_commands.ExtractionFailed, OSError) as exc:
        reason = (
            str(exc)
            if isinstance(exc, scap_commands.ExtractionFailed)
            else (f"the stored file cannot be read: {exc}")
        )
        log.warning("Command extraction of evidence %s failed: %s", ev.pk, reason)
        with transaction.atomic():
            # The rows are what the last run found: none, when it failed.
            CapturedCommand.objects.filter(evidence=ev).delete()
            return _finish(extraction, ExtractionStatus.FAILED, error=reason, now=now)
    with transaction.atomic():
        CapturedCommand.objects.filter(evidence=ev).delete()
        CapturedCommand.objects.bulk_create(
            [_row(ev, c) for c in result.commands], batch_size=500, ignore_conflicts=True
        )
        return _finish(
            extraction,
            ExtractionStatus.SUCCEEDED,
            commands=CapturedCommand.objects.filter(evidence=ev).count(),
            tool=result.tool,
            now=now,
        )


def _record_read(ev: Evidence, now: datetime) -> None:
    custody_append(
        evidence=ev,
        action=Action.VIEW,
        actor_name="system",
        at=now,
        note="Read by sysdig to list the commands executed in the capture.",
        data={"sha256_verified": ev.sha256, "purpose": "command extraction"},
    )


def _finish(extraction, status, *, now, error="", commands=0, tool=""):
    extraction.status = status
    extraction.error = error
    extraction.commands = commands
    extraction.tool = tool or extraction.tool
    extraction.runs += 1
    extraction.finished_at = now
    extraction.save()
    return extraction


def _row(ev: Evidence, c: scap_commands.Captured) -> CapturedCommand:
    return CapturedCommand(
        evidence=ev,
        evt_num=c.evt_num,
        time=c.time,
        time_ns=c.time_ns,
        user_name=c.user_name,
        uid=c.uid,
        pid=c.pid,
        ppid=c.ppid,
        tid=c.tid,
        process_name=c.process_name,
        parent_name=c.parent_name,
        exe=c.exe,
        cmdline=c.cmdline,
        cwd=c.cwd,
        tty=c.tty,
        container_id=c.container_id,
        container_name=c.container_name,
        container_image=c.container_image,
        k8s_namespace=c.k8s_namespace,
        k8s_pod=c.k8s_pod,
        raw=c.raw,
    )
