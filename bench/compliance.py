"""Compliance benchmarks: importing NIST's HIGH catalog, and the "as of" state of a system.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/docket_bench_compliance \\
        .venv/bin/python bench/compliance.py

(a) Import of the HIGH baseline resolved catalog from ``shared/data/oscal`` beside the
    repository, as a ratio to a bare ``json.load`` of the same file in the same run: the first
    import in the process (which pays for building trestle's validators), then fresh imports
    into an emptied framework and re-imports over an existing one (medians).
(b) ``system_state_as_of`` for 100 systems × 370 controls (the HIGH baseline) × 10
    assessments each over three years (370,000 rows, written once with ``bulk_create`` and
    reused on later runs): median and p95 time over ``--runs`` calls on random systems and
    instants, and the number of SQL queries per call.

The bench database is created and migrated when missing. Exit status 1 when the as-of query
misses its target (p95 below 150 ms, at most 3 queries) unless ``--no-fail``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/docket_bench_compliance")

OSCAL_DIR = ROOT.parent / "shared" / "data" / "oscal"
HIGH_CATALOG = OSCAL_DIR / "NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog-min.json"
HIGH_PROFILE = OSCAL_DIR / "NIST_SP-800-53_rev5_HIGH-baseline_profile.json"
ABBR = "BENCHC"
USERNAME = "bench-compliance-officer"
SYSTEMS = 100
ASSESSMENTS_PER_CONTROL = 10
IMPORT_FRAMEWORK = "Bench import scratch"  # a framework of its own, emptied between runs
TARGET_P95_MS = 150.0  # the page target of bench/pages.py: a system page shows this state
TARGET_QUERIES = 3


def ensure_database(url: str) -> None:
    """Create the bench database when it does not exist yet (PostgreSQL only)."""
    import psycopg

    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit(f"bench/compliance.py measures PostgreSQL; DATABASE_URL is {url!r}")
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


# --- (a) catalog import -----------------------------------------------------------------------


def bench_import(runs: int) -> None:
    from compliance.models import Framework
    from compliance.services import catalog_import

    def bare_load():
        with open(HIGH_CATALOG, "rb") as fh:
            json.load(fh)

    def fresh():
        Framework.objects.filter(name=IMPORT_FRAMEWORK).delete()
        return catalog_import(path_or_file=HIGH_CATALOG, framework_name=IMPORT_FRAMEWORK)

    Framework.objects.filter(name=IMPORT_FRAMEWORK).delete()
    first = timed(
        lambda: catalog_import(path_or_file=HIGH_CATALOG, framework_name=IMPORT_FRAMEWORK)
    )
    loads = [timed(bare_load) for _ in range(runs)]
    reimports, creates = [], []
    for _ in range(runs):
        reimports.append(
            timed(
                lambda: catalog_import(path_or_file=HIGH_CATALOG, framework_name=IMPORT_FRAMEWORK)
            )
        )
        Framework.objects.filter(name=IMPORT_FRAMEWORK).delete()
        creates.append(
            timed(
                lambda: catalog_import(path_or_file=HIGH_CATALOG, framework_name=IMPORT_FRAMEWORK)
            )
        )
    result = fresh()
    Framework.objects.filter(name=IMPORT_FRAMEWORK).delete()

    load = statistics.median(loads)
    size = HIGH_CATALOG.stat().st_size / 1024 / 1024
    print(f"(a) import of {HIGH_CATALOG.name} ({size:.1f} MiB, {result.created} controls)")
    print(f"    bare json.load, median of {runs}:        {load:8.1f} ms  (1.0×)")
    print(f"    first import in the process (cold):     {first:8.1f} ms  ({first / load:.1f}×)")
    med = statistics.median(creates)
    print(f"    fresh import (create), median of {runs}:  {med:8.1f} ms  ({med / load:.1f}×)")
    med = statistics.median(reimports)
    print(f"    re-import (update), median of {runs}:     {med:8.1f} ms  ({med / load:.1f}×)")


# --- (b) as-of query --------------------------------------------------------------------------

STATUSES = [  # (status, weight) of an assessment
    ("satisfied", 70),
    ("other_than_satisfied", 15),
    ("not_applicable", 10),
    ("not_assessed", 5),
]


def load_history(now: datetime):
    """The HIGH framework and baseline, one agency with 100 systems and their history."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from accounts.models import Agency, Role
    from accounts.services import agency_create, membership_grant
    from compliance.models import Baseline, ControlAssessment, InformationSystem
    from compliance.services import baseline_import, catalog_import

    User = get_user_model()
    catalog_import(path_or_file=HIGH_CATALOG)
    baseline_import(path_or_file=HIGH_PROFILE)
    baseline = Baseline.objects.get(name="HIGH")
    controls = list(baseline.controls.all())
    expected = SYSTEMS * len(controls) * ASSESSMENTS_PER_CONTROL

    agency = Agency.objects.filter(abbreviation=ABBR).first()
    if agency is not None:
        n = ControlAssessment.objects.filter(system__agency=agency).count()
        if n == expected:
            print(f"reusing the loaded history: {n:,} assessments")
            return User.objects.get(username=USERNAME), agency, baseline
        sys.exit(f"agency {ABBR} has {n:,} assessments, not {expected:,}; drop the bench database")

    rng = random.Random(2026)
    started = time.perf_counter()
    print(f"loading {expected:,} assessments …", flush=True)
    span = timedelta(days=3 * 365)
    names = [s for s, _ in STATUSES]
    weights = [w for _, w in STATUSES]
    with transaction.atomic():
        agency = agency_create(
            name="Compliance Bench Department",
            abbreviation=ABBR,
            time_zone="America/New_York",
            now=now - span - timedelta(days=30),
        )
        user = User.objects.create_user(USERNAME, f"{USERNAME}@example.gov", "bench-password-1")
        membership_grant(user=user, agency=agency, role=Role.COMPLIANCE_OFFICER)
        systems = InformationSystem.objects.bulk_create(
            InformationSystem(
                agency=agency,
                name=f"Bench system {i:03d}",
                acronym=f"SYS{i:03d}",
                confidentiality=3,
                integrity=3,
                availability=2,
                baseline=baseline,
            )
            for i in range(SYSTEMS)
        )
        batch = []
        for system in systems:
            for control in controls:
                # Ten assessments spread over three years, each a few months after the last.
                moments = sorted(now - span * rng.random() for _ in range(ASSESSMENTS_PER_CONTROL))
                for at in moments:
                    batch.append(
                        ControlAssessment(
                            system=system,
                            control=control,
                            status=rng.choices(names, weights)[0],
                            implementation_status="implemented",
                            method=rng.choice(["examine", "interview", "test"]),
                            assessed_at=at,
                            assessor=user,
                            recorded_at=at + timedelta(hours=rng.randint(1, 72)),
                            recorded_by=user,
                        )
                    )
            if len(batch) >= 20_000:
                ControlAssessment.objects.bulk_create(batch, batch_size=5_000)
                batch = []
        ControlAssessment.objects.bulk_create(batch, batch_size=5_000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
    return user, agency, baseline


def bench_as_of(now: datetime, runs: int, warmup: int, explain: bool) -> bool:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.context import context_for
    from compliance.models import ControlAssessment, InformationSystem
    from compliance.selectors import latest_assessments, system_state_as_of

    user, agency, baseline = load_history(now)
    framework = baseline.framework
    ctx = context_for(user, agency)
    systems = list(InformationSystem.objects.filter(agency=agency))
    rng = random.Random(7)
    span = timedelta(days=3 * 365)

    def call(at):
        system = rng.choice(systems)
        return system_state_as_of(ctx=ctx, system=system, framework=framework, at=at)

    with CaptureQueriesContext(connection) as captured:
        state = call(now)
    queries = len(captured.captured_queries)
    assert state.total == baseline.controls.count()

    rows = []
    for label, instant in (("at a random past instant", None), ("now (latest state)", now)):
        for _ in range(warmup):
            call(instant or now - span * rng.random())
        times = [timed(lambda i=instant: call(i or now - span * rng.random())) for _ in range(runs)]
        rows.append((label, times))

    total = ControlAssessment.objects.filter(system__agency=agency).count()
    version = connection.cursor().connection.info.server_version // 10000
    print(
        f"(b) system_state_as_of: {len(systems)} systems × {state.total} controls × "
        f"{ASSESSMENTS_PER_CONTROL} assessments = {total:,} rows; {runs} calls each after "
        f"{warmup} warm-up, PostgreSQL {version}"
    )
    ok = queries <= TARGET_QUERIES
    for label, times in rows:
        med, high = statistics.median(times), p95(times)
        ok = ok and high < TARGET_P95_MS
        print(f"    {label:<26} median {med:6.1f} ms   p95 {high:6.1f} ms   {queries} queries")
    verdict = "met" if ok else "MISSED"
    print(f"    target: p95 < {TARGET_P95_MS:.0f} ms, ≤ {TARGET_QUERIES} queries → {verdict}")
    if explain:
        qs = latest_assessments(ctx=ctx, system=systems[0], framework=framework, at=now - span / 2)
        print("    plan of the latest-per-control query:")
        for line in qs.explain(analyze=True).splitlines():
            print(f"      {line}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--import-runs", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="print the query plan")
    parser.add_argument("--no-fail", action="store_true", help="report only; exit 0")
    args = parser.parse_args()
    if not HIGH_CATALOG.is_file():
        sys.exit(f"{HIGH_CATALOG} not found: shared/data must lie beside the repository")

    ensure_database(os.environ["DATABASE_URL"])
    setup_django()
    now = datetime.now(UTC).replace(microsecond=0)
    bench_import(args.import_runs)
    print()
    ok = bench_as_of(now, args.runs, args.warmup, args.explain)
    return 0 if ok or args.no_fail else 1


if __name__ == "__main__":
    sys.exit(main())
