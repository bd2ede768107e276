"""Signed checkpoints of hash chains (docs/adr/0021-signed-checkpoints.md).

A hash chain proves integrity only relative to a head known from elsewhere: whoever can write
the database can rewrite a chain from its first entry, re-hashing each entry, or cut its tail.
A checkpoint is that head — the chain's length and last entry hash — signed with the
installation's Ed25519 key (``core.signing``) and kept (append-only here, and exported to
wherever the agency's database administrators cannot write: an Inspector General, a
write-once bucket). A chain is then checked against every checkpoint of it: each must verify,
the chain must be at least as long, and its entry at that length must have the signed hash.

This module knows the checkpoint itself (the signed text, signing, reading an exported copy,
the check of one chain against its checkpoints) and the audit chains; the custody chains are
checkpointed by ``evidence.checkpoints`` (audit sits below evidence and may not import it).

The signed body, one field a line (a signed-note style text, ASCII, ending in a newline)::

    <origin> <kind> checkpoint v1
    chain agency-3
    length 42
    head 5f1c…(64 hex)
    time 2026-12-06T22:00:00.000000Z
    key 1a2b3c4d5e6f7a8b
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from core import ledger, signing

from .models import AuditEntry, AuditHead, Checkpoint, CheckpointKind
from .trail import check_entries, genesis_hash

log = logging.getLogger(__name__)

BODY_VERSION = "checkpoint v1"
EXPORT_FORMAT = "docket-checkpoints-v1"


def origin() -> str:
    """The installation's name in every checkpoint (``DOCKET_CHECKPOINT_ORIGIN``)."""
    return getattr(settings, "DOCKET_CHECKPOINT_ORIGIN", "") or "docket"


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def body_text(
    *, kind: str, chain: str, length: int, head_hash: str, signed_at: datetime, key: str
) -> str:
    """The text a checkpoint's signature covers."""
    return (
        f"{origin()} {kind} {BODY_VERSION}\n"
        f"chain {chain}\n"
        f"length {length}\n"
        f"head {head_hash}\n"
        f"time {_utc(signed_at)}\n"
        f"key {key}\n"
    )


@dataclass(frozen=True)
class SignedHead:
    """A checkpoint as stored or as read from an exported copy."""

    kind: str
    chain: str
    length: int
    head_hash: str
    signed_at: datetime
    key_id: str
    signature: str
    body: str
    agency_id: int | None = None

    @classmethod
    def of(cls, cp: Checkpoint) -> SignedHead:
        return cls(
            kind=cp.kind,
            chain=cp.chain,
            length=cp.length,
            head_hash=cp.head_hash,
            signed_at=cp.signed_at,
            key_id=cp.key_id,
            signature=cp.signature,
            body=cp.body,
            agency_id=cp.agency_id,
        )

    @property
    def label(self) -> str:
        return f"the checkpoint of {self.length} entries signed {_utc(self.signed_at)}"

    def problems(self, public_keys: Mapping[str, str]) -> list[str]:
        """Why this checkpoint cannot be trusted (empty when its signature verifies with the
        key it names and its body says what its fields say)."""
        pem = public_keys.get(self.key_id)
        if pem is None:
            return [f"{self.label} was signed by key {self.key_id}, which is not trusted"]
        if not signing.verify(self.body.encode("utf-8"), self.signature, public_key_pem=pem):
            return [f"{self.label}: its signature does not verify (checkpoint altered or forged)"]
        expected = body_text(
            kind=self.kind,
            chain=self.chain,
            length=self.length,
            head_hash=self.head_hash,
            signed_at=self.signed_at,
            key=self.key_id,
        )
        first, _, rest = self.body.partition("\n")
        # The origin may be renamed; the kind, and every line after the first, may not.
        if (
            not first.endswith(f" {self.kind} {BODY_VERSION}")
            or rest != expected.partition("\n")[2]
        ):
            return [f"{self.label}: its fields differ from the text that was signed"]
        return []

    def as_json(self) -> dict:
        return {
            "type": "checkpoint",
            "kind": self.kind,
            "chain": self.chain,
            "agency": self.agency_id,
            "length": self.length,
            "head_hash": self.head_hash,
            "signed_at": _utc(self.signed_at),
            "key_id": self.key_id,
            "signature": self.signature,
            "body": self.body,
        }


