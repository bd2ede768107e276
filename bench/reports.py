"""Report rendering: the whole path against a bare WeasyPrint render of the same HTML.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/docket_bench_reports \\
        .venv/bin/python bench/reports.py [--runs 3] [--events 2400]

Two reports: (a) the demo incident's supplemental report 1 (``load_demo``), (b) the
supplemental of a synthesised large incident of the demo agency (``--events`` handler
actions in its history, which its timeline prints: about 100 pages).

For each, the whole path — ``gather`` (the database reads), ``render_html`` (Docket's
templates), ``render_pdf`` (WeasyPrint PDF/UA-1 behind Docket's URL fetcher, then the pikepdf
mending) and the store (the bytes written through Django's storage into a temporary
MEDIA_ROOT and hashed back with ``core.storage.hash_stored``) — against, in the same run, a
bare ``weasyprint.HTML(...).write_pdf(pdf_variant="pdf/ua-1")`` of the same HTML (with the same
fetcher, which only reads the font files). Medians over ``--runs``, of CPU time
(``time.process_time``) and wall time; CPU seconds per page; the peak Python memory of one
more run of each under ``tracemalloc`` (not timed). Target: the whole path at most 1.15× the
bare render (CPU). Exit status 1 when missed, unless ``--no-fail``.

The bench database is created and migrated when missing; the demo and the large incident are
loaded once and reused.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/docket_bench_reports")

TARGET_RATIO = 1.15
LARGE_TITLE = "Bench: large incident for a 100-page report"


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit(f"bench/reports.py measures PostgreSQL; DATABASE_URL is {url!r}")
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def setup_django(media_root: str) -> None:
    os.environ["DOCKET_MEDIA_ROOT"] = media_root
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.MEDIA_ROOT = media_root
    call_command("migrate", verbosity=0, interactive=False)


def demo_supplemental():
    from django.core.management import call_command

    from accounts.models import Agency
    from incidents.models import Incident
    from reporting.models import Obligation

    agency = Agency.objects.filter(abbreviation="DEMO").first()
    if agency is None:
        call_command("load_demo", stdout=io.StringIO())
        agency = Agency.objects.get(abbreviation="DEMO")
    incident = Incident.objects.get(agency=agency, title="Compromised store-frontend-ping-php pod")
    return Obligation.objects.select_related("rule", "incident").get(
        incident=incident, rule__key="supplemental", sequence=1
    )


def large_supplemental(events: int):
    """The supplemental of a major incident of the demo agency with ``events`` handler actions."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from accounts.context import context_for
    from accounts.models import Agency
    from incidents.models import EventKind, Incident, IncidentEvent
    from incidents.services import (
        additional_information_record,
        determination_record,
        incident_open,
    )
    from reporting.models import Obligation

    agency = Agency.objects.get(abbreviation="DEMO")
    incident = Incident.objects.filter(agency=agency, title=LARGE_TITLE).first()
    users = get_user_model().objects
    if incident is None:
        now = timezone.now()
        isso, approver = users.get(username="isso"), users.get(username="approver")
        store = agency.systems.get(acronym="STORE")
        incident = incident_open(
            ctx=context_for(isso, agency), title=LARGE_TITLE, systems=[store.pk], now=now
        )
        determination_record(
            ctx=context_for(approver, agency),
            incident=incident,
            decision="major",
            rationale="Synthesised for the benchmark.",
            basis_at=now,
            now=now,
        )
        additional_information_record(
            ctx=context_for(isso, agency), incident=incident, summary="More.", now=now
        )
    have = IncidentEvent.objects.filter(incident=incident, kind=EventKind.UPDATED).count()
    if have < events:
        start = incident.identified_at
        actor = users.get(username="isso")
        IncidentEvent.objects.bulk_create(
            IncidentEvent(
                incident=incident,
                kind=EventKind.UPDATED,
                actor=actor,
                at=start + timedelta(seconds=7 * (i + 1)),
                note=f"Handler note {i}: checked pod store-frontend-{i % 40}, "
                f"rotated credential {i % 13} and attached log excerpt {i}.",
            )
            for i in range(have, events)
        )
    return Obligation.objects.select_related("rule", "incident").get(
        incident=incident, rule__key="supplemental", sequence=1
    )


PHASES: dict[str, list[float]] = {}


