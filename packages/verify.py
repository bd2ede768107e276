"""Checking an evidence package ZIP on its own (``verify_package``): the ZIP, the bag (both
payload manifests, Payload-Oxum, both tag manifests, nothing unlisted), and the signed
attestation. Reads each member once, as a stream; needs no database."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field

from core import signing
from core.storage import CHUNK_SIZE

from .bag import ALGORITHMS, ATTESTATION, SIGNATURE

REQUIRED_INFO = (
    "Source-Organization",
    "External-Identifier",
    "Bagging-Date",
    "Payload-Oxum",
    "Bag-Size",
    "Bag-Software-Agent",
    "BagIt-Profile-Identifier",
)


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    info: dict[str, str] = field(default_factory=dict)
    bag: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def _parse_manifest(text: str, name: str, report: Report) -> dict[str, str]:
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, path = line.partition(" ")
        path = path.lstrip(" ")
        if not sep or not path:
            report.problems.append(f"{name} line {number} is not '<hash> <path>'")
            continue
        path = path.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
        if path in entries:
            report.problems.append(f"{name} lists {path} twice")
        entries[path] = digest.lower()
    return entries


def _parse_info(text: str) -> dict[str, str]:
    info: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and key is not None:
            info[key] += " " + line.strip()
            continue
        key, _, value = line.partition(":")
        key = key.strip()
        info[key] = value.strip()
    return info


def _hash_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[dict[str, str], int]:
    digests = {a: hashlib.new(a) for a in ALGORITHMS}
    size = 0
    with zf.open(info) as fh:
        while chunk := fh.read(CHUNK_SIZE):
            size += len(chunk)
            for d in digests.values():
                d.update(chunk)
    return {a: d.hexdigest() for a, d in digests.items()}, size


def verify_zip(path: str | os.PathLike) -> Report:
    report = Report()
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        report.problems.append(f"not a readable ZIP: {exc}")
        return report
    with zf:
        _verify_bag(zf, os.path.basename(os.fspath(path)), report)
    return report


def _verify_bag(zf: zipfile.ZipFile, file_name: str, report: Report) -> None:
    members = [i for i in zf.infolist() if not i.is_dir()]
    tops = {i.filename.split("/", 1)[0] for i in members}
    if len(tops) != 1 or any("/" not in i.filename for i in members):
        report.problems.append(
            f"the ZIP must hold exactly one top-level folder, found {sorted(tops)}"
        )
        return
    (top,) = tops
    report.bag = top
    stem = file_name[:-4] if file_name.lower().endswith(".zip") else file_name
    if top != stem:
        report.notes.append(f"the bag's folder {top} is not named like the file {file_name}")
    files = {i.filename[len(top) + 1 :]: i for i in members}

    def text(name: str) -> str | None:
        info = files.get(name)
        if info is None:
            return None
        try:
            return zf.read(info).decode("utf-8")
        except (UnicodeDecodeError, zipfile.BadZipFile, OSError) as exc:
            report.problems.append(f"{name} cannot be read: {exc}")
            return None

    bagit = text("bagit.txt")
    if bagit is None:
        report.problems.append("bagit.txt is missing")
    elif "BagIt-Version: 1.0" not in bagit:
        report.problems.append("bagit.txt does not declare BagIt-Version: 1.0")

    # Every file read once: both digests, the size; a CRC or ZIP error names the member.
    hashed: dict[str, tuple[dict[str, str], int]] = {}
    for name, info in sorted(files.items()):
        try:
            hashed[name] = _hash_member(zf, info)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            report.problems.append(f"{name} cannot be read from the ZIP: {exc}")

    payload = {n for n in files if n.startswith("data/")}
    for algorithm in ALGORITHMS:
        name = f"manifest-{algorithm}.txt"
        body = text(name)
        if body is None:
            report.problems.append(f"{name} is missing")
            continue
        listed = _parse_manifest(body, name, report)
        for path in sorted(set(listed) - payload):
            report.problems.append(f"{name} lists {path}, which is not in the bag (removed?)")
        for path in sorted(payload - set(listed)):
            report.problems.append(f"{path} is in the bag but not in {name} (added?)")
        for path in sorted(set(listed) & payload):
            if path in hashed and hashed[path][0][algorithm] != listed[path]:
                report.problems.append(f"{path}: {algorithm} does not match {name} (altered)")

    info_text = text("bag-info.txt")
    if info_text is None:
        report.problems.append("bag-info.txt is missing")
    else:
        report.info = _parse_info(info_text)
        for key in REQUIRED_INFO:
            if not report.info.get(key):
                report.problems.append(f"bag-info.txt has no {key}")
        oxum = report.info.get("Payload-Oxum", "")
        octets = sum(hashed[p][1] for p in payload if p in hashed)
        if oxum and oxum != f"{octets}.{len(payload)}":
            report.problems.append(
                f"Payload-Oxum is {oxum}; the payload holds {octets} bytes in {len(payload)} files"
            )

    tag_files = {n for n in files if not n.startswith("data/") and not n.startswith("tagmanifest-")}
    for algorithm in ALGORITHMS:
        name = f"tagmanifest-{algorithm}.txt"
        body = text(name)
        if body is None:
            report.problems.append(f"{name} is missing")
            continue
        listed = _parse_manifest(body, name, report)
        for path in sorted(set(listed) - tag_files):
            report.problems.append(f"{name} lists {path}, which is not in the bag (removed?)")
        for path in sorted(tag_files - set(listed)):
            report.problems.append(f"tag file {path} is not in {name} (added?)")
        for path in sorted(set(listed) & tag_files):
            if path in hashed and hashed[path][0][algorithm] != listed[path]:
                report.problems.append(f"{path}: {algorithm} does not match {name} (altered)")
    stray = sorted(
        n
        for n in files
        if n.startswith("tagmanifest-") and not any(n == f"tagmanifest-{a}.txt" for a in ALGORITHMS)
    )
    for name in stray:
        report.problems.append(f"{name} is not a tag manifest Docket writes (added?)")

    _verify_signature(zf, files, hashed, report)


def _verify_signature(zf, files, hashed, report: Report) -> None:
    if ATTESTATION not in files or SIGNATURE not in files:
        report.problems.append(f"{ATTESTATION} or {SIGNATURE} is missing: the bag is unsigned")
        return
    data = zf.read(files[ATTESTATION])
    signature = base64.b64encode(zf.read(files[SIGNATURE])).decode("ascii")
    try:
        attestation = json.loads(data)
        embedded = attestation["signature"]["public_key_pem"]
        attested = attestation["files"]
    except (ValueError, KeyError, TypeError) as exc:
        report.problems.append(f"{ATTESTATION} is not an attestation Docket writes: {exc}")
        return
    trusted = _trusted_keys(report)
    if trusted:
        if not any(signing.verify(data, signature, public_key_pem=pem) for pem in trusted):
            report.problems.append(
                f"the signature of {ATTESTATION} does not verify with this installation's "
                "keys (altered, or signed elsewhere)"
            )
    elif not signing.verify(data, signature, public_key_pem=embedded):
        report.problems.append(f"the signature of {ATTESTATION} does not verify")
    else:
        report.notes.append(
            "signature checked against the key in the attestation only (no installation key "
            f"here): compare key id {attestation['signature'].get('key_id')} with the agency's"
        )
    for name, expected in attested.items():
        if name not in hashed:
            report.problems.append(f"{ATTESTATION} names {name}, which is not in the bag")
        elif hashed[name][0]["sha256"] != expected.get("sha256"):
            report.problems.append(f"{name} does not match the signed attestation (altered)")


def _trusted_keys(report: Report) -> list[str]:
    try:
        return list(signing.trusted_public_keys().values())
    except (signing.SigningKeyMissing, ValueError, OSError) as exc:
        report.notes.append(f"the installation's keys cannot be read: {exc}")
        return []
