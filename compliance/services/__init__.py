"""Writes of the compliance app's inventory side, one module an area: ``catalogs`` (frameworks,
controls, baselines, crosswalks: OSCAL and file imports, the shipped skeletons),
``assessments`` (recorded one by one and in bulk), ``inventory`` (the systems CSV), ``common``.
The incident side (risk assessments, POA&M, snapshots) is ``compliance.risk`` and
``compliance.snapshots``.

Each service is the one place its workflow lives; commands, the API and pages call it. Imports
validate the whole document before writing anything and write in one transaction, so a bad
file leaves the database as it was. Services that act for a person take the acting
``AgencyContext`` and, where time matters, ``now``. The names below are the public API.
"""

from .assessments import assessment_record, assessments_file_import
from .catalogs import (
    NIST_LICENCE,
    SHIPPED_CROSSWALK,
    SHIPPED_DIR,
    SHIPPED_FRAMEWORKS,
    baseline_import,
    catalog_import,
    crosswalk_file_import,
    crosswalk_rows_write,
    framework_document_write,
    framework_file_import,
    oscal_import,
    shipped_crosswalk_load,
    shipped_frameworks_load,
)
from .common import FileImportResult, ImportResult, operator_context
from .inventory import systems_export_csv, systems_file_import

__all__ = [
    "NIST_LICENCE",
    "SHIPPED_CROSSWALK",
    "SHIPPED_DIR",
    "SHIPPED_FRAMEWORKS",
    "FileImportResult",
    "ImportResult",
    "assessment_record",
    "assessments_file_import",
    "baseline_import",
    "catalog_import",
    "crosswalk_file_import",
    "crosswalk_rows_write",
    "framework_document_write",
    "framework_file_import",
    "operator_context",
    "oscal_import",
    "shipped_crosswalk_load",
    "shipped_frameworks_load",
    "systems_export_csv",
    "systems_file_import",
]