def sign_head(
    kind: str, chain: str, *, agency_id: int | None, length: int, head_hash: str, now: datetime
) -> Checkpoint:
    """Sign and keep the head of one chain (in the caller's transaction)."""
    key = signing.key_id()
    body = body_text(
        kind=kind, chain=chain, length=length, head_hash=head_hash, signed_at=now, key=key
    )
    return Checkpoint.objects.create(
        kind=kind,
        chain=chain,
        agency_id=agency_id,
        length=length,
        head_hash=head_hash,
        signed_at=now,
        key_id=key,
        signature=signing.sign(body.encode("utf-8")),
        body=body,
    )


def latest_checkpoints(kind: str) -> dict[str, Checkpoint]:
    """chain → its longest checkpoint, for every chain of ``kind`` that has one."""
    longest = (
        Checkpoint.objects.filter(kind=kind, chain=OuterRef("chain"))
        .order_by("-length")
        .values("length")[:1]
    )
    return {cp.chain: cp for cp in Checkpoint.objects.filter(kind=kind, length=Subquery(longest))}


def checkpoints_covering(kind: str, chain: str, length: int):
    """The checkpoints of ``chain`` that cover its first ``length`` entries (those of that
    length or longer), shortest first — what a package includes beside the entries."""
    return Checkpoint.objects.filter(kind=kind, chain=chain, length__gte=length).order_by("length")


@dataclass
class CheckpointRun:
    """What one checkpoint run did: checkpoints made, chains unchanged, chains refused."""

    made: list[Checkpoint] = field(default_factory=list)
    unchanged: int = 0
    refused: dict[str, list[str]] = field(default_factory=dict)

    def merge(self, other: CheckpointRun) -> CheckpointRun:
        self.made += other.made
        self.unchanged += other.unchanged
        self.refused.update(other.refused)
        return self


def extend(
    run: CheckpointRun,
    kind: str,
    chain: str,
    *,
    agency_id: int | None,
    length: int,
    previous: Checkpoint | None,
    genesis: str,
    tail: Callable[[int], Iterable[tuple[int, dict, str, str]]],
    now: datetime,
) -> None:
    """Checkpoint ``chain`` (now ``length`` entries long) if its head moved since
    ``previous``. A chain is signed only when its entries after the previous checkpoint verify
    and link to the head that checkpoint signed: a checkpoint never blesses a rewrite or a
    cut. ``tail(after)`` yields ``(seq, hashed fields, prev_hash, entry_hash)`` of the entries
    after seq ``after``, in order."""
    done = previous.length if previous else 0
    if length == done:
        run.unchanged += 1
        return
    if length < done:
        run.refused[chain] = [
            f"the chain has {length} entries but {SignedHead.of(previous).label} covers {done}"
        ]
        return
    rows = list(tail(done))
    start = previous.head_hash if previous else genesis
    problems = ledger.check_chain(rows, start, first_seq=done + 1)
    if problems:
        run.refused[chain] = problems
        return
    head_hash = rows[-1][3]
    try:
        with transaction.atomic():
            cp = sign_head(
                kind, chain, agency_id=agency_id, length=length, head_hash=head_hash, now=now
            )
    except IntegrityError:
        run.unchanged += 1  # another run signed this length first
        return
    run.made.append(cp)


