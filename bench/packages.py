"""An evidence package of an incident holding 2 GiB of evidence: throughput against ``zip -0``
of the same files, and the building process's memory.

    .venv/bin/python bench/packages.py              # 2 GiB in 8 items
    .venv/bin/python bench/packages.py --size 512M --items 4

Creates a temporary PostgreSQL database (from ``DATABASE_URL``'s server; dropped at the end),
migrates it, makes an agency, a compliance officer and an incident, and uploads ``--items``
evidence items of ``--size`` bytes in all through ``evidence_upload`` (random 1 MiB blocks with
a counter each: incompressible, as captures are), stored in a temporary folder. Measured in the
same run, each writing its ZIP to the same temporary folder:

- ``zip -0 -q -j`` of the stored files (mean of a run before and one after the package);
- the package, in a child process (``export_package``'s service, ``packages.services.
  package_export``: re-hashing each item with SHA-256 and SHA-512, CRC-32, the custody and
  record files, the manifests, the signed attestation, the ZIP's own SHA-256). Throughput is
  payload bytes / wall time; the ratio to ``zip -0`` has a target of >= 0.6.
- memory: the child's resident-set high-water mark (``VmHWM``, reset through ``clear_refs``
  once Django is loaded and the database connected) minus its ``VmRSS`` before the build.
  Target < 64 MiB.

The package is then checked with ``verify_package`` (``packages.verify.verify_zip``) and its
SHA-256 against the recorded one. Exit status 1 when a target is missed (``--no-fail`` only
reports).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MIB = 1 << 20
TARGET_RATIO = 0.6
TARGET_GROWTH_MIB = 64
ABBR = "PKBENCH"


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([KMG]?)i?B?\s*", text, re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: give bytes, or a number with K, M or G")
    number, unit = int(match.group(1)), match.group(2).upper()
    return number << {"": 0, "K": 10, "M": 20, "G": 30}[unit]


def _admin_url(url: str) -> str:
    return urlsplit(url)._replace(path="/postgres").geturl()


def create_database(server_url: str) -> str:
    import psycopg

    parts = urlsplit(server_url)
    if not parts.scheme.startswith("postgres"):
        sys.exit(f"bench/packages.py needs PostgreSQL; DATABASE_URL is {server_url!r}")
    name = f"docket_bench_packages_{os.getpid()}"
    with psycopg.connect(_admin_url(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return parts._replace(path=f"/{name}").geturl()


def drop_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _django(db_url: str, media: Path) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ["DOCKET_MEDIA_ROOT"] = str(media)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()


class RandomBlocks:
    """``size`` bytes of random 1 MiB blocks, each with its own counter, read as a file."""

    def __init__(self, size: int, seed: int):
        self.left = size
        self.block = bytearray(os.urandom(MIB))
        self.n = seed << 32

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        self.block[:8] = self.n.to_bytes(8, "little")
        self.n += 1
        want = min(MIB if size is None or size < 0 else size, MIB, self.left)
        self.left -= want
        return bytes(self.block[:want])


def prepare(db_url: str, media: Path, size: int, items: int) -> tuple[str, list[str]]:
    """Migrate; an agency, a compliance officer, an incident with ``items`` uploads of
    ``size`` bytes in all. (incident number, stored file paths)"""
    _django(db_url, media)
    from django.contrib.auth import get_user_model
    from django.core.files.storage import default_storage
    from django.core.management import call_command
    from django.db import connections

    from accounts.context import context_for
    from accounts.models import Role
    from accounts.services import agency_create, membership_grant
    from evidence.services import evidence_upload
    from incidents.services import incident_open

    call_command("migrate", verbosity=0, interactive=False)
    agency = agency_create(name="Package Bench Agency", abbreviation=ABBR, time_zone="UTC")
    user = get_user_model().objects.create_user("bench-packager", password=None)
    membership_grant(user=user, agency=agency, role=Role.COMPLIANCE_OFFICER)
    ctx = context_for(user, agency)
    incident = incident_open(ctx=ctx, title="Package benchmark")
    paths = []
    each = size // items
    for i in range(items):
        part = each if i < items - 1 else size - each * (items - 1)
        ev = evidence_upload(
            ctx=ctx,
            incident=incident,
            fileobj=RandomBlocks(part, i),
            filename=f"capture-{i:02d}.bin",
            kind="other",
            declared_size=part,
        )
        paths.append(default_storage.path(ev.storage_name))
    connections.close_all()
    return incident.number, paths


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def child(db_url: str, media: Path, number: str, out: Path) -> None:
    """Build the package into ``out`` and print JSON: seconds, memory, recorded SHA-256."""
    _django(db_url, media)
    from django.conf import settings
    from django.db import connection

    # The test settings make a key per process: sign with the parent's, which verifies.
    settings.DOCKET_SIGNING_KEY = os.environ["BENCH_SIGNING_KEY"]

    from compliance.services import operator_context
    from core.signing import key_id
    from incidents.models import Incident
    from packages.services import package_export

    incident = Incident.objects.select_related("agency").get(number=number)
    ctx = operator_context(incident.agency)
    key_id()  # load the key before measuring
    connection.ensure_connection()
    rss_before = status_kib("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    start = time.perf_counter()
    package = package_export(ctx=ctx, incident=number, out=out)
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_before_kib": rss_before,
                "hwm_kib": status_kib("VmHWM"),
                "peak_reset": reset,
                "sha256": package.sha256,
                "size": package.size,
                "files": len(package.contents),
            }
        )
    )


def signing_key() -> str:
    from django.conf import settings

    return settings.DOCKET_SIGNING_KEY


def time_zip(paths: list[str], out: Path) -> float:
    out.unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run(["zip", "-0", "-q", "-j", str(out), *paths], check=True)
    seconds = time.perf_counter() - start
    out.unlink()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=2 << 30)
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--no-fail", action="store_true")
    parser.add_argument("--child", nargs=4, metavar=("DB", "MEDIA", "NUMBER", "OUT"))
    args = parser.parse_args()
    if args.child:
        db, media, number, out = args.child
        child(db, Path(media), number, Path(out))
        return 0

    server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    db_url = create_database(server)
    try:
        with tempfile.TemporaryDirectory(prefix="docket-bench-packages-") as tmp:
            tmp_path = Path(tmp)
            media = tmp_path / "media"
            print(f"Uploading {args.size / MIB:.0f} MiB in {args.items} items …", flush=True)
            number, paths = prepare(db_url, media, args.size, args.items)
            payload = sum(Path(p).stat().st_size for p in paths)

            zip_before = time_zip(paths, tmp_path / "baseline.zip")
            out = tmp_path / "package.zip"
            run = subprocess.run(
                [sys.executable, __file__, "--child", db_url, str(media), number, str(out)],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "BENCH_SIGNING_KEY": signing_key()},
            )
            result = json.loads(run.stdout.strip().splitlines()[-1])
            zip_after = time_zip(paths, tmp_path / "baseline.zip")

            from packages.verify import verify_zip

            report = verify_zip(out)
            import hashlib

            digest = hashlib.sha256()
            with out.open("rb") as fh:
                while chunk := fh.read(MIB):
                    digest.update(chunk)
            out.unlink()
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(db_url)

    zip_seconds = (zip_before + zip_after) / 2
    ratio = zip_seconds / result["seconds"]
    growth_mib = (result["hwm_kib"] - result["rss_before_kib"]) / 1024
    same = digest.hexdigest() == result["sha256"]
    checked = "OK" if report.ok else "FAILED: " + "; ".join(report.problems)
    reset_note = "" if result["peak_reset"] else " (peak not reset: includes start-up)"
    lines = [
        f"payload: {payload / MIB:.0f} MiB in {args.items} items; "
        f"package {result['size'] / MIB:.0f} MiB, {result['files']} files",
        f"zip -0 of the same files: {zip_seconds:.2f} s ({payload / MIB / zip_seconds:.0f} "
        f"MiB/s; runs {zip_before:.2f} s, {zip_after:.2f} s)",
        f"package (export_package): {result['seconds']:.2f} s "
        f"({payload / MIB / result['seconds']:.0f} MiB/s)",
        f"ratio package/zip -0 throughput: {ratio:.2f} (target >= {TARGET_RATIO})",
        f"building process: RSS {result['rss_before_kib'] / 1024:.0f} MiB before, peak "
        f"{result['hwm_kib'] / 1024:.0f} MiB: growth {growth_mib:.1f} MiB "
        f"(target < {TARGET_GROWTH_MIB}){reset_note}",
        f"verify_package: {checked}; SHA-256 {'matches' if same else 'DIFFERS from'} the "
        "recorded one",
    ]
    print("\n".join(lines))
    missed = ratio < TARGET_RATIO or growth_mib >= TARGET_GROWTH_MIB or not report.ok
    missed = missed or not same
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
