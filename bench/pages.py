"""Server time of the deadline board and the incident list on a large agency.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/docket_bench .venv/bin/python bench/pages.py

Loads (once; reused on later runs) one agency with 50,000 incidents and 200,000 obligations
into its own PostgreSQL database, written with ``bulk_create`` (not the services: this is about
reading). Then requests each page through Django's test ``Client`` as a compliance officer (who
sees the whole agency): warm-up, then ``--runs`` timed requests; prints median and p95 server
time, the number of SQL queries per request, and ratios against baselines measured in the same
run. Target: p95 below 150 ms. Exit status 1 when a page misses the target or does not answer
200 (``--no-fail`` to only report).
"""

from __future__ import annotations

import argparse
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
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/docket_bench")

INCIDENTS = 50_000
OBLIGATIONS = 200_000
ABBR = "BENCH"
USERNAME = "bench-compliance"
TARGET_P95_MS = 150.0
PAGES = [("deadline board", "/deadlines/"), ("incident list", "/incidents/")]


def ensure_database(url: str) -> None:
    """Create the bench database when it does not exist yet (PostgreSQL only)."""
    import psycopg

    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit(f"bench/pages.py measures PostgreSQL; DATABASE_URL is {url!r}")
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def setup_django() -> None:
    import django
    from django.conf import settings

    django.setup()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# --- data -------------------------------------------------------------------------------------

STATES = [  # (state, weight): most incidents of a three-year history are closed
    ("closed", 55),
    ("recovered", 5),
    ("eradicated", 5),
    ("contained", 9),
    ("confirmed", 10),
    ("triage", 8),
    ("detected", 4),
    ("dismissed", 4),
]
TITLES = [
    "Credential-phishing emails to {}",
    "Web shell uploaded through {}",
    "Password spray against {}",
    "Malware beacon from a workstation in {}",
    "Unauthorized export of records from {}",
    "Compromised container in {}",
    "Lost laptop assigned to {} staff",
    "Denial of service against {}",
]
SYSTEMS = [
    ("Online Store", "STORE"),
    ("Case Management", "CASE"),
    ("Grants Portal", "GRANTS"),
    ("Human Resources", "HR"),
    ("Payroll", "PAY"),
    ("Public Website", "WEB"),
]