def checkpoint_audit_chains(*, now: datetime | None = None) -> CheckpointRun:
    """Sign the head of every audit chain that moved since its last checkpoint."""
    now = now or timezone.now()
    run = CheckpointRun()
    latest = latest_checkpoints(CheckpointKind.AUDIT)
    for head in AuditHead.objects.order_by("chain"):

        def tail(after: int, chain=head.chain):
            entries = AuditEntry.objects.filter(chain=chain, seq__gt=after).order_by("seq")
            for e in entries.iterator(chunk_size=2000):
                yield e.seq, e.hashed_fields(), e.prev_hash, e.entry_hash

        extend(
            run,
            CheckpointKind.AUDIT,
            head.chain,
            agency_id=head.agency_id,
            length=head.length,
            previous=latest.get(head.chain),
            genesis=genesis_hash(head.chain),
            tail=tail,
            now=now,
        )
    for chain, problems in run.refused.items():
        log.error("audit chain %s not checkpointed: %s", chain, "; ".join(problems))
    return run


def against_checkpoints(
    checkpoints: Iterable[SignedHead],
    *,
    length: int,
    hashes: Mapping[int, str],
    public_keys: Mapping[str, str],
) -> list[str]:
    """Problems of a chain of ``length`` entries (``hashes``: seq → entry hash, at least at
    the checkpoints' lengths) against its ``checkpoints``: each one's signature, then a chain
    gone, cut short or rewritten under a signed head."""
    problems: list[str] = []
    trusted: list[SignedHead] = []
    for cp in sorted(checkpoints, key=lambda c: c.length):
        bad = cp.problems(public_keys)
        problems += bad
        if not bad:
            trusted.append(cp)
    if not trusted:
        return problems
    longest = trusted[-1]
    if length == 0:
        problems.append(
            f"the chain is gone (deleted): {longest.label} covers {longest.length} entries"
        )
        return problems
    if length < longest.length:
        problems.append(
            f"the chain is cut short (truncated): it has {length} entries but "
            f"{longest.label} covers {longest.length}"
        )
    rewritten = [c for c in trusted if c.length <= length and hashes.get(c.length) != c.head_hash]
    if rewritten:
        first = rewritten[0]
        problems.append(
            f"entry #{first.length} does not match {first.label} (chain rewritten"
            + (f"; {len(rewritten)} checkpoints disagree)" if len(rewritten) > 1 else ")")
        )
    return problems


# --- exported copies ---------------------------------------------------------------------


def export_lines(
    checkpoints: Iterable[Checkpoint], *, now: datetime | None = None
) -> Iterator[str]:
    """JSON lines: a header with the public keys that verify them, then one checkpoint a
    line (``export_checkpoints``)."""
    yield json.dumps(
        {
            "type": "header",
            "format": EXPORT_FORMAT,
            "origin": origin(),
            "exported_at": _utc(now or timezone.now()),
            "public_keys": signing.trusted_public_keys(),
        },
        sort_keys=True,
    )
    for cp in checkpoints:
        yield json.dumps(SignedHead.of(cp).as_json(), sort_keys=True)


def _instant(text) -> datetime:
    value = datetime.fromisoformat(str(text))
    if value.tzinfo is None:
        raise ValueError(f"signed_at {text!r} has no offset")
    return value


class ExportError(ValueError):
    """An exported copy of checkpoints that cannot be read."""


@dataclass
class ExportedCopy:
    public_keys: dict[str, str]
    checkpoints: list[SignedHead]

    def of_kind(self, kind: str) -> dict[str, list[SignedHead]]:
        chains: dict[str, list[SignedHead]] = {}
        for cp in self.checkpoints:
            if cp.kind == kind:
                chains.setdefault(cp.chain, []).append(cp)
        return chains


