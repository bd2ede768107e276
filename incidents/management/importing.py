"""What ``ingest_falco`` and ``ingest_sysdig`` share: reading a detection tool's export file
(JSON lines or one JSON array, gzip-compressed or not, recognised by content), storing it in
batches through an ingestion service with the semantics of the HTTP endpoints, reporting bad
items by line (or array index), and a progress bar on a terminal."""

from __future__ import annotations

import gzip
import io
import os
import sys
import time

from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import Agency
from audit.commands import AuditedCommand
from incidents import falco
from incidents.ingest import IngestResult, agency_selectors, delivery_record


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


class ImportCommand(AuditedCommand):
    """``manage.py <name> FILE --agency ABBR``; subclasses name ``store`` (an ingestion
    service taking ``agency``, ``items``, ``selectors``) and what the file holds."""

    what = "alerts"
    file_help = "JSON lines or a JSON array, optionally gzip."

    @staticmethod
    def store(**kwargs) -> IngestResult:  # pragma: no cover - every subclass names one
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument("file", help=self.file_help)
        parser.add_argument("--agency", required=True, help="Agency abbreviation, e.g. FTA.")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=1000,
            help=f"{self.what.capitalize()} per transaction (default 1000).",
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
            except (
                UnicodeDecodeError,
                EOFError,
                gzip.BadGzipFile,
                OSError,
                falco.Unreadable,
            ) as exc:
                progress.close()
                raise CommandError(f"{file} cannot be read: {exc}.") from exc
            progress.close()
        delivery_record(token=None, agency=found, result=total, now=timezone.now())
        for entry in total.rejected:
            where = f"line {entry['line']}" if "line" in entry else f"item {entry['index']}"
            self.stderr.write(f"{where}: {entry['reason']}")
        self.stdout.write(
            f"{file}: accepted {total.accepted}, duplicates {total.duplicates}, "
            f"rejected {len(total.rejected)}."
        )

    def _items(self, text):
        """JSON lines, streamed; or, when the file starts with ``[``, one JSON array."""
        head, newlines = text.read(1), 0
        while head and head.isspace():
            newlines += head == "\n"
            head = text.read(1)
        if head == "[":
            yield from falco.parse_body(head + text.read(), "application/json")
            return

        def lines():
            first = True
            for line in text:
                if first:
                    first = False
                    yield head + line
                else:
                    yield line
            if first and head:
                yield head

        yield from falco.iter_lines(lines(), first_line=1 + newlines)

    def _import(self, agency, text, batch_size, progress, raw) -> IngestResult:
        total = IngestResult()
        selectors = agency_selectors(agency)
        batch: list[falco.Item] = []
        lines = 0

        def flush():
            if batch:
                total.add(type(self).store(agency=agency, items=batch, selectors=selectors))
            batch.clear()

        for item in self._items(text):
            lines = item.line or item.index + 1
            batch.append(item)
            if len(batch) >= batch_size:
                flush()
                progress.update(raw.tell(), lines)
        flush()
        progress.update(raw.tell(), lines, force=True)
        return total