def load_data(now: datetime):
    """One agency, six systems, 50,000 incidents and 200,000 obligations. Returns the user."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from accounts.models import Agency, Membership, Role
    from accounts.services import agency_create, membership_grant
    from compliance.models import InformationSystem
    from incidents.models import (
        Decision,
        Determination,
        EventKind,
        Incident,
        IncidentEvent,
        IncidentSequence,
    )
    from reporting.models import Obligation
    from reporting.rules import ruleset_in_force

    User = get_user_model()
    agency = Agency.objects.filter(abbreviation=ABBR).first()
    if agency is not None:
        n_inc = Incident.objects.filter(agency=agency).count()
        n_obl = Obligation.objects.filter(incident__agency=agency).count()
        if n_inc == INCIDENTS and n_obl == OBLIGATIONS:
            print(f"reusing the loaded data: {n_inc:,} incidents, {n_obl:,} obligations")
            return User.objects.get(username=USERNAME), agency
        sys.exit(
            f"agency {ABBR} exists with {n_inc:,} incidents and {n_obl:,} obligations; "
            "drop the bench database and run again"
        )

    rng = random.Random(2026)
    started = time.perf_counter()
    print(f"loading {INCIDENTS:,} incidents and {OBLIGATIONS:,} obligations …", flush=True)
    with transaction.atomic():
        agency = agency_create(
            name="Bench Department",
            abbreviation=ABBR,
            time_zone="America/New_York",
            now=now - timedelta(days=3 * 366),
        )
        ruleset = ruleset_in_force(agency, now)
        rules = {r.key: r for r in ruleset.rules.all()}
        systems = [
            InformationSystem.objects.create(
                agency=agency,
                name=name,
                acronym=acr,
                confidentiality=2,
                integrity=2,
                availability=1,
            )
            for name, acr in SYSTEMS
        ]
        user = User.objects.create_user(USERNAME, f"{USERNAME}@example.gov", "bench-password-1")
        membership_grant(user=user, agency=agency, role=Role.COMPLIANCE_OFFICER)
        approver = User.objects.create_user("bench-approver", "bench-approver@example.gov")
        membership_grant(user=approver, agency=agency, role=Role.APPROVING_OFFICIAL)
        isso = User.objects.create_user("bench-isso", "bench-isso@example.gov")
        membership_grant(user=isso, agency=agency, role=Role.ISSO, systems=systems[:2])
        assert Membership.objects.filter(agency=agency).count() == 3

        # Incidents: identified over the past three years, oldest first; the recent ones are
        # the ones still open.
        state_names = [s for s, _ in STATES]
        state_weights = [w for _, w in STATES]
        span = timedelta(days=3 * 365)
        incidents, per_year = [], {}
        for i in range(INCIDENTS):
            identified = now - span + span * (i / INCIDENTS) + timedelta(minutes=rng.randint(0, 59))
            age = now - identified
            if age < timedelta(days=20):
                state = rng.choices(state_names[1:], state_weights[1:])[0]
            else:
                state = rng.choices(["closed", "dismissed"], [93, 7])[0]
            year = identified.astimezone(agency.tz).year
            per_year[year] = per_year.get(year, 0) + 1
            created = identified + timedelta(minutes=rng.randint(2, 40))
            system = rng.choice(systems)
            incidents.append(
                Incident(
                    agency=agency,
                    number=f"{ABBR}-{year}-{per_year[year]:05d}",
                    year=year,
                    sequence=per_year[year],
                    title=rng.choice(TITLES).format(system.name),
                    summary="Synthetic incident for the page benchmark.",
                    state=state,
                    identified_at=identified,
                    ruleset=ruleset,
                    created_by=user,
                    created_at=created,
                    updated_at=created + timedelta(hours=rng.randint(1, 72)),
                    nciss_level=rng.choice([None, 1, 2, 3]),
                    poc_name="Bench Compliance",
                    poc_email="bench-compliance@example.gov",
                )
            )
            incidents[-1]._system = system
        Incident.objects.bulk_create(incidents, batch_size=5000)
        IncidentSequence.objects.bulk_create(
            [IncidentSequence(agency=agency, year=y, last_value=n) for y, n in per_year.items()]
        )
        Through = Incident.systems.through
        Through.objects.bulk_create(
            [Through(incident_id=inc.pk, informationsystem_id=inc._system.pk) for inc in incidents],
            batch_size=10000,
        )
        IncidentEvent.objects.bulk_create(
            [
                IncidentEvent(
                    incident=inc,
                    kind=EventKind.OPENED,
                    actor=user,
                    at=inc.created_at,
                    to_state="detected",
                    data={"number": inc.number},
                )
                for inc in incidents
            ],
            batch_size=10000,
        )

        # Obligations: every incident owes CISA; 40% were determined major and owe the CISA
        # update, Congress and the IG, plus supplementals until 200,000 obligations exist.
        obligations, determinations = [], []
        majors = []

        def obligation(inc, key, anchor, sequence=1):
            rule = rules[key]
            if rule.offset_unit == "hours":
                due = anchor + timedelta(hours=rule.offset_amount)
            else:
                local = anchor.astimezone(agency.tz).date() + timedelta(days=rule.offset_amount)
                due = datetime.combine(
                    local + timedelta(days=1), datetime.min.time(), tzinfo=agency.tz
                ).astimezone(UTC) - timedelta(microseconds=1)
            ob = Obligation(
                incident=inc,
                rule=rule,
                sequence=sequence,
                anchor_at=anchor,
                anchor_ref="incident" if key == "cisa-initial" else "determination",
                due_at=due,
                recipients=list(rule.recipients),
                created_at=anchor,
            )
            if inc.state == "dismissed":
                ob.withdrawn_at, ob.withdrawn_reason = anchor + timedelta(minutes=30), "dismissed"
            elif inc.state == "closed" or due < now - timedelta(days=2) or rng.random() < 0.5:
                if due < now or rng.random() < 0.6:
                    late = rng.random() < 0.08
                    ob.met_at = min(
                        due + timedelta(hours=rng.randint(1, 30))
                        if late
                        else due - (due - anchor) * rng.uniform(0.05, 0.95),
                        now - timedelta(minutes=1),
                    )
                    if ob.met_at < anchor:
                        ob.met_at = anchor + timedelta(minutes=1)
            elif rng.random() < 0.05:
                ob.waived_at, ob.waived_by, ob.waive_reason = now, approver, "Duplicate report."
            obligations.append(ob)

        for inc in incidents:
            obligation(inc, "cisa-initial", inc.identified_at)
            if inc.state != "dismissed" and inc.state != "detected" and rng.random() < 0.4:
                majors.append(inc)
        for inc in majors:
            basis = inc.identified_at + timedelta(hours=rng.randint(1, 30))
            basis = min(basis, now - timedelta(minutes=5))
            determinations.append(
                Determination(
                    incident=inc,
                    ruleset=ruleset,
                    harms={"public_confidence": {"likely": True, "note": ""}},
                    nciss_level=3,
                    recommendation=Decision.MAJOR,
                    criteria_fired=[],
                    decision=Decision.MAJOR,
                    rationale="Synthetic determination.",
                    basis_at=basis,
                    decided_by=approver,
                    recorded_at=basis,
                )
            )
            for key in ("cisa-major-update", "congress-7-day", "ig-7-day"):
                obligation(inc, key, basis)
            inc._basis = basis
        sequences = {inc.pk: 0 for inc in majors}
        while len(obligations) < OBLIGATIONS:
            inc = rng.choice(majors)
            sequences[inc.pk] += 1
            anchor = min(inc._basis + timedelta(days=3 * sequences[inc.pk]), now)
            obligation(inc, "supplemental", anchor, sequences[inc.pk])
        Determination.objects.bulk_create(determinations, batch_size=5000)
        Obligation.objects.bulk_create(obligations, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
    return user, agency


# --- measuring --------------------------------------------------------------------------------


def measure(fn, runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--no-fail", action="store_true", help="report only; exit 0")
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from incidents.models import Incident
    from reporting.models import Obligation

    now = timezone.now().replace(microsecond=0)
    user, agency = load_data(now)
    open_now = Obligation.objects.filter(incident__agency=agency).open().count()
    overdue = Obligation.objects.filter(incident__agency=agency, due_at__lt=now).open().count()
    print(
        f"agency {ABBR}: {Incident.objects.filter(agency=agency).count():,} incidents, "
        f"{Obligation.objects.filter(incident__agency=agency).count():,} obligations "
        f"({open_now:,} open, {overdue:,} of them overdue)"
    )

    signed_in = Client()
    signed_in.force_login(user)
    visitor = Client()

    def get(client, url, expect=200):
        def _get():
            response = client.get(url)
            if response.status_code != expect:
                raise RuntimeError(f"GET {url} answered {response.status_code}, not {expect}")
            return response

        return _get

    def select_1():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    rows = []  # (name, times, queries, bytes, is_page, error)

    def bench(name, fn, is_page=False):
        try:
            with CaptureQueriesContext(connection) as ctx:
                response = fn()
            queries = len(ctx.captured_queries)
            size = len(response.content) if response is not None else 0
            times = measure(fn, args.runs, args.warmup)
            rows.append((name, times, queries, size, is_page, None))
        except Exception as exc:  # report every page, even a broken one
            rows.append((name, [], 0, 0, is_page, f"{type(exc).__name__}: {exc}"))

    bench("baseline: SELECT 1 round trip", select_1)
    bench("baseline: sign-in page, signed out", get(visitor, "/accounts/login/"))
    bench("baseline: / redirect, signed in", get(signed_in, "/", expect=302))
    for name, url in PAGES:
        bench(f"{name} {url}", get(signed_in, url), is_page=True)

    base_page = next((r for r in rows if r[0].startswith("baseline: sign-in") and r[1]), None)
    base_sql = next((r for r in rows if r[0].startswith("baseline: SELECT") and r[1]), None)
    print()
    print(
        f"{args.runs} timed requests each after {args.warmup} warm-up; server time through "
        "django.test.Client (no network), PostgreSQL "
        f"{connection.cursor().connection.info.server_version // 10000}"
    )
    header = (
        f"{'what':<40} {'median ms':>9} {'p95 ms':>8} {'queries':>7} {'KiB':>6} "
        f"{'×sign-in':>8} {'×SELECT 1':>9}  verdict"
    )
    print(header)
    print("-" * len(header))
    failed = False
    for name, times, queries, size, is_page, error in rows:
        if error:
            print(f"{name:<40} ERROR {error}")
            failed = failed or is_page
            continue
        med, high = statistics.median(times), p95(times)
        ratio_page = f"{med / statistics.median(base_page[1]):.1f}" if base_page else "-"
        ratio_sql = f"{med / statistics.median(base_sql[1]):.0f}" if base_sql else "-"
        verdict = ""
        if is_page:
            ok = high < TARGET_P95_MS
            verdict = "ok" if ok else f"SLOW (target p95 < {TARGET_P95_MS:.0f} ms)"
            failed = failed or not ok
        print(
            f"{name:<40} {med:>9.1f} {high:>8.1f} {queries:>7} {size / 1024:>6.0f} "
            f"{ratio_page:>8} {ratio_sql:>9}  {verdict}"
        )
    return 1 if failed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
