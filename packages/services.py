"""Evidence packages: asking for one (a job row), building it (the worker, into storage, or the
command, into a file), downloading it, and what Docket recorded of each.

Every request, build (or failed build) and download is an audit entry (``_audit``), every item
packed an ``export`` custody entry and its audit entry (``evidence.services.custody_export``,
with the re-hash done while the item streamed).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.context import AgencyContext, AgencyContextError, context_for
from accounts.permissions import require
from accounts.scoping import scope
from audit.models import Outcome
from audit.trail import record
from core.errors import Conflict, DocketError, InvalidInput, NotFound
from core.jobs import JobState, enqueue_on_commit, register_sweep, requeue_stale
from core.storage import (
    CHUNK_SIZE,
    BackgroundHash,
    HashingReader,
    StreamFile,
    discard,
    open_stored,
    promote,
)
from evidence import services as evidence_services
from evidence.errors import IntegrityFailure
from incidents.models import Incident
from incidents.selectors import visible_incident

from .bag import BagBuild, package_name
from .models import Package

logger = logging.getLogger(__name__)

BUILD_TASK = "packages.tasks.build_package"
NO_LIMIT = 1 << 62


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def build_timeout() -> timedelta:
    """How long a build may run before another worker may take the job over."""
    return timedelta(seconds=getattr(settings, "DOCKET_PACKAGE_BUILD_TIMEOUT_SECONDS", 6 * 3600))


def _audit(
    act: str,
    *,
    ctx: AgencyContext | None,
    package: Package,
    outcome: str = Outcome.SUCCESS,
    reason: str = "",
    changes: dict | None = None,
) -> None:
    """The audit entry of a package act (asked for, built or failed, downloaded): on the
    incident's agency's chain, in the current transaction (its own when none is open)."""
    actor = ctx.user if ctx is not None and ctx.user is not None else package.requested_by
    record(
        act,
        agency=package.incident.agency,
        subject=package,
        subject_ref=package.file_name,
        incident=package.incident,
        actor=actor,
        outcome=outcome,
        reason=reason,
        changes=changes,
    )


# --- asking for a package ------------------------------------------------------------------


def package_request(*, ctx: AgencyContext, incident, now: datetime | None = None) -> Package:
    """Ask for a package of ``incident`` as ``ctx`` sees it: a job row written now, built by
    the worker once this transaction commits (and again by the sweep if the message is lost)."""
    now = _now(now)
    require(ctx, "package_build")
    with transaction.atomic():
        incident = visible_incident(ctx, incident, Incident.objects.select_related("agency"))
        package = Package.objects.create(
            incident=incident,
            requested_by=ctx.user,
            requested_at=now,
            queued_at=now,
            name=package_name(incident, now),
        )
        _audit("package_request", ctx=ctx, package=package, reason="Built by the worker.")
        enqueue_on_commit(BUILD_TASK, package.pk)
    return package


def _claim(job_id: int, now: datetime) -> Package | None:
    """Take the queued job for this worker (one build at a time: a build that started less
    than ``build_timeout()`` ago is left to its worker)."""
    with transaction.atomic():
        package = (
            Package.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("incident__agency", "requested_by")
            .filter(pk=job_id, state=JobState.QUEUED, written_to="storage")
            .filter(Q(started_at__isnull=True) | Q(started_at__lt=now - build_timeout()))
            .first()
        )
        if package is None:
            return None
        package.attempts += 1
        package.started_at = now
        package.save(update_fields=["attempts", "started_at"])
        return package


def _requester_context(package: Package) -> AgencyContext:
    """The requester's context now: a package holds what its requester may still see."""
    if package.requested_by is None:
        raise NotFound("The package names no requester.")
    try:
        return context_for(package.requested_by, package.incident.agency)
    except AgencyContextError as exc:
        raise NotFound(f"{package.requested_by} no longer holds a role in the agency.") from exc


class _Chunks:
    """An iterator of bytes read as a file (what storages read)."""

    def __init__(self, chunks: Iterator[bytes]):
        self.chunks = chunks
        self.pending = b""

    def read(self, size: int = -1) -> bytes:
        want = CHUNK_SIZE if size is None or size < 0 else size
        while len(self.pending) < want:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.pending += chunk
        out, self.pending = self.pending[:want], self.pending[want:]
        return out


