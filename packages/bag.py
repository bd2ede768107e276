"""An incident's evidence package: a BagIt 1.0 bag (RFC 8493) serialised as one ZIP, streamed.

The ZIP holds one folder named like the file (``<name>/``), and in it:

- ``bagit.txt`` first, then the payload under ``data/``: ``evidence/`` (each item's original
  bytes, stored, re-hashed while it streams), ``custody/`` (each item's ledger, JSON and CSV,
  written after the items so that it shows their export into this package), ``audit/``,
  ``reports/``, ``compliance/``, ``timeline.json``/``.csv`` and ``incident.json``;
- then, once the payload's hashes are known: ``bag-info.txt``, ``manifest-sha256.txt``,
  ``manifest-sha512.txt``, ``index.html`` (the contents for a person, offline, no scripts),
  ``signatures/attestation.json`` and its detached Ed25519 signature
  ``signatures/attestation.json.sig``, and last the two tag manifests, which list every tag
  file above (so every BagIt tool validates the bag and covers the signature files).

Nothing is held whole in memory but the small generated files: each evidence item is read
in ``CHUNK_SIZE`` chunks through the evidence services' ``VerifyingFile``. A mismatch raises
``IntegrityFailure`` out of the stream (what was written is a truncated, invalid ZIP) after
recording the failed check and alerting the agency administrators, as a download does.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata

from django.core.serializers.json import DjangoJSONEncoder
from django.template.loader import render_to_string
from django.utils import timezone
from zipstream import ZIP_DEFLATED, ZIP_STORED, ZipStream

from accounts.context import AgencyContext
from accounts.scoping import scope
from compliance.models import ComplianceSnapshot
from core.canonical import canonical_json
from core.signing import key_id, public_key_pem, sign
from core.storage import CHUNK_SIZE, BackgroundHash, open_stored
from core.time import format_local
from evidence import services as evidence_services
from evidence.errors import IntegrityFailure
from evidence.models import CustodyEntry, Evidence
from incidents.models import AdditionalInformation, Determination, Incident, IncidentEvent
from incidents.timeline import incident_timeline, local_time
from reporting.models import Obligation, ReportVersion, Submission

from . import records

logger = logging.getLogger(__name__)

PROFILE_IDENTIFIER = "https://docket.example.gov/bagit-profiles/evidence-package-v1.json"
ATTESTATION = "signatures/attestation.json"
SIGNATURE = "signatures/attestation.json.sig"
ALGORITHMS = ("sha256", "sha512")
TIMELINE_LIMIT = 1_000_000
BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


def software_agent() -> str:
    try:
        version = metadata.version("docket")
    except metadata.PackageNotFoundError:  # a checkout run without `pip install .`
        version = "unknown"
    return f"Docket {version}"


def safe_name(name: str) -> str:
    """A file name for a path in the bag: ASCII letters, digits, ``.-_`` (others become
    ``_``), never empty or hidden; the original name is kept in ``incident.json``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name).strip("._") or "file"
    return cleaned[:120]


def package_name(incident: Incident, at: datetime) -> str:
    """``FTA-2026-0007-package-20261206T215500Z``: the ZIP's name and its bag's folder."""
    return f"{safe_name(incident.number)}-package-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def human_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


@dataclass
class Member:
    """One file of the bag, once streamed."""

    path: str  # inside the bag, e.g. "data/evidence/0001-web.log" or "bag-info.txt"
    size: int
    sha256: str
    sha512: str
    what: str = ""

    @property
    def payload(self) -> bool:
        return self.path.startswith("data/")


@dataclass
class Skipped:
    path: str
    reason: str


def _json(document) -> bytes:
    return json.dumps(document, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False).encode()


