"""Reading the CSV and YAML files people import (frameworks, crosswalks, systems, assessments),
and writing the CSV files Docket exports (``csv_text``).

Plain Python, no Django. Every problem is a ``TabularError`` naming *where* — ``line 7`` of a
CSV file (the line the row starts on, counting the header as line 1) or the path in a YAML
document (``controls[3].controls[0].title``) — and *what*. The import services turn it into
``InvalidInput``; nothing is stored when one is raised.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, Any

import yaml

MAX_BYTES = 20 * 1024 * 1024

# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """``value`` safe to open in a spreadsheet: a cell that would start a formula gets a
    leading single quote (``=HYPERLINK(…)`` → ``'=HYPERLINK(…)``), as OWASP recommends;
    spreadsheets show the text and run nothing. A value that already starts with quotes
    before such a character gets one more, so ``csv_uncell`` gives back exactly ``value``."""
    return "'" + value if value.lstrip("'").startswith(FORMULA_START) else value


def csv_uncell(cell: str) -> str:
    """The inverse of ``csv_cell``: one leading quote before a formula character is dropped
    (as a spreadsheet drops it); any other cell is read as it is."""
    if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_START):
        return cell[1:]
    return cell


def csv_text(header: list[str], rows) -> str:
    """CSV (``\n`` line ends) of ``header`` and ``rows``, every cell through ``csv_cell`` and
    in double quotes (OWASP's other half: with ``\n`` line ends Python's minimal quoting would
    leave a carriage return bare, and a reader would split the row there). Every CSV Docket
    writes goes through here; ``csv_rows`` reads it back unchanged."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow([csv_cell(str(c)) for c in header])
    for row in rows:
        writer.writerow([csv_cell(str(c)) for c in row])
    return out.getvalue()


class TabularError(ValueError):
    """A problem in an imported file; ``where`` is ``line N`` or a YAML path (may be empty)."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem


def read_bytes(source: str | PurePath | IO | bytes) -> tuple[bytes, str]:
    """The content of a path, an open (binary or text) file or bytes, and its file name."""
    if isinstance(source, bytes):
        return source, ""
    if isinstance(source, str | PurePath):
        with open(source, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
        name = PurePath(source).name
    else:
        data = source.read(MAX_BYTES + 1)
        name = PurePath(getattr(source, "name", "") or "").name
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_BYTES:
        raise TabularError("", f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    return data, name


def decode(data: bytes) -> str:
    """UTF-8 text (a byte-order mark is dropped); anything else is refused naming the line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TabularError(
            f"line {line}", f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        ) from exc
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise TabularError(f"line {line}", "a NUL character: this is not a text file")
    return text


def detect_format(text: str, filename: str = "") -> str:
    """``"csv"`` or ``"yaml"``: by the file name's extension, else by the content (a YAML
    document starts with ``key:``, ``---``, ``- `` or a comment; a CSV file with a header row)."""
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith(("#", "---", "- ", "{")):
            return "yaml"
        head = stripped.split(",", 1)[0]
        if ":" in head and not head.startswith('"'):
            return "yaml"
        return "csv"
    raise TabularError("", "the file is empty")


@dataclass(frozen=True)
class Row:
    """One CSV data row: where it starts and its cells by (lower-case) column name."""

    line: int
    cells: dict[str, str]

    @property
    def where(self) -> str:
        return f"line {self.line}"

    def get(self, name: str, default: str = "") -> str:
        return self.cells.get(name, default)


def csv_rows(text: str, *, required: list[str], optional: list[str]) -> tuple[list[str], list[Row]]:
    """The columns present and the data rows of a CSV file with a header row.

    Column names are matched case-insensitively and trimmed; cells are trimmed, then a
    leading quote that protects a formula character is dropped (``csv_uncell``: the files
    ``csv_text`` writes read back as they were exported). A missing
    required column, an unknown or repeated column, a row with more cells than the header and
    a blank file are errors. Blank rows are skipped.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise TabularError("", "the file is empty")
        columns = [h.strip().lower() for h in header]
        known = set(required) | set(optional)
        seen: set[str] = set()
        for name in columns:
            if name in seen:
                raise TabularError("line 1", f"column {name!r} appears twice")
            seen.add(name)
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise TabularError(
                "line 1",
                f"unknown column(s) {', '.join(map(repr, unknown))}; "
                f"the columns are {', '.join(required + optional)}",
            )
        missing = [c for c in required if c not in seen]
        if missing:
            raise TabularError("line 1", f"missing required column(s) {', '.join(missing)}")
        rows: list[Row] = []
        line = reader.line_num + 1
        for cells in reader:
            if any(c.strip() for c in cells):
                if len(cells) > len(columns):
                    raise TabularError(
                        f"line {line}",
                        f"{len(cells)} cells but the header names {len(columns)} columns",
                    )
                values = dict.fromkeys(columns, "")
                values.update((columns[i], csv_uncell(c.strip())) for i, c in enumerate(cells))
                rows.append(Row(line=line, cells=values))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise TabularError(f"line {reader.line_num}", f"not valid CSV ({exc})") from exc
    return columns, rows


def yaml_document(text: str) -> Any:
    """The one YAML document in ``text`` (safe loading: plain data only)."""
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise TabularError(where, f"not valid YAML ({problem})") from exc
    except yaml.YAMLError as exc:
        raise TabularError("", f"not valid YAML ({exc})") from exc
    except RecursionError:
        # PyYAML composes nested collections recursively: a few hundred levels exhaust it.
        raise TabularError("", "refused: the YAML is nested too deeply") from None


def yaml_list(document: Any, key: str) -> list:
    """``document[key]`` when the document is a mapping holding a list there."""
    if not isinstance(document, dict):
        raise TabularError("", f"expected a mapping with a {key!r} list at the top")
    items = document.get(key)
    if not isinstance(items, list):
        raise TabularError(key, f"expected a list, found {type_name(items)}")
    return items


def check_keys(item: Any, where: str, *, required: list[str], optional: list[str]) -> dict:
    """A YAML mapping's keys: the required ones present, none unknown."""
    if not isinstance(item, dict):
        raise TabularError(where, f"expected a mapping, found {type_name(item)}")
    unknown = [str(k) for k in item if k not in required and k not in optional]
    if unknown:
        raise TabularError(
            where,
            f"unknown key(s) {', '.join(map(repr, unknown))}; "
            f"the keys are {', '.join(required + optional)}",
        )
    for key in required:
        if item.get(key) in (None, ""):
            raise TabularError(f"{where}.{key}" if where else key, "required")
    return item


def scalar(value: Any, where: str) -> str:
    """A YAML scalar as trimmed text (numbers as written: ``8`` → ``"8"``); null is empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TabularError(where, "expected text, found a boolean")
    if isinstance(value, str | int | float):
        return str(value).strip()
    raise TabularError(where, f"expected text, found {type_name(value)}")


def type_name(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "text", bool: "a boolean"}
    if value is None:
        return "nothing"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def split_list(value: str) -> list[str]:
    """A ``;``-separated cell as a list, blanks dropped."""
    return [part.strip() for part in value.split(";") if part.strip()]


def check_length(value: str, limit: int, where: str, name: str) -> str:
    if len(value) > limit:
        raise TabularError(where, f"{name} longer than {limit} characters")
    return value