def read_export(path) -> ExportedCopy:
    """Read a file ``export_checkpoints`` wrote; ``ExportError`` names the line at fault."""
    try:
        lines = open(path, encoding="utf-8").read().splitlines()  # noqa: SIM115
    except OSError as exc:
        raise ExportError(f"{path}: {exc.strerror or exc}") from exc
    if not lines:
        raise ExportError(f"{path} is empty")
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path} line 1: not JSON ({exc.msg})") from exc
    if not isinstance(header, dict) or header.get("format") != EXPORT_FORMAT:
        raise ExportError(f"{path} line 1: not a header of {EXPORT_FORMAT}")
    keys = header.get("public_keys")
    if not isinstance(keys, dict) or not keys:
        raise ExportError(f"{path} line 1: no public keys")
    for kid, pem in keys.items():
        try:
            actual = signing.key_id(pem)
        except (ValueError, TypeError) as exc:
            raise ExportError(f"{path} line 1: key {kid}: {exc}") from exc
        if actual != kid:
            raise ExportError(f"{path} line 1: key listed as {kid} has id {actual}")
    checkpoints = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            checkpoints.append(
                SignedHead(
                    kind=str(row["kind"]),
                    chain=str(row["chain"]),
                    length=int(row["length"]),
                    head_hash=str(row["head_hash"]),
                    signed_at=_instant(row["signed_at"]),
                    key_id=str(row["key_id"]),
                    signature=str(row["signature"]),
                    body=str(row["body"]),
                    agency_id=row.get("agency"),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ExportError(f"{path} line {number}: not a checkpoint ({exc})") from exc
    return ExportedCopy(public_keys=dict(keys), checkpoints=checkpoints)


def missing_from_database(copy: ExportedCopy, kind: str) -> list[tuple[str, str]]:
    """(chain, problem) for each checkpoint of the copy the database no longer holds."""
    held = set(Checkpoint.objects.filter(kind=kind).values_list("chain", "length", "head_hash"))
    return [
        (cp.chain, f"{cp.label} is in the exported copy but not in the database (deleted)")
        for cp in copy.checkpoints
        if cp.kind == kind and (cp.chain, cp.length, cp.head_hash) not in held
    ]


# --- the audit chains --------------------------------------------------------------------


@dataclass
class ChainReport:
    kind: str
    chain: str
    length: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        head = f"{'OK' if self.ok else 'FAILED'} {self.kind} {self.chain} ({self.length} entries)"
        return head if self.ok else f"{head}: {'; '.join(self.problems)}"


def stored_checkpoints(kind: str) -> dict[str, list[SignedHead]]:
    chains: dict[str, list[SignedHead]] = {}
    for cp in Checkpoint.objects.filter(kind=kind).order_by("chain", "length"):
        chains.setdefault(cp.chain, []).append(SignedHead.of(cp))
    return chains


def verify_audit_chains(copy: ExportedCopy | None = None) -> list[ChainReport]:
    """Every audit chain: its links and hashes, its end against its head row, and the
    checkpoints — those in the database, or those of an exported ``copy`` (verified with the
    copy's keys, and each one the database no longer holds named)."""
    if copy is None:
        checkpoints, keys = stored_checkpoints(CheckpointKind.AUDIT), signing.trusted_public_keys()
        missing: list[tuple[str, str]] = []
    else:
        checkpoints, keys = copy.of_kind(CheckpointKind.AUDIT), copy.public_keys
        missing = missing_from_database(copy, CheckpointKind.AUDIT)
    heads = {h.chain: h for h in AuditHead.objects.all()}
    chains = set(heads) | set(checkpoints)
    chains |= set(AuditEntry.objects.order_by().values_list("chain", flat=True).distinct())
    reports = []
    for chain in sorted(chains):
        entries = AuditEntry.objects.filter(chain=chain).order_by("seq")
        problems = check_entries(chain, entries.iterator(chunk_size=2000))
        last = entries.values_list("seq", "entry_hash").last()
        length, end_hash = last if last else (0, genesis_hash(chain))
        head = heads.get(chain)
        if head is not None and (head.length, head.head_hash) != (length, end_hash):
            problems.append(
                f"the chain ends at #{length} but its head records {head.length} entries"
            )
        cps = checkpoints.get(chain, [])
        hashes = dict(
            entries.filter(seq__in={c.length for c in cps}).values_list("seq", "entry_hash")
        )
        problems += against_checkpoints(cps, length=length, hashes=hashes, public_keys=keys)
        problems += [p for c, p in missing if c == chain]
        reports.append(ChainReport(CheckpointKind.AUDIT, chain, length, problems))
    return reports
