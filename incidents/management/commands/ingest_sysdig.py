"""``manage.py ingest_sysdig FILE --agency FTA``: import Sysdig Secure runtime policy events and
activity-audit command records exported to a file.

JSON lines or one JSON array, gzip-compressed or not (recognised by content), the two shapes
mixed, stored with the same semantics as ``POST /api/v1/ingest/sysdig``: policy events become
detections (grouped after each committed batch), command records ``CommandRecord`` rows; both
are recognised by content on redelivery; bad items are reported with their line (or array
index) and skipped.
"""

from __future__ import annotations

from incidents.ingest import sysdig_store
from incidents.management.importing import ImportCommand


class Command(ImportCommand):
    help = (
        "Import Sysdig Secure policy events and activity-audit command records from a JSON-lines "
        "or JSON-array file (optionally gzip) into an agency."
    )
    what = "items"
    file_help = "Sysdig Secure export: JSON lines or a JSON array, optionally gzip."
    store = staticmethod(sysdig_store)
