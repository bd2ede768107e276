"""What the audit trail costs: an incident update and a delivery of detections, each with its
audit entry and without it, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/docket_bench .venv/bin/python bench/audit.py

Creates a temporary database next to the one ``DATABASE_URL`` names (``<name>_ingest_<pid>``,
as ``bench/ingest.py`` does, whose helpers this script imports), migrates it, and makes one
agency with two systems, a compliance officer and an incident. Then, alternating the two
variants run by run (ABAB…, so drift on a shared host hits both alike):

1. ``incidents.services.incident_update`` changing the title (``--updates`` runs each): with
   its entry (as shipped) and without (the service's ``record_for`` replaced by a no-op);
2. a delivery of ``--batch-size`` alerts (built from the real Falco rules by ``bench/ingest.py``)
   posted to ``/api/v1/ingest/falco`` through Django's test client (``--batches`` each): with
   its one entry and without (``incidents.api.ingest.delivery_record`` a no-op).

Printed: the median and p90 of each variant in milliseconds and the ratio of the medians.
Target: the entry adds at most 25% to the update's median; the delivery's ratio shows the
batch figure unchanged within noise (≤ 1.05). Exit status 1 when a target is missed
(``--no-fail``: report only). The database is dropped at the end (``--keep-db`` keeps it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import ingest as ingest_bench  # noqa: E402  (bench/ingest.py: database helpers, alerts)

TARGET_UPDATE_RATIO = 1.25
TARGET_BATCH_RATIO = 1.05


@contextmanager
def replaced(module, name: str, value):
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)


def _noop(*args, **kwargs):
    return None


def setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    agency, token = ingest_bench.setup_django()
    from django.contrib.auth import get_user_model

    from accounts.context import context_for
    from accounts.models import Role
    from accounts.services import membership_grant
    from incidents.services import incident_open

    user = get_user_model().objects.create_user("bench-co", password="bench-password-1")
    membership_grant(user=user, agency=agency, role=Role.COMPLIANCE_OFFICER)
    ctx = context_for(user, agency)
    incident = incident_open(ctx=ctx, title="Bench incident")
    return agency, token, ctx, incident


def time_updates(ctx, incident, runs: int) -> tuple[list[float], list[float]]:
    import incidents.services as services

    with_entry, without = [], []
    for n in range(runs * 2):
        audited = n % 2 == 0
        start = time.perf_counter()
        if audited:
            services.incident_update(ctx=ctx, incident=incident, changes={"title": f"t{n}"})
        else:
            with replaced(services, "record_for", _noop):
                services.incident_update(ctx=ctx, incident=incident, changes={"title": f"t{n}"})
        (with_entry if audited else without).append((time.perf_counter() - start) * 1000)
    return with_entry, without


def time_batches(token: str, batches: int, size: int) -> tuple[list[float], list[float]]:
    from django.test import Client

    import incidents.api.ingest as endpoint
    import incidents.ingest as ingestion

    # Grouping runs after commit in Celery, not in the request (settings.test runs tasks
    # eagerly): left out of both variants, as bench/ingest.py leaves it out.
    ingestion._enqueue_grouping = _noop

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="localhost")
    gen = ingest_bench.Alerts()
    bodies = [json.dumps(gen.many(size)) for _ in range(batches * 2 + 2)]
    for body in bodies[:2]:  # warm-up: the token's first use, the caches
        client.post(ingest_bench.URL, data=body, content_type="application/json")
    with_entry, without = [], []
    for n, body in enumerate(bodies[2:]):
        audited = n % 2 == 0
        start = time.perf_counter()
        if audited:
            response = client.post(ingest_bench.URL, data=body, content_type="application/json")
        else:
            with replaced(endpoint, "delivery_record", _noop):
                response = client.post(ingest_bench.URL, data=body, content_type="application/json")
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200 or response.json()["accepted"] != size:
            raise RuntimeError(f"delivery {n}: {response.status_code} {response.content[:200]}")
        (with_entry if audited else without).append(elapsed)
    return with_entry, without


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=400, help="incident updates per variant")
    parser.add_argument("--batches", type=int, default=12, help="deliveries per variant")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--no-fail", action="store_true", help="report only; exit 0")
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/docket_bench")
    db_url, admin_url = ingest_bench.temporary_database(base_url)
    os.environ["DATABASE_URL"] = db_url
    try:
        t0 = time.perf_counter()
        agency, token, ctx, incident = setup()
        print(f"database {urlsplit(db_url).path[1:]} migrated in {time.perf_counter() - t0:.0f} s")
        upd_with, upd_without = time_updates(ctx, incident, args.updates)
        bat_with, bat_without = time_batches(token, args.batches, args.batch_size)
        from audit.models import AuditEntry
        from audit.trail import check_agency_chain

        entries = AuditEntry.objects.filter(agency=agency)
        updates = entries.filter(act="incident_edit").count()
        deliveries = entries.filter(act="detections_ingest").count()
        problems = check_agency_chain(agency)
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep_db:
            print(f"kept database {db_url}")
        else:
            ingest_bench.drop_database(db_url, admin_url)

    if updates != args.updates or deliveries != args.batches + 2 or problems:
        print(f"entries: {updates} updates, {deliveries} deliveries; chain: {problems}")
        return 1
    rows = [
        (
            "incident update",
            upd_with,
            upd_without,
            TARGET_UPDATE_RATIO,
            f"≤ {TARGET_UPDATE_RATIO:.2f}×",
        ),
        (
            f"delivery of {args.batch_size:,} alerts",
            bat_with,
            bat_without,
            TARGET_BATCH_RATIO,
            f"≤ {TARGET_BATCH_RATIO:.2f}× (noise)",
        ),
    ]
    header = (
        f"{'what':<28} {'runs':>5} {'with entry p50/p90 ms':>22} {'without p50/p90 ms':>20} "
        f"{'ratio':>7}  {'target':<18} verdict"
    )
    print()
    print(header)
    print("-" * len(header))
    failed = False
    for name, with_, without, target, words in rows:
        ratio = statistics.median(with_) / statistics.median(without)
        ok = ratio <= target
        failed = failed or not ok
        print(
            f"{name:<28} {len(with_):>5} "
            f"{statistics.median(with_):>12.2f} / {p90(with_):>7.2f} "
            f"{statistics.median(without):>10.2f} / {p90(without):>7.2f} "
            f"{ratio:>7.3f}  {words:<18} {'ok' if ok else 'MISSED'}"
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nIn-process (Django test client, settings config.settings.test), PostgreSQL; the "
        f"chain of {updates + deliveries} entries checked intact; {os.cpu_count()} CPUs, load "
        f"average {load:.1f} at the end."
    )
    return 1 if failed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
