"""Mending WeasyPrint's PDF/UA-1 output with pikepdf: the least that makes it conform.

WeasyPrint 70 tags the document body well (headings, paragraphs, tables with header cells,
lists) and already writes /MarkInfo, /Lang, DisplayDocTitle and the PDF/UA identifier in the
XMP metadata. What it leaves wrong: the running headers and footers of the page margins (the
marking banner, the label, "Page x of y") are marked content whose structure elements
(``/NonStruct``) hang off the document without being among its kids — content outside the
structure tree; and table header cells carry no /Scope. ``mend`` re-marks each such sequence
as a pagination artifact (``/Artifact <</Type /Pagination>>``), drops its entry from the
page's ParentTree array, gives each TH its scope (column in a table head, row in a body), gives
internal links their text as description (WeasyPrint writes the target's name), and sets what
is missing of the rest (it checks rather than assumes what WeasyPrint writes). Only the
content streams of pages that hold such sequences are rewritten: by bytes where WeasyPrint's
layout of the operator is recognised exactly (fast), else by pikepdf's tokeniser.
"""

from __future__ import annotations

import io
import re

import pikepdf

from .errors import RenderError

PDFUA_NS = "http://www.aiim.org/pdfua/ns/id/"


def structure_elements(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    """The structure elements reachable from the StructTreeRoot's /K, each once."""
    root = pdf.Root.get("/StructTreeRoot")
    seen: set[tuple[int, int]] = set()
    out: list[pikepdf.Dictionary] = []
    if root is None:
        return out
    stack = [root.get("/K")]
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Array):
            stack.extend(node)
        elif isinstance(node, pikepdf.Dictionary):
            if node.get("/Type") in ("/MCR", "/OBJR"):
                continue
            if node.objgen in seen:
                continue
            seen.add(node.objgen)
            out.append(node)
            if "/K" in node:
                stack.append(node.K)
    return out


def reachable_elements(pdf: pikepdf.Pdf) -> set[tuple[int, int]]:
    """The object ids of the structure elements reachable from the StructTreeRoot's /K."""
    return {e.objgen for e in structure_elements(pdf)}


def _scope_header_cells(elements) -> int:
    """Give each TH the /Scope its HTML ``scope`` said: Docket's templates put column headers
    in a THead and a row header first in each body row (WeasyPrint writes neither)."""
    count = 0
    for e in elements:
        if e.get("/S") != "/TH":
            continue
        row = e.get("/P")
        group = row.get("/P") if row is not None else None
        scope = (
            pikepdf.Name.Column
            if group is not None and group.get("/S") == "/THead"
            else (pikepdf.Name.Row)
        )
        attrs = e.get("/A")
        if isinstance(attrs, pikepdf.Dictionary) and attrs.get("/O") == "/Table":
            if "/Scope" not in attrs:
                attrs.Scope = scope
                count += 1
        elif attrs is None:
            e.A = pikepdf.Dictionary(O=pikepdf.Name.Table, Scope=scope)
            count += 1
    return count


def parent_tree_arrays(pdf: pikepdf.Pdf) -> dict[int, pikepdf.Array]:
    """StructParents key → the array of structure elements by MCID (a flat /Nums tree, as
    WeasyPrint writes it; a /Kids tree is walked too)."""
    out: dict[int, pikepdf.Array] = {}
    root = pdf.Root.get("/StructTreeRoot")
    if root is None or "/ParentTree" not in root:
        return out
    stack = [root.ParentTree]
    while stack:
        node = stack.pop()
        if "/Nums" in node:
            nums = node.Nums
            for i in range(0, len(nums), 2):
                value = nums[i + 1]
                if isinstance(value, pikepdf.Array):
                    out[int(nums[i])] = value
        if "/Kids" in node:
            stack.extend(node.Kids)
    return out


# How pydyf (WeasyPrint's PDF writer) writes a marked-content sequence with an MCID.
_BDC = re.compile(rb"(?m)^/([A-Za-z]+)\n<</MCID (\d+)>>\nBDC$")
_ARTIFACT = b"/Artifact\n<</Type /Pagination>>\nBDC"


