"""``manage.py ingest_falco FILE --agency FTA``: import what Falco's file output wrote.

JSON lines (``file_output`` with ``json_output: true``), gzip-compressed or not (recognised by
content), stored with the same semantics as ``POST /api/v1/ingest/falco``: duplicates are
recognised by content, bad lines are reported with their line number and skipped, grouping
follows each committed batch. A progress bar is drawn on standard error when it is a terminal.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Agency
from incidents import falco
from incidents.ingest import IngestResult, agency_selectors, alerts_store


class Progress:
    """A one-line progress bar over bytes of the file (compressed bytes for gzip)."""

    def __init__(self, total: int, stream, enabled: bool):
        self.total, self.stream, self.enabled = max(total, 1), stream, enabled
        self.last = 0.0

    def update(self, done: int, lines: int, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self.last < 0.1):
            return
        self.last = now
        share = min(done / self.total, 1.0)
        bar = "#" * int(share * 30)
        self.stream.write(f"\r[{bar:<30}] {share:6.1%} {lines:,} lines")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


class Command(BaseCommand):
    help = "Import Falco alerts from a JSON-lines file (optionally gzip) into an agency."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Falco file output: JSON lines, optionally gzip.")
        parser.add_argument("--agency", required=True, help="Agency abbreviation, e.g. FTA.")
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Alerts per transaction (default 1000)."
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="No progress bar, even on a terminal."
        )

    def handle(self, *args, file, agency, batch_size, no_progress, **options):
        found = Agency.objects.filter(abbreviation=agency.strip().upper()).first()
        if found is None:
            raise CommandError(f"No agency with abbreviation {agency!r}.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            raw = open(file, "rb")  # noqa: SIM115 - closed below, wrapped by gzip
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from exc
        with raw:
            size = os.fstat(raw.fileno()).st_size
            compressed = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            binary = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
            text = io.TextIOWrapper(binary, encoding="utf-8", errors="strict", newline="")
            progress = Progress(size, sys.stderr, sys.stderr.isatty() and not no_progress)
            try:
                total = self._import(found, text, batch_size, progress, raw)
            except (UnicodeDecodeError, EOFError, gzip.BadGzipFile, OSError) as exc:
                progress.close()
                raise CommandError(f"{file} cannot be read: {exc}.") from exc
            progress.close()
        for entry in total.rejected:
            self.stderr.write(f"line {entry['line']}: {entry['reason']}")
        self.stdout.write(
            f"{file}: accepted {total.accepted}, duplicates {total.duplicates}, "
            f"rejected {len(total.rejected)}."
        )

    def _import(self, agency, text, batch_size, progress, raw) -> IngestResult:
        total = IngestResult()
        selectors = agency_selectors(agency)
        batch: list[falco.Item] = []
        lines = 0

        def flush():
            total.add(alerts_store(agency=agency, items=batch, selectors=selectors))
            batch.clear()

        for item in falco.iter_lines(text):
            lines = item.line
            batch.append(item)
            if len(batch) >= batch_size:
                flush()
                progress.update(raw.tell(), lines)
        flush()
        progress.update(raw.tell(), lines, force=True)
        return total