def _bag(ctx: AgencyContext, package: Package, now: datetime) -> BagBuild:
    destination = f"evidence package {package.name} ({package.uid})"

    def packed(ev, handle) -> None:
        evidence_services.custody_export(
            ctx=ctx,
            evidence=ev,
            destination=destination,
            package=str(package.uid),
            copied=handle,
        )

    return BagBuild(
        ctx=ctx,
        incident=package.incident,
        name=package.name,
        package_uid=str(package.uid),
        now=now,
        on_item_packed=packed,
    )


def _record_built(
    ctx, package: Package, bag: BagBuild, sha256: str, size: int, now: datetime
) -> None:
    """The package's record (SHA-256, size, every file) and its audit entry, together."""
    package.sha256, package.size = sha256, size
    package.contents = [
        {"path": f"{bag.name}/{m.path}", "size": m.size, "sha256": m.sha256} for m in bag.members
    ]
    package.key_id = bag.key_id
    package.state, package.finished_at, package.error = JobState.DONE, now, ""
    with transaction.atomic():
        package.save()
        _audit(
            "package_build",
            ctx=ctx,
            package=package,
            changes={"sha256": sha256, "size": size, "files": len(package.contents)},
        )


def package_build_run(*, job_id: int, now: datetime | None = None) -> Package | None:
    """Build a queued package into storage (the worker; idempotent: a job done, or being
    built by another worker, is left alone). A mismatching evidence item, or a requester who
    no longer sees the incident, fails the job at once; any other error is retried by the
    sweep up to ``Job.MAX_ATTEMPTS`` times. Never raises."""
    now = _now(now)
    package = _claim(job_id, now)
    if package is None:
        return None
    temp_name = f"packages/tmp/{package.uid.hex}.part"
    ctx = None
    try:
        ctx = _requester_context(package)
        require(ctx, "package_build")
        package.incident = visible_incident(
            ctx, package.incident_id, Incident.objects.select_related("agency")
        )
        bag = _bag(ctx, package, now)
        digest = BackgroundHash("sha256")
        reader = HashingReader(_Chunks(bag.stream()), limit=NO_LIMIT, digests={"sha256": digest})
        try:
            temp_name = default_storage.save(temp_name, StreamFile(reader, name=temp_name))
        finally:
            sha256 = digest.hexdigest()  # stops and joins the hashing thread
        final = f"packages/{package.incident.agency.abbreviation}/{package.incident.number}/"
        final += f"{package.uid.hex}.zip"
        package.storage_name = promote(temp_name, final)
        temp_name = None
        _record_built(ctx, package, bag, sha256, reader.size, timezone.now())
    except DocketError as exc:  # a changed item, a requester who no longer sees it: final
        discard(temp_name)
        logger.error("Package %s failed: %s", package.uid, exc)
        package.error = getattr(exc, "message", str(exc))
        package.state, package.finished_at, package.started_at = JobState.FAILED, now, None
        package.save()
        _audit(
            "package_build",
            ctx=ctx,
            package=package,
            outcome=Outcome.FAILURE,
            reason=package.error,
        )
        return package
    except Exception as exc:
        discard(temp_name)
        logger.exception("Package %s failed", package.uid)
        package.error = f"{exc.__class__.__name__}: {exc}"
        package.started_at = None
        if package.attempts >= Package.MAX_ATTEMPTS:
            package.state, package.finished_at = JobState.FAILED, now
        package.save()
        return package
    return package


def packages_requeue(now: datetime) -> int:
    waiting = Package.objects.filter(state=JobState.QUEUED, written_to="storage").filter(
        Q(started_at__isnull=True) | Q(started_at__lt=now - build_timeout())
    )
    return requeue_stale(waiting, BUILD_TASK, now)


register_sweep("packages.build", packages_requeue)


# --- the command: straight into a file -----------------------------------------------------