def _mend_page_fast(pdf: pikepdf.Pdf, page: pikepdf.Page, orphans: set[int]) -> bool:
    """Re-mark the orphans by rewriting the (single) content stream's bytes where WeasyPrint's
    own layout is recognised: each orphan MCID found exactly once, as an operator on its own
    lines. Anything else (``False``) goes to the tokenising ``_mend_page``."""
    contents = page.obj.get("/Contents")
    if not isinstance(contents, pikepdf.Stream):
        return False
    raw = contents.read_bytes()
    found: list[int] = []

    def swap(match: re.Match) -> bytes:
        mcid = int(match[2])
        if mcid not in orphans:
            return match[0]
        found.append(mcid)
        return _ARTIFACT

    mended = _BDC.sub(swap, raw)
    if sorted(found) != sorted(orphans):
        return False
    page.obj.Contents = pdf.make_stream(mended)
    return True


def _mend_page(pdf: pikepdf.Pdf, page: pikepdf.Page, orphans: set[int]) -> int:
    instructions = pikepdf.parse_content_stream(page)
    changed = 0
    out = []
    for operands, operator in instructions:
        if (
            str(operator) == "BDC"
            and len(operands) == 2
            and isinstance(operands[1], pikepdf.Dictionary)
            and "/MCID" in operands[1]
            and int(operands[1].MCID) in orphans
        ):
            operands = [
                pikepdf.Name.Artifact,
                pikepdf.Dictionary(Type=pikepdf.Name.Pagination),
            ]
            changed += 1
        out.append(pikepdf.ContentStreamInstruction(operands, operator))
    if changed:
        page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(out))
    return changed


def _describe_links(pdf: pikepdf.Pdf, link_text: dict[str, str]) -> int:
    """WeasyPrint gives an internal link the name of its target as /Contents (``s-threats``);
    PDF/UA wants a description: the link's own text (``link_text``: target → text)."""
    count = 0
    for page in pdf.pages:
        for annot in page.obj.get("/Annots", []):
            if annot.get("/Subtype") != "/Link":
                continue
            dest = annot.get("/Dest")
            if dest is None and "/A" in annot:
                dest = annot.A.get("/D")
            if isinstance(dest, pikepdf.String) and str(dest) in link_text:
                annot.Contents = pikepdf.String(link_text[str(dest)])
                count += 1
    return count


def mend(pdf_bytes: bytes, *, title: str, lang: str, link_text: dict | None = None) -> bytes:
    """The mended file (see the module docstring). ``link_text`` maps an internal link's target
    to the text it is shown with, which becomes its description."""
    try:
        pdf = pikepdf.open(io.BytesIO(pdf_bytes))
    except pikepdf.PdfError as exc:
        raise RenderError(f"The rendered PDF cannot be read: {exc}") from exc
    with pdf:
        if "/StructTreeRoot" not in pdf.Root:
            raise RenderError("The rendered PDF has no structure tree (not tagged).")
        elements = structure_elements(pdf)
        reachable = {e.objgen for e in elements}
        _scope_header_cells(elements)
        arrays = parent_tree_arrays(pdf)
        for page in pdf.pages:
            key = page.obj.get("/StructParents")
            if key is None or int(key) not in arrays:
                continue
            array = arrays[int(key)]
            orphans = set()
            for mcid, element in enumerate(array):
                if isinstance(element, pikepdf.Dictionary) and element.objgen not in reachable:
                    orphans.add(mcid)
            if orphans and (_mend_page_fast(pdf, page, orphans) or _mend_page(pdf, page, orphans)):
                for mcid in orphans:
                    array[mcid] = None
        if link_text:
            _describe_links(pdf, link_text)
        # What WeasyPrint writes already; set only when missing.
        if str(pdf.Root.get("/Lang", "")) != lang:
            pdf.Root.Lang = pikepdf.String(lang)
        prefs = pdf.Root.get("/ViewerPreferences")
        if prefs is None:
            pdf.Root.ViewerPreferences = pikepdf.Dictionary(DisplayDocTitle=True)
        elif prefs.get("/DisplayDocTitle") is not True:
            prefs.DisplayDocTitle = True
        mark = pdf.Root.get("/MarkInfo")
        if mark is None or mark.get("/Marked") is not True:
            pdf.Root.MarkInfo = pikepdf.Dictionary(Marked=True)
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            if meta.get("dc:title") != title:
                meta["dc:title"] = title
            if meta.get("pdfuaid:part") != "1":
                meta.register_xml_namespace(PDFUA_NS, "pdfuaid")
                meta["pdfuaid:part"] = "1"
        pdf.docinfo[pikepdf.Name.Title] = title
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()
