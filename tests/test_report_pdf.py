"""The report PDF's structure (pikepdf), its fonts, the locked-down URL fetcher and the safety of
narrative: PDF/UA-1 as Docket renders and mends it."""

import io
import logging
import re
import shutil
import socket
import subprocess
from dataclasses import replace
from datetime import UTC, datetime

import pikepdf
import pypdf
import pytest
import weasyprint

from reporting.documents import (
    RENDERER_VERSION,
    RenderError,
    definition_for,
    gather,
    mending,
    narrative_problems,
    render_html,
    render_markdown,
    render_pdf,
)
from reporting.documents.mending import (
    parent_tree_arrays,
    reachable_elements,
    structure_elements,
)
from reporting.documents.render import DocketFetcher, weasy_pdf
from reporting.models import Obligation

pytestmark = pytest.mark.django_db

TITLE = "CISA incident notification — FTA-2026-0001 · CISA incident notification · version 2"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def cisa(open_incident):
    """The definition and data of a CISA notification of a plain incident."""
    incident = open_incident(
        now=utc(2026, 3, 2, 12),
        indicators=[{"type": "domain", "value": "bad.example.com", "note": ""}],
    )
    ob = Obligation.objects.select_related("rule").get(incident=incident, rule__key="cisa-initial")
    data = gather("cisa-notification", obligation=ob, now=utc(2026, 3, 2, 12, 30))
    return definition_for("cisa-notification", incident.ruleset), data


def _html(cisa, narrative=None, *, draft=True, preview=False):
    definition, data = cisa
    label = f"{data['meta']['incident']} · CISA incident notification · version 2"
    return render_html(definition, data, narrative or {}, label=label, draft=draft, preview=preview)


@pytest.fixture
def pdf(cisa):
    return render_pdf(_html(cisa), title=TITLE)


# --- structure ------------------------------------------------------------------------------


def _content_ops(pdf_obj, page):
    """(operands, operator) of a page's content and of the form XObjects it draws, each with
    the StructParents key its MCIDs belong to."""
    yield page.obj.get("/StructParents"), pikepdf.parse_content_stream(page)
    xobjects = page.obj.get("/Resources", {}).get("/XObject", {})
    for _, xo in xobjects.items():
        if xo.get("/Subtype") == "/Form":
            yield xo.get("/StructParents"), pikepdf.parse_content_stream(xo)


def marked_content_problems(data: bytes) -> list[str]:
    """Marked content outside the structure tree: every BDC/BMC must be an /Artifact, or carry
    an MCID that the ParentTree maps to a structure element reachable from the root."""
    problems = []
    with pikepdf.open(io.BytesIO(data)) as doc:
        reachable = reachable_elements(doc)
        arrays = parent_tree_arrays(doc)
        for n, page in enumerate(doc.pages, start=1):
            for key, ops in _content_ops(doc, page):
                for operands, operator in ops:
                    op = str(operator)
                    if op not in ("BDC", "BMC"):
                        continue
                    tag = str(operands[0])
                    if tag == "/Artifact":
                        continue
                    props = operands[1] if op == "BDC" and len(operands) > 1 else None
                    if not isinstance(props, pikepdf.Dictionary) or "/MCID" not in props:
                        problems.append(f"page {n}: {op} {tag} without an MCID")
                        continue
                    mcid = int(props.MCID)
                    array = arrays.get(int(key)) if key is not None else None
                    element = array[mcid] if array is not None and mcid < len(array) else None
                    if not isinstance(element, pikepdf.Dictionary):
                        problems.append(f"page {n}: MCID {mcid} is not in the ParentTree")
                    elif element.objgen not in reachable:
                        problems.append(f"page {n}: MCID {mcid} ({tag}) is outside the tree")
    return problems


def _fonts(doc):
    """Every font dictionary the pages use, through form XObjects too."""
    seen, out = set(), []
    stack = [page.obj.get("/Resources") for page in doc.pages]
    while stack:
        res = stack.pop()
        if not isinstance(res, pikepdf.Dictionary):
            continue
        for _, font in res.get("/Font", {}).items():
            if font.objgen not in seen:
                seen.add(font.objgen)
                out.append(font)
                if "/Resources" in font:  # Type 3
                    stack.append(font.Resources)
        for _, xo in res.get("/XObject", {}).items():
            if xo.get("/Subtype") == "/Form" and "/Resources" in xo:
                stack.append(xo.Resources)
    return out


