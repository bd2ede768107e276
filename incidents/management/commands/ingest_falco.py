"""``manage.py ingest_falco FILE --agency FTA``: import what Falco's file output wrote.

JSON lines (``file_output`` with ``json_output: true``) or one JSON array, gzip-compressed or
not (recognised by content), stored with the same semantics as ``POST /api/v1/ingest/falco``:
duplicates are recognised by content, bad lines are reported with their line number and
skipped, grouping follows each committed batch. A progress bar is drawn on standard error when
it is a terminal (``incidents.management.importing``).
"""

from __future__ import annotations

from incidents.ingest import alerts_store
from incidents.management.importing import ImportCommand


class Command(ImportCommand):
    help = "Import Falco alerts from a JSON-lines file (optionally gzip) into an agency."
    what = "alerts"
    file_help = "Falco file output: JSON lines, optionally gzip."
    store = staticmethod(alerts_store)