def package_export(
    *, ctx: AgencyContext, incident, out: str | os.PathLike, now: datetime | None = None
) -> Package:
    """Write ``incident``'s package to the file ``out`` (streamed; ``export_package``) and
    record it like a built one. A failure removes the partial file and raises."""
    now = _now(now)
    require(ctx, "package_build")
    incident = visible_incident(ctx, incident, Incident.objects.select_related("agency"))
    out = os.fspath(out)
    name = os.path.basename(out)
    if not name.endswith(".zip") or name == ".zip":
        raise InvalidInput("The output file's name must end in .zip.", field="out")
    if os.path.exists(out):
        raise Conflict(f"{out} exists; not overwritten.")
    package = Package.objects.create(
        incident=incident,
        requested_by=ctx.user,
        requested_at=now,
        queued_at=now,
        started_at=now,
        attempts=1,
        written_to="file",
        name=name[: -len(".zip")],
        storage_name="",
    )
    bag = _bag(ctx, package, now)
    digest, size = BackgroundHash("sha256"), 0  # beside the item's own hashes
    try:
        with open(out, "xb") as fh:
            for chunk in bag.stream():
                digest.update(chunk)
                size += len(chunk)
                fh.write(chunk)
    except BaseException as exc:
        digest.stop()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(out)
        package.error = getattr(exc, "message", f"{exc.__class__.__name__}: {exc}")
        package.state, package.finished_at = JobState.FAILED, timezone.now()
        package.save()
        _audit(
            "package_build",
            ctx=ctx,
            package=package,
            outcome=Outcome.FAILURE,
            reason=package.error,
        )
        raise
    _record_built(ctx, package, bag, digest.hexdigest(), size, timezone.now())
    return package


# --- reading ------------------------------------------------------------------------------


def visible_packages(ctx: AgencyContext, incident=None):
    qs = scope(Package.objects.select_related("incident__agency", "requested_by"), ctx)
    if incident is not None:
        qs = qs.filter(incident=incident)
    return qs


def visible_package(ctx: AgencyContext, pk) -> Package:
    package = visible_packages(ctx).filter(pk=pk).first()
    if package is None:
        raise NotFound("No such package.")
    return package


class CheckedPackage:
    """A built package read from storage, re-hashed on the way: at its end a mismatch with
    the recorded SHA-256 raises ``IntegrityFailure`` (cutting the download short)."""

    def __init__(self, package: Package):
        self.package = package
        self.fh = open_stored(package.storage_name)
        self.digest = hashlib.sha256()
        self.name = ""

    def read(self, size: int = -1) -> bytes:
        chunk = self.fh.read(size)
        if chunk:
            self.digest.update(chunk)
            return chunk
        if self.digest.hexdigest() != self.package.sha256:
            logger.error(
                "Package %s changed in storage: SHA-256 %s, recorded %s",
                self.package.uid,
                self.digest.hexdigest(),
                self.package.sha256,
            )
            raise IntegrityFailure("The stored package changed since it was built.")
        return chunk

    def close(self) -> None:
        self.fh.close()


def package_open(*, ctx: AgencyContext, package, now: datetime | None = None) -> CheckedPackage:
    """Open a built package for download by someone who may download packages and sees its
    incident (a package outside the caller's scope is not found); the download is an audit
    entry."""
    require(ctx, "package_download")
    package = visible_package(ctx, getattr(package, "pk", package))
    if not package.ready:
        raise Conflict(f"The package is {package.get_state_display().lower()}, not ready.")
    try:
        handle = CheckedPackage(package)
    except FileNotFoundError as exc:
        _audit(
            "package_download",
            ctx=ctx,
            package=package,
            outcome=Outcome.FAILURE,
            reason="the stored package is missing",
        )
        raise IntegrityFailure("The stored package is missing.") from exc
    _audit("package_download", ctx=ctx, package=package)
    return handle


def packages_matching(sha256: str):
    """The packages Docket recorded with this SHA-256 (``verify_package``; unscoped: run by
    the operator where the database is)."""
    return Package.objects.filter(sha256=sha256, state=JobState.DONE).select_related(
        "incident__agency", "requested_by"
    )