def _csv(header: list[str], rows: Iterable[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _manifest_path(path: str) -> str:
    """RFC 8493 §2.1.3: CR, LF and % percent-encoded in manifest lines."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


@dataclass
class BagBuild:
    """The package of ``incident`` as ``ctx`` sees it (everything read through ``scope``).
    ``stream()`` yields the ZIP's bytes; afterwards ``members`` lists every file."""

    ctx: AgencyContext
    incident: Incident
    name: str
    package_uid: str
    now: datetime
    extra_info: dict[str, str] = field(default_factory=dict)
    on_item_packed: Callable[[Evidence, object], None] | None = None
    members: list[Member] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    evidence_items: list[dict] = field(default_factory=list)
    key_id: str = ""
    _attestation_bytes: bytes = b""

    @property
    def tz(self):
        return self.incident.agency.tz

    def local(self, instant: datetime | None) -> str:
        return format_local(instant, self.tz) if instant is not None else ""

    # --- the stream ------------------------------------------------------------------------

    def stream(self) -> Iterator[bytes]:
        zs = ZipStream(compress_type=ZIP_DEFLATED)
        zs.add(self._file("bagit.txt", lambda: BAGIT_TXT), self._arc("bagit.txt"))
        for ev in self._evidence():
            path = f"data/evidence/{ev.pk:05d}-{safe_name(ev.original_filename)}"
            zs.add(self._evidence_file(path, ev), self._arc(path), compress_type=ZIP_STORED)
        for version in self._report_versions():
            stem = self._report_stem(version)
            zs.add(
                self._stored_file(f"{stem}.pdf", version.pdf_name, version.pdf_sha256),
                self._arc(f"{stem}.pdf"),
                compress_type=ZIP_STORED,
            )
            zs.add(
                self._file(
                    f"{stem}.json", lambda v=version: self._report_json(v), "report version data"
                ),
                self._arc(f"{stem}.json"),
            )
        for path, make, what in self._generated_payload():
            zs.add(self._file(path, make, what), self._arc(path))
        tags = [
            ("bag-info.txt", self._bag_info),
            ("manifest-sha256.txt", lambda: self._manifest("sha256", payload=True)),
            ("manifest-sha512.txt", lambda: self._manifest("sha512", payload=True)),
            ("index.html", self._index),
            (ATTESTATION, self._attestation),
            (SIGNATURE, self._signature),
        ]
        for path, make in tags:
            zs.add(self._file(path, make), self._arc(path))
        for algorithm in ALGORITHMS:
            path = f"tagmanifest-{algorithm}.txt"
            zs.add(
                self._file(path, lambda a=algorithm: self._manifest(a, payload=False)),
                self._arc(path),
            )
        yield from zs

    def _arc(self, path: str) -> str:
        return f"{self.name}/{path}"

    def _file(self, path: str, make: Callable[[], bytes], what: str = "") -> Iterator[bytes]:
        """A generated file: made when the stream reaches it (so a tag file sees every file
        before it), hashed, recorded."""
        data = make()
        self.members.append(
            Member(
                path,
                len(data),
                hashlib.sha256(data).hexdigest(),
                hashlib.sha512(data).hexdigest(),
                what,
            )
        )
        yield data

    def _evidence_file(self, path: str, ev: Evidence) -> Iterator[bytes]:
        """An item's original bytes, read through ``VerifyingFile``: SHA-256 there (checked
        against the upload's at the end; a mismatch raises out of the stream after the failed
        check is recorded and the administrators alerted), SHA-512 in a thread beside it."""
        ctx = self.ctx

        def on_mismatch(problem: str, found: str, found_size: int) -> None:
            evidence_services.record_failed_verify(
                ev=ev,
                problem=f"{problem} (while packing it into {self.name})",
                actual=found,
                actor=ctx.user,
                ctx=ctx,
                now=timezone.now(),
                size=found_size,
            )

        sha512 = BackgroundHash("sha512")
        handle = evidence_services.VerifyingFile(
            open_stored(ev.storage_name), ev, on_mismatch=on_mismatch
        )
        try:
            while chunk := handle.read(CHUNK_SIZE):
                sha512.update(chunk)
                yield chunk
        finally:
            handle.close()
            digest512 = sha512.hexdigest()  # stops and joins the thread however it ends
        self.members.append(
            Member(path, handle.size, handle.digest.hexdigest(), digest512, "evidence")
        )
        self.evidence_items.append(
            {**records.evidence_record(ev, self.tz), "path": path, "packed": True}
        )
        if self.on_item_packed is not None:
            self.on_item_packed(ev, handle)

    def _stored_file(self, path: str, storage_name: str, sha256: str) -> Iterator[bytes]:
        """A stored file Docket made (a report PDF), hashed while it streams; bytes that no
        longer match the recorded SHA-256 stop the package like a changed evidence item."""
        digest256, digest512, size = hashlib.sha256(), BackgroundHash("sha512"), 0
        handle = open_stored(storage_name)
        try:
            while chunk := handle.read(CHUNK_SIZE):
                digest256.update(chunk)
                digest512.update(chunk)
                size += len(chunk)
                yield chunk
        finally:
            handle.close()
            found512 = digest512.hexdigest()
        if digest256.hexdigest() != sha256:
            logger.error(
                "%s changed in storage: SHA-256 %s, recorded %s (package %s stopped)",
                storage_name,
                digest256.hexdigest(),
                sha256,
                self.name,
            )
            raise IntegrityFailure(
                f"The stored file {path} no longer matches its recorded SHA-256; the package "
                "was stopped."
            )
        self.members.append(Member(path, size, sha256, found512, "report PDF"))

    # --- what goes in ----------------------------------------------------------------------

    def _report_versions(self) -> list[ReportVersion]:
        """The versions of the incident's reports rendered once approved (not the DRAFT-
        watermarked ones): what was approved and what was submitted."""
        return list(
            scope(ReportVersion.objects.select_related("report"), self.ctx)
            .filter(report__incident=self.incident, draft=False)
            .order_by("report_id", "number")
        )

    @staticmethod
    def _report_stem(version: ReportVersion) -> str:
        report = version.report
        folder = f"{report.pk:05d}-{safe_name(report.kind)}-revision-{report.revision}"
        return f"data/reports/{folder}/version-{version.number:02d}"

    def _report_json(self, version: ReportVersion) -> bytes:
        report = version.report
        submissions = scope(Submission.objects.all(), self.ctx).filter(report_version=version)
        return _json(
            {
                "report": records.row(report),
                "version": {
                    **records.row(version),
                    "pdf": f"{self._report_stem(version)}.pdf",
                },
                "submitted_as": [records.row(sub) for sub in submissions.order_by("pk")],
                "data_sha256": version.data_sha256,
                "data_hash": "SHA-256 of the canonical JSON of version.data",
            }
        )

    def _evidence(self) -> Iterator[Evidence]:
        items = scope(Evidence.objects.select_related("incident__agency"), self.ctx).filter(
            incident=self.incident
        )
        for ev in items.order_by("pk"):
            if ev.withdrawn:
                self.skipped.append(
                    Skipped(
                        f"evidence {ev.pk} {ev.original_filename}",
                        f"withdrawn {self.local(ev.withdrawn_at)}: {ev.withdrawn_reason}",
                    )
                )
                self.evidence_items.append(
                    {**records.evidence_record(ev, self.tz), "path": None, "packed": False}
                )
                continue
            yield ev

    def _generated_payload(self) -> Iterator[tuple[str, Callable[[], bytes], str]]:
        """The payload Docket writes (custody after the items, so it shows their export)."""
        items = scope(Evidence.objects.all(), self.ctx).filter(incident=self.incident)
        for ev in items.order_by("pk"):
            stem = f"data/custody/{ev.pk:05d}-custody"
            yield f"{stem}.json", lambda ev=ev: self._custody_json(ev), "custody ledger"
            yield f"{stem}.csv", lambda ev=ev: self._custody_csv(ev), "custody ledger"
        yield from records.audit_parts(self.incident, self.tz)
        snapshots = scope(ComplianceSnapshot.objects.all(), self.ctx).filter(incident=self.incident)
        for snap in snapshots.order_by("taken_at", "pk"):
            yield (
                f"data/compliance/snapshot-{snap.pk:05d}.json",
                lambda snap=snap: _json(records.snapshot_record(snap, self.tz)),
                "compliance snapshot",
            )
        yield "data/timeline.json", self._timeline_json, "timeline"
        yield "data/timeline.csv", self._timeline_csv, "timeline"
        yield "data/incident.json", self._incident_json, "incident record"

    def _ledger(self, ev: Evidence) -> list[CustodyEntry]:
        return list(
            CustodyEntry.objects.filter(evidence=ev)
            .select_related("from_person", "to_person")
            .order_by("seq")
        )

    def _custody_json(self, ev: Evidence) -> bytes:
        entries = self._ledger(ev)
        problems = evidence_services.ledger_check(ev, entries)
        return _json(
            {
                "evidence": {"id": ev.pk, "uid": str(ev.uid), "sha256": ev.sha256},
                "chain": {
                    "hash": "SHA-256 of the canonical JSON of 'hashed' with 'prev_hash'; the "
                    "first entry's prev_hash is SHA-256 of "
                    "'docket-custody-v1:<uid>:<sha256>'",
                    "intact": not problems,
                    "problems": problems,
                },
                "entries": [records.custody_record(e, ev, self.tz) for e in entries],
                "checkpoints": records.custody_checkpoints(ev, len(entries), self.tz),
            }
        )

    def _custody_csv(self, ev: Evidence) -> bytes:
        fields = records.CUSTODY_CSV
        return _csv(
            fields,
            ([records.custody_record(e, ev, self.tz)[f] for f in fields] for e in self._ledger(ev)),
        )

    def _timeline(self):
        return incident_timeline(self.ctx, self.incident, limit=TIMELINE_LIMIT)

    def _timeline_rows(self):
        timeline = self._timeline()
        return timeline, [records.timeline_record(e, self.tz, local_time) for e in timeline.entries]

    def _timeline_json(self) -> bytes:
        timeline, rows = self._timeline_rows()
        return _json({"time_zone": self.tz.key, "truncated": timeline.truncated, "entries": rows})

    def _timeline_csv(self) -> bytes:
        _, rows = self._timeline_rows()
        fields = records.TIMELINE_CSV
        return _csv(fields, ([row[f] for f in fields] for row in rows))

    def _incident_json(self) -> bytes:
        incident, ctx = self.incident, self.ctx
        return _json(
            {
                "time_zone": self.tz.key,
                "incident": {
                    **records.row(incident),
                    "systems": [
                        {"id": s.pk, "acronym": s.acronym, "name": s.name}
                        for s in incident.systems.order_by("acronym")
                    ],
                },
                "indicators": [records.row(i) for i in incident.indicators.order_by("pk")],
                "additional_information": [
                    records.row(a)
                    for a in scope(AdditionalInformation.objects.all(), ctx)
                    .filter(incident=incident)
                    .order_by("recorded_at", "pk")
                ],
                "determinations": [
                    records.row(d)
                    for d in scope(Determination.objects.all(), ctx)
                    .filter(incident=incident)
                    .order_by("recorded_at", "pk")
                ],
                "obligations": [
                    records.row(o)
                    for o in scope(Obligation.objects.all(), ctx)
                    .filter(incident=incident)
                    .order_by("due_at", "pk")
                ],
                "submissions": [
                    records.row(s)
                    for s in scope(Submission.objects.all(), ctx)
                    .filter(obligation__incident=incident)
                    .order_by("submitted_at", "pk")
                ],
                "events": [
                    records.row(e)
                    for e in scope(IncidentEvent.objects.all(), ctx)
                    .filter(incident=incident)
                    .order_by("at", "pk")
                ],
                "evidence": self.evidence_items,
            }
        )

    # --- tag files -------------------------------------------------------------------------

    def payload_members(self) -> list[Member]:
        return [m for m in self.members if m.payload]

    def _bag_info(self) -> bytes:
        payload = self.payload_members()
        octets = sum(m.size for m in payload)
        agency = self.incident.agency
        fields = [
            ("Source-Organization", agency.name),
            ("External-Identifier", self.incident.number),
            ("External-Description", f"Evidence package of incident {self.incident.number}"),
            ("Bagging-Date", f"{self.now.astimezone(UTC):%Y-%m-%d}"),
            ("Payload-Oxum", f"{octets}.{len(payload)}"),
            ("Bag-Size", human_size(octets)),
            ("Bag-Software-Agent", software_agent()),
            ("BagIt-Profile-Identifier", PROFILE_IDENTIFIER),
            ("Internal-Sender-Identifier", self.package_uid),
            ("Docket-Incident", self.incident.number),
            ("Docket-Export-Id", self.package_uid),
            ("Docket-Agency", agency.abbreviation),
            ("Docket-Built-At", self.now.astimezone(UTC).isoformat()),
            ("Docket-Time-Zone", self.tz.key),
            *self.extra_info.items(),
        ]
        lines = [f"{k}: {' '.join(str(v).split())}" for k, v in fields]
        return ("\n".join(lines) + "\n").encode()

    def _manifest(self, algorithm: str, *, payload: bool) -> bytes:
        chosen = [
            m
            for m in self.members
            if m.payload == payload and not m.path.startswith("tagmanifest-")
        ]
        lines = [f"{getattr(m, algorithm)}  {_manifest_path(m.path)}" for m in chosen]
        return ("\n".join(lines) + "\n").encode() if lines else b""

    def _member(self, path: str) -> Member:
        return next(m for m in self.members if m.path == path)

    def _index(self) -> bytes:
        return render_to_string(
            "packages/bag_index.html",
            {
                "bag": self,
                "agency": self.incident.agency,
                "incident": self.incident,
                "built": self.local(self.now),
                "members": self.members,
                "skipped": self.skipped,
                "evidence": self.evidence_items,
                "software": software_agent(),
                "oxum": sum(m.size for m in self.payload_members()),
                "has_reports": any(m.path.startswith("data/reports/") for m in self.members),
                "has_audit": any(m.path.startswith("data/audit/") for m in self.members),
            },
        ).encode()

    def attestation_document(self) -> dict:
        files = ["bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt"]
        files.append("index.html")
        self.key_id = key_id()
        return {
            "type": "docket-evidence-package-attestation",
            "version": 1,
            "package": self.package_uid,
            "bag": self.name,
            "incident": self.incident.number,
            "agency": self.incident.agency.abbreviation,
            "signed_at": timezone.now().astimezone(UTC).isoformat(),
            "files": {p: {"sha256": self._member(p).sha256} for p in files},
            "signature": {
                "algorithm": "Ed25519",
                "file": SIGNATURE,
                "encoding": "raw (64 bytes)",
                "key_id": self.key_id,
                "public_key_pem": public_key_pem(),
            },
            "timestamp": "no TSA",
        }

    def _attestation(self) -> bytes:
        self._attestation_bytes = canonical_json(self.attestation_document()) + b"\n"
        return self._attestation_bytes

    def _signature(self) -> bytes:
        """The detached signature of the attestation's bytes exactly as streamed just before:
        the raw 64 bytes of Ed25519, as ``openssl pkeyutl -verify -rawin -sigfile`` reads."""
        return base64.b64decode(sign(self._attestation_bytes))