def test_the_pdf_is_tagged_pdf_ua_1(pdf, cisa):
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert "/StructTreeRoot" in doc.Root
        assert doc.Root.MarkInfo.Marked is True
        assert str(doc.Root.Lang) == "en-US"
        assert doc.Root.ViewerPreferences.DisplayDocTitle is True
        meta = doc.open_metadata()
        assert meta.get("pdfuaid:part") == "1"
        assert meta.get("dc:title") == TITLE
        kinds = {str(e.get("/S")) for e in _elements(doc)}
        assert {"/Document", "/H1", "/H2", "/Table", "/TH", "/TD", "/P"} <= kinds
        # Every header cell says what it heads.
        ths = [e for e in _elements(doc) if e.get("/S") == "/TH"]
        assert ths and all(e.A.Scope in ("/Row", "/Column") for e in ths)
        heads = [e for e in ths if e.P.P.get("/S") == "/THead"]
        assert heads and all(e.A.Scope == "/Column" for e in heads)
        for font in _fonts(doc):
            descendants = font.get("/DescendantFonts")
            fd = (descendants[0] if descendants else font).get("/FontDescriptor")
            assert fd is not None, f"{font.get('/BaseFont')} has no descriptor"
            assert any(k in fd for k in ("/FontFile", "/FontFile2", "/FontFile3")), (
                f"{font.get('/BaseFont')} is not embedded"
            )
        names = {str(f.get("/BaseFont")).split("+")[-1] for f in _fonts(doc)}
        assert names <= {"Public-Sans", "Public-Sans-Bold", "Public-Sans-Italic", "Roboto-Mono"}
    assert marked_content_problems(pdf) == []


def _elements(doc):
    return structure_elements(doc)


def test_mending_is_what_puts_the_margins_out_of_the_tree(cisa):
    """WeasyPrint alone leaves the running header and footer outside the structure tree (so the
    mending is needed); mended, they are pagination artifacts and nothing else changed."""
    raw, errors = weasy_pdf(_html(cisa))
    assert errors == []
    before = marked_content_problems(raw)
    assert before and all("outside the tree" in p for p in before)
    mended = render_pdf(_html(cisa), title=TITLE)
    assert marked_content_problems(mended) == []
    assert [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(raw)).pages] == [
        p.extract_text() for p in pypdf.PdfReader(io.BytesIO(mended)).pages
    ]


def test_the_tokenising_mend_gives_the_same_result(cisa, monkeypatch):
    """Where the fast byte rewrite does not recognise a page, pikepdf's tokeniser mends it."""
    fast = render_pdf(_html(cisa), title=TITLE)
    monkeypatch.setattr(mending, "_mend_page_fast", lambda pdf, page, orphans: False)
    slow = render_pdf(_html(cisa), title=TITLE)
    assert marked_content_problems(slow) == []
    assert [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(slow)).pages] == [
        p.extract_text() for p in pypdf.PdfReader(io.BytesIO(fast)).pages
    ]


def _without_artifacts(data: bytes) -> list[str]:
    """Each page's text once the artifact sequences are cut out: the tagged text alone."""
    with pikepdf.open(io.BytesIO(data)) as doc:
        for page in doc.pages:
            kept, depth = [], 0
            for operands, operator in pikepdf.parse_content_stream(page):
                op = str(operator)
                if op in ("BDC", "BMC"):
                    if depth or str(operands[0]) == "/Artifact":
                        depth += 1
                        continue
                elif op == "EMC" and depth:
                    depth -= 1
                    continue
                if not depth:
                    kept.append(pikepdf.ContentStreamInstruction(operands, operator))
            page.obj.Contents = doc.make_stream(pikepdf.unparse_content_stream(kept))
        out = io.BytesIO()
        doc.save(out)
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(out.getvalue())).pages]


def test_the_marking_is_tagged_on_page_one_and_the_banners_are_artifacts(pdf):
    every = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]
    tagged = _without_artifacts(pdf)
    assert "Page 1 of" in every[0] and "Page 1 of" not in tagged[0]
    assert every[0].count("CUI") >= 3  # banner top and bottom, designation indicator
    assert tagged[0].count("CUI") >= 1  # the designation indicator is tagged text
    assert tagged[0].count("CUI") < every[0].count("CUI")
    assert "DRAFT" in every[0]  # the watermark, an artifact of the page background


def test_the_contents_links_are_described_by_their_text(cisa, agency_a):
    data = gather("annual-fisma-summary", agency=agency_a, fiscal_year=2026, now=utc(2026, 3, 3))
    definition = definition_for("annual-fisma-summary")
    html = render_html(definition, data, {}, label="FTA · FY2026 · version 1", draft=False)
    with pikepdf.open(io.BytesIO(render_pdf(html, title="Annual"))) as doc:
        described = {
            str(a.Contents)
            for a in doc.pages[0].obj.get("/Annots", [])
            if a.get("/Subtype") == "/Link"
        }
    assert described == {s.title for s in definition.sections}


def test_the_preview_is_a_fragment_with_the_same_content(cisa):
    preview = _html(cisa, {"summary": "Seen *first* at noon."}, preview=True)
    assert preview.lstrip().startswith("<article")
    assert "@page" not in preview and "<html" not in preview and "<style" not in preview
    assert "<em>first</em>" in preview
    assert "Indicators of compromise" in preview and "bad.example.com" in preview


def test_renderer_version_names_its_parts():
    assert RENDERER_VERSION.startswith("docket-documents/1 weasyprint/")
    assert "pikepdf/" in RENDERER_VERSION


