"""Evidence upload through the real HTTP stack: throughput against ``sha256sum``, and the
server's memory.

    .venv/bin/python bench/upload.py            # 1 GiB
    .venv/bin/python bench/upload.py --size 256M

Creates a temporary PostgreSQL database (from ``DATABASE_URL``'s server; dropped at the end),
migrates it, and makes an agency, a compliance officer with an API token and an incident.
Generates a file of ``--size`` bytes in a temporary folder (random 1 MiB blocks, each with its
own counter: cheap to make, incompressible, recognised as opaque data). Starts gunicorn (one
sync worker) serving ``config.wsgi`` on 127.0.0.1 with evidence stored in the temporary folder,
and PUTs the file to the raw streaming endpoint ``/api/v1/incidents/<n>/evidence/raw`` with
``http.client`` in 1 MiB blocks. Measured in the same run:

- throughput: file size / wall time of the upload (request sent to 201 received: receive,
  count, SHA-256, MD5, format inspection, write, promote, record), as a ratio to
  ``sha256sum`` of the same file (mean of a run before and one after). Target >= 0.7.
- memory: the gunicorn worker's resident-set high-water mark (``VmHWM`` of
  ``/proc/<pid>/status``, reset through ``clear_refs`` after a warm-up upload) minus its
  ``VmRSS`` before the upload. Target < 64 MiB.

Exit status 1 when a target is missed (``--no-fail`` only reports).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MIB = 1 << 20
TARGET_RATIO = 0.7
TARGET_GROWTH_MIB = 64
ABBR = "UPBENCH"


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([KMG]?)i?B?\s*", text, re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: give bytes, or a number with K, M or G")
    number, unit = int(match.group(1)), match.group(2).upper()
    return number << {"": 0, "K": 10, "M": 20, "G": 30}[unit]


# --- database -------------------------------------------------------------------------------


def _admin_url(url: str) -> str:
    return urlsplit(url)._replace(path="/postgres").geturl()


def create_database(server_url: str) -> str:
    import psycopg

    parts = urlsplit(server_url)
    if not parts.scheme.startswith("postgres"):
        sys.exit(f"bench/upload.py needs PostgreSQL; DATABASE_URL is {server_url!r}")
    name = f"docket_bench_upload_{os.getpid()}"
    with psycopg.connect(_admin_url(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return parts._replace(path=f"/{name}").geturl()


def drop_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(db_url: str) -> tuple[str, str]:
    """Migrate; an agency, a compliance officer with a token, an incident. (token, number)"""
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections
    from rest_framework.authtoken.models import Token

    from accounts.context import context_for
    from accounts.models import Role
    from accounts.services import agency_create, membership_grant
    from incidents.services import incident_open

    call_command("migrate", verbosity=0, interactive=False)
    agency = agency_create(name="Upload Bench Agency", abbreviation=ABBR, time_zone="UTC")
    user = get_user_model().objects.create_user("bench-uploader", password=None)
    membership_grant(user=user, agency=agency, role=Role.COMPLIANCE_OFFICER)
    incident = incident_open(ctx=context_for(user, agency), title="Upload benchmark")
    token = Token.objects.create(user=user).key
    connections.close_all()
    return token, incident.number


# --- the file -------------------------------------------------------------------------------


def make_file(path: Path, size: int) -> None:
    block = bytearray(os.urandom(MIB))
    with path.open("wb") as fh:
        written, n = 0, 0
        while written < size:
            block[:8] = n.to_bytes(8, "little")
            piece = block if size - written >= MIB else block[: size - written]
            fh.write(piece)
            written += len(piece)
            n += 1


def time_sha256sum(path: Path) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True)
    return time.perf_counter() - start, out.stdout.split()[0]


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int, db_url: str, media: Path, size: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": db_url,
        "DOCKET_MEDIA_ROOT": str(media),
        "DOCKET_EVIDENCE_MAX_BYTES": str(max(size * 2, 10 << 30)),
        "DOCKET_UPLOAD_TEMP_DIR": str(media.parent),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    cmd = [
        str(gunicorn),
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--worker-class",
        "sync",
        "--timeout",
        "600",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with status {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("gunicorn did not start listening within 60 s")


def worker_pid(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    sys.exit("no gunicorn worker appeared")


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux ``clear_refs`` 5); False when not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def put(port: int, token: str, number: str, path: Path, filename: str) -> tuple[int, dict]:
    size = path.stat().st_size
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600, blocksize=MIB)
    with path.open("rb") as body:
        conn.request(
            "PUT",
            f"/api/v1/incidents/{number}/evidence/raw?filename={filename}&kind=other",
            body=body,
            headers={
                "Authorization": f"Token {token}",
                "X-Docket-Agency": ABBR,
                "Content-Type": "application/octet-stream",
                "Content-Length": str(size),
            },
        )
        response = conn.getresponse()
        payload = response.read()
    conn.close()
    try:
        return response.status, json.loads(payload)
    except ValueError:
        return response.status, {"raw": payload[:500].decode(errors="replace")}


# --- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=1 << 30, help="e.g. 1G, 256M")
    parser.add_argument("--no-fail", action="store_true", help="report only; exit 0")
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")

    work = Path(tempfile.mkdtemp(prefix="docket-bench-upload-"))
    db_url = create_database(server_url)
    server = None
    try:
        t0 = time.perf_counter()
        token, number = prepare(db_url)
        name = urlsplit(db_url).path.lstrip("/")
        print(f"database {name} ready in {time.perf_counter() - t0:.1f} s")
        data = work / "upload.bin"
        t0 = time.perf_counter()
        make_file(data, args.size)
        print(f"generated {args.size / MIB:.0f} MiB in {time.perf_counter() - t0:.1f} s")
        warm = work / "warm.bin"
        make_file(warm, 4 * MIB)
        (work / "media").mkdir()

        port = free_port()
        server = start_gunicorn(port, db_url, work / "media", args.size)
        worker = worker_pid(server.pid)
        status, body = put(port, token, number, warm, "warm-up.bin")
        if status != 201:
            print(f"warm-up upload answered {status}: {body}")
            return 1

        sha_before, digest = time_sha256sum(data)
        rss_before = status_kib(worker, "VmRSS")
        peak_reset = reset_peak(worker)
        start = time.perf_counter()
        status, body = put(port, token, number, data, "bench.bin")
        elapsed = time.perf_counter() - start
        hwm = status_kib(worker, "VmHWM")
        sha_after, _ = time_sha256sum(data)
        if status != 201:
            print(f"upload answered {status}: {body}")
            return 1
        if body.get("sha256") != digest:
            print(f"stored SHA-256 {body.get('sha256')} differs from sha256sum's {digest}")
            return 1

        sha_time = (sha_before + sha_after) / 2
        size_mib = args.size / MIB
        ratio = sha_time / elapsed
        growth_mib = (hwm - rss_before) / 1024
        print()
        print(f"file                  {size_mib:10.0f} MiB (SHA-256 matches sha256sum)")
        print(f"upload (HTTP PUT)     {elapsed:10.2f} s   {size_mib / elapsed:8.1f} MiB/s")
        print(
            f"sha256sum             {sha_time:10.2f} s   {size_mib / sha_time:8.1f} MiB/s"
            f"   (runs: {sha_before:.2f} s before, {sha_after:.2f} s after)"
        )
        print(
            f"throughput ratio      {ratio:10.2f}     target >= {TARGET_RATIO}"
            f"   {'OK' if ratio >= TARGET_RATIO else 'MISSED'}"
        )
        print(
            f"worker RSS before     {rss_before / 1024:10.1f} MiB; peak during upload "
            f"{hwm / 1024:.1f} MiB{'' if peak_reset else ' (peak not resettable: since start)'}"
        )
        print(
            f"peak memory growth    {growth_mib:10.1f} MiB   target < {TARGET_GROWTH_MIB} MiB"
            f"   {'OK' if growth_mib < TARGET_GROWTH_MIB else 'MISSED'}"
        )
        missed = ratio < TARGET_RATIO or growth_mib >= TARGET_GROWTH_MIB
        return 1 if missed and not args.no_fail else 0
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        drop_database(db_url)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
