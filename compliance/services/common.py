"""What the compliance services share: import results, reading files, the importing agency,
the operator's context."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.context import AgencyContext, context_for
from accounts.models import Role
from accounts.permissions import require
from audit.trail import record
from compliance import oscal, tabular
from compliance.models import (
    Baseline,
    Control,
    ControlMapping,
    Framework,
)
from core.errors import InvalidInput


@dataclass
class ImportResult:
    """What an import did, for the command's output and the import result page."""

    kind: str  # "catalog" or "profile"
    framework: Framework
    created: int = 0
    updated: int = 0
    baseline: Baseline | None = None

    def __str__(self) -> str:
        if self.kind == "profile":
            return (
                f"Baseline {self.baseline.name} of {self.framework}: "
                f"{self.baseline.controls.count()} controls."
            )
        return f"{self.framework}: {self.created} controls created, {self.updated} updated."


def _invalid(error: oscal.OSCALError) -> InvalidInput:
    return InvalidInput(str(error), path=error.path)


@dataclass
class FileImportResult:
    """What a file import did: rows created, updated and found unchanged (and skipped, for the
    shipped crosswalk's rows whose framework is not loaded)."""

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    framework: Framework | None = None

    def as_dict(self) -> dict:
        body = {
            "kind": self.kind,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }
        if self.skipped:
            body["skipped"] = self.skipped
        if self.framework is not None:
            body["framework"] = {
                "id": self.framework.pk,
                "name": self.framework.name,
                "version": self.framework.version,
            }
        return body

    def __str__(self) -> str:
        what = f"{self.framework}: " if self.framework is not None else ""
        text = (
            f"{what}{self.created} {self.kind} created, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )
        if self.skipped:
            text += f", {self.skipped} skipped (control not loaded)"
        return text + "."


def _tabular_invalid(exc: tabular.TabularError) -> InvalidInput:
    extra = {}
    if exc.where.startswith("line "):
        extra["line"] = int(exc.where.split()[1].rstrip(","))
    elif exc.where:
        extra["path"] = exc.where
    return InvalidInput(str(exc), **extra)


def _read_text(source, filename: str | None) -> tuple[str, str]:
    """The file's text and format (``csv`` or ``yaml``)."""
    try:
        data, name = tabular.read_bytes(source)
        text = tabular.decode(data)
        return text, tabular.detect_format(text, filename or name)
    except tabular.TabularError as exc:
        raise _tabular_invalid(exc) from exc


def record_import(ctx: AgencyContext | None, agency, result: FileImportResult, filename) -> None:
    """The one audit entry of a file import (however many rows it wrote), on the chain of the
    agency it wrote for (reference data: the installation's)."""
    record(
        "compliance_import",
        agency=agency,
        actor=ctx.user if ctx is not None else None,
        subject_type=f"compliance.{result.kind}",
        subject_ref=f"{result.kind} from {filename or 'a file'}"[:300],
        changes={
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
        },
    )


def _importing_agency(ctx: AgencyContext | None, agency):
    """The agency an import writes for: the caller's (who must be a compliance officer or
    agency administrator there) or, from a command, the one named (``None``: reference data)."""
    if ctx is None:
        return agency
    require(ctx, "compliance_import")
    return ctx.agency


def _models(models, *names: str) -> list:
    """The named model classes: the app's own, or a data migration's historical ones
    (``models`` is then its ``apps``)."""
    if models is None:
        own = {"Framework": Framework, "Control": Control, "ControlMapping": ControlMapping}
        return [own[name] for name in names]
    return [models.get_model("compliance", name) for name in names]


def _where(where: str) -> dict:
    if where.startswith("line "):
        return {"line": int(where.split()[1])}
    return {"path": where} if where else {}


def operator_context(agency, user=None) -> AgencyContext:
    """The context of a management command run by an operator for ``agency``: a compliance
    officer's reach, recorded as ``user`` (``None``: the operator, no Docket account)."""
    if user is not None:
        return context_for(user, agency)
    return AgencyContext(user=None, agency=agency, roles=frozenset({Role.COMPLIANCE_OFFICER}))


def _row_error(row: tabular.Row, column: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{row.where}: {column}: {problem}", line=row.line, column=column)