def _phase(name, fn):
    started = time.process_time()
    result = fn()
    PHASES.setdefault(name, []).append(time.process_time() - started)
    return result


def whole_path(ob, now):
    """gather → HTML → PDF (render + mend) → store; returns (pdf, html). Records the CPU time
    of each phase in PHASES (``render_pdf`` is timed whole, and its mend once more alone)."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from core.storage import hash_stored
    from reporting.documents import definition_for, gather, render_html, render_pdf

    definition = definition_for("supplemental-report", ob.incident.ruleset)
    data = _phase("gather", lambda: gather("supplemental-report", obligation=ob, now=now))
    label = f"{ob.incident.number} · Supplemental report 1 · version 1"
    html = _phase("template", lambda: render_html(definition, data, {}, label=label, draft=True))
    pdf = _phase("render + mend", lambda: render_pdf(html, title=f"{definition.title} — {label}"))

    def store():
        name = default_storage.save(f"bench-reports/{ob.incident.number}.pdf", ContentFile(pdf))
        hash_stored(name)
        default_storage.delete(name)

    _phase("store", store)
    return pdf, html


def mend_alone(raw):
    from reporting.documents.mending import mend

    return _phase("of which mend", lambda: mend(raw, title="T", lang="en-US"))


def bare(html):
    import weasyprint

    from reporting.documents.render import BASE_URL, DocketFetcher

    return weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=DocketFetcher()).write_pdf(
        pdf_variant="pdf/ua-1"
    )


def measure(fn, runs):
    cpu, wall = [], []
    result = None
    for _ in range(runs):
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(cpu), statistics.median(wall), result


def peak_mib(fn) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def bench(name, ob, runs, memory=True) -> float:
    import pypdf
    from django.utils import timezone

    now = timezone.now()
    whole_path(ob, now)  # warm-up: templates, fonts, caches
    PHASES.clear()
    full_cpu, full_wall, (pdf, html) = measure(lambda: whole_path(ob, now), runs)
    bare_cpu, bare_wall, raw = measure(lambda: bare(html), runs)
    mend_alone(raw)
    pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
    full_mem = peak_mib(lambda: whole_path(ob, now)) if memory else float("nan")
    bare_mem = peak_mib(lambda: bare(html)) if memory else float("nan")
    ratio = full_cpu / bare_cpu
    print(f"\n{name}: {pages} pages, {len(pdf) / 1024:.0f} KiB")
    print(f"  {'':28} {'CPU s':>8} {'wall s':>8} {'CPU s/page':>11} {'peak MiB':>9}")
    print(
        f"  {'whole path':28} {full_cpu:8.2f} {full_wall:8.2f} {full_cpu / pages:11.3f} "
        f"{full_mem:9.1f}"
    )
    print(
        f"  {'bare WeasyPrint (baseline)':28} {bare_cpu:8.2f} {bare_wall:8.2f} "
        f"{bare_cpu / pages:11.3f} {bare_mem:9.1f}"
    )
    for phase, values in PHASES.items():
        print(f"    {phase:26} {statistics.median(values):8.3f}")
    verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
    print(f"  ratio (CPU) {ratio:.3f}×   target ≤ {TARGET_RATIO}×   {verdict}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  process peak RSS so far {rss:.0f} MiB")
    return ratio


def quiet() -> None:
    """WeasyPrint's progress and fontTools' subsetting log at INFO; the figures are the output."""
    import logging

    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(logging.WARNING)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=2400)
    parser.add_argument("--no-fail", action="store_true")
    parser.add_argument("--cases", default="demo,large", help="demo, large or both")
    parser.add_argument("--no-memory", action="store_true", help="skip the (slow) tracemalloc runs")
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])
    with tempfile.TemporaryDirectory(prefix="docket-bench-reports-") as media:
        setup_django(media)
        quiet()
        cases = set(args.cases.split(","))
        memory = not args.no_memory
        ratios = []
        if "demo" in cases:
            ratios.append(
                bench("demo supplemental report 1", demo_supplemental(), args.runs, memory)
            )
        if "large" in cases:
            ob = large_supplemental(args.events)
            name = f"large incident's supplemental ({args.events} actions)"
            ratios.append(bench(name, ob, args.runs, memory))
    missed = [r for r in ratios if r > TARGET_RATIO]
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