# --- the fetcher ----------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch):
    """Every attempt to open a connection is recorded (and fails)."""
    attempts = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: refuse(None, address))
    return attempts


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "file:///etc/passwd",
        "https://docket.invalid/static/../../../etc/passwd",
        "https://docket.invalid/media/evidence/x.scap",
        "https://example.com/static/docket/docket.css",
        "ftp://example.com/x.png",
    ],
)
def test_the_fetcher_refuses_everything_but_static_files_and_data(url, no_network, cisa):
    html = _html(cisa).replace(
        "</body>", f'<img src="{url}" alt="x"><link rel="stylesheet" href="{url}"></body>'
    )
    fetcher = DocketFetcher()
    with pytest.raises(RenderError, match="Refused to fetch"):
        render_pdf(html, title=TITLE, url_fetcher=fetcher)
    assert fetcher.refused and all(u.startswith(("http", "file", "ftp")) for u in fetcher.refused)
    assert no_network == []


def test_the_fetcher_serves_the_uswds_fonts_from_static_files(no_network, cisa):
    fetcher = DocketFetcher()
    render_pdf(_html(cisa), title=TITLE, url_fetcher=fetcher)
    fonts = [u for u in fetcher.served if u.endswith(".ttf")]
    assert any("/static/uswds/fonts/public-sans/PublicSans-Regular.ttf" in u for u in fonts)
    assert "data:" in fetcher.served  # the DRAFT watermark
    assert fetcher.refused == [] and no_network == []


def test_narrative_naming_addresses_fetches_nothing(no_network, cisa):
    narrative = {
        "summary": (
            "![creds](http://169.254.169.254/latest/meta-data/)\n\n"
            '<img src="file:///etc/passwd"> <iframe src="http://169.254.169.254/"></iframe>\n\n'
            "[the portal](https://us-cert.cisa.gov/report)"
        )
    }
    fetcher = DocketFetcher()
    data = render_pdf(_html(cisa, narrative), title=TITLE, url_fetcher=fetcher)
    assert fetcher.refused == [] and no_network == []
    text = re.sub(
        r"\s+", " ", " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
    )
    assert '<img src="file:///etc/passwd">' in text  # shown as text, escaped
    assert "the portal (https://us-cert.cisa.gov/report)" in text  # a link: text and URL


# --- narrative --------------------------------------------------------------------------------


def test_raw_html_in_narrative_is_escaped_never_markup(cisa):
    html = _html(
        cisa,
        {
            "summary": '<script>alert(1)</script> <b onclick="x()">bold</b>\n\n- one\n- *two*',
            "mitigations": "<style>@page { size: 1in }</style>",
        },
    )
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b onclick" not in html and "&lt;b onclick" in html
    assert "<li><em>two</em></li>" in html
    assert "&lt;style&gt;" in html


def test_markdown_subset():
    assert render_markdown("") == ""
    assert render_markdown("a **b** `c`") == "<p>a <strong>b</strong> <code>c</code></p>\n"
    assert "<a" not in render_markdown("[x](javascript:alert(1))")
    assert "<img" not in render_markdown("![x](http://e.com/i.png)")
    assert "<h1>" not in render_markdown("# heading")
    assert render_markdown("3. c\n4. d").startswith('<ol start="3">')


def test_narrative_problems():
    assert narrative_problems("Fine.\n\n- a list") == []
    assert "NUL" in narrative_problems("a\x00b")[0]
    assert "U+0007" in narrative_problems("bell\x07")[0]
    assert "U+202E" in narrative_problems("invoice\u202efdp.exe")[0]
    assert narrative_problems("café — naïve, 日本語, emoji 🙂") == []
    assert "at most 20,000" in narrative_problems("x" * 20_001)[0]
    assert narrative_problems(None) == ["The text must be a string."]


# --- failures -----------------------------------------------------------------------------


def test_a_weasyprint_error_fails_the_render(cisa, monkeypatch):
    real = weasyprint.HTML.write_pdf

    def logging_write_pdf(self, *args, **kwargs):
        logging.getLogger("weasyprint").error("Failed to load font %r", "Public Sans")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", logging_write_pdf)
    with pytest.raises(RenderError, match="WeasyPrint reported an error: Failed to load font"):
        render_pdf(_html(cisa), title=TITLE)


def test_a_prefilled_section_without_template_is_named(cisa):
    definition, data = cisa
    broken = replace(
        definition,
        sections=(*definition.sections, replace(definition.sections[0], key="no-such-part")),
    )
    with pytest.raises(RenderError, match="'no-such-part', for which no template exists"):
        render_html(broken, data, {}, label="x", draft=True)


# --- veraPDF, where it is installed -----------------------------------------------------------


# Defined only where veraPDF is on PATH (it is not installed by make): nothing is skipped.
if shutil.which("verapdf"):

    def test_verapdf_validates_pdf_ua_1(pdf, tmp_path):
        path = tmp_path / "report.pdf"
        path.write_bytes(pdf)
        result = subprocess.run(  # noqa: S603 - argv list, no shell
            [shutil.which("verapdf"), "--flavour", "ua1", "--format", "text", str(path)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.stdout.startswith("PASS"), result.stdout + result.stderr
