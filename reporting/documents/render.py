"""From a definition, data and narrative to HTML (Docket's own templates) and to a PDF/UA-1 file.

``render_html`` renders ``templates/reports/`` (autoescaped Django templates; narrative through
``markdown.render_markdown``). ``render_pdf`` hands the HTML to WeasyPrint with
``pdf_variant="pdf/ua-1"`` and a URL fetcher that serves Docket's static files and ``data:``
URLs only (``DocketFetcher``): anything else — the network, the cloud metadata address, a file
elsewhere on disk — is refused without a byte fetched, and the render fails naming it. An
ERROR logged by WeasyPrint during the render fails it too (``RenderError``). The file is then
mended with pikepdf (``mending.mend``).
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import urllib.parse
from contextlib import contextmanager
from functools import cache
from html import unescape
from pathlib import Path

import pikepdf
import weasyprint
from django.conf import settings
from django.contrib.staticfiles import finders
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string, select_template
from django.templatetags.static import static
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from .definitions import Definition
from .errors import FetchRefused, RenderError
from .markdown import render_markdown
from .mending import mend

RENDERER_VERSION = (
    f"docket-documents/1 weasyprint/{weasyprint.__version__} pikepdf/{pikepdf.__version__}"
)
# The host WeasyPrint resolves relative URLs against. It is never contacted: the fetcher maps
# its /static/ paths to Docket's static files and refuses everything else.
BASE_URL = "https://docket.invalid/"
LONG_KINDS = ("supplemental-report", "annual-fisma-summary")
# Characters Docket's own data uses that the USWDS fonts lack, printed with what they have
# (otherwise WeasyPrint would take a host font, and the output would depend on the host).
SUBSTITUTES = str.maketrans({"→": "->", "←": "<-", "⇒": "=>", "✓": "yes", "✗": "no"})
FONT_FILES = {
    # family → (weight, style) → file under the USWDS package's dist/ (STATICFILES_DIRS "uswds")
    "Public Sans": {
        ("400", "normal"): "fonts/public-sans/PublicSans-Regular.ttf",
        ("400", "italic"): "fonts/public-sans/PublicSans-Italic.ttf",
        ("700", "normal"): "fonts/public-sans/PublicSans-Bold.ttf",
        ("700", "italic"): "fonts/public-sans/PublicSans-BoldItalic.ttf",
    },
    "Roboto Mono": {
        ("400", "normal"): "fonts/roboto-mono/roboto-mono-v5-latin-regular.ttf",
        ("700", "normal"): "fonts/roboto-mono/roboto-mono-v5-latin-700.ttf",
    },
}

logger = logging.getLogger(__name__)


# --- HTML ----------------------------------------------------------------------------------


@cache
def _section_template(kind: str, key: str) -> str | None:
    try:
        return select_template(
            [f"reports/sections/{kind}/{key}.html", f"reports/sections/{key}.html"]
        ).template.name
    except TemplateDoesNotExist:
        return None


def _fonts() -> list[dict]:
    out = []
    for family, faces in FONT_FILES.items():
        for (weight, style), path in faces.items():
            out.append(
                {"family": family, "weight": weight, "style": style, "url": static(f"uswds/{path}")}
            )
    return out


def _watermark_url() -> str:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="612" height="792" '
        'viewBox="0 0 612 792"><text x="306" y="420" font-size="130" fill="#b50909" '
        'fill-opacity="0.14" text-anchor="middle" font-family="Public Sans" font-weight="700" '
        'transform="rotate(-45 306 396)">DRAFT</text></svg>'
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def render_html(
    definition: Definition,
    data: dict,
    narrative: dict[str, str],
    *,
    label: str,
    draft: bool,
    preview: bool = False,
) -> str:
    """The report as HTML: the full PDF document, or with ``preview`` a fragment to embed in a
    Docket page (same content; no @page rules, no fonts, no watermark image)."""
    narrative = narrative or {}
    sections = []
    for section in definition.sections_for(data):
        template = _section_template(definition.kind, section.key)
        if section.mode == "prefilled" and template is None:
            raise RenderError(
                f"The {definition.kind} definition v{definition.version} names the prefilled "
                f"section {section.key!r}, for which no template exists."
            )
        sections.append(
            {
                "section": section,
                "anchor": f"s-{section.key}",
                "template": template,
                "narrative_html": render_markdown(narrative.get(section.key, "")),
            }
        )
    meta = data.get("meta", {})
    context = {
        "definition": definition,
        "data": data,
        "meta": meta,
        "sections": sections,
        "label": label,
        "draft": draft,
        "preview": preview,
        "toc": definition.kind in LONG_KINDS or len(sections) > 10,
        "title": f"{definition.title} — {label}",
        "lang": "en-US",
    }
    if preview:
        return render_to_string("reports/preview.html", context)
    context["fonts"] = _fonts()
    context["watermark_url"] = _watermark_url() if draft else ""
    return render_to_string("reports/document.html", context).translate(SUBSTITUTES)


# --- the fetcher --------------------------------------------------------------------------


def _static_path(url: str) -> Path | None:
    """The file of a Docket static URL (``https://docket.invalid/static/…``), or None."""
    parsed = urllib.parse.urlsplit(url)
    base = urllib.parse.urlsplit(BASE_URL)
    if (parsed.scheme, parsed.netloc) != (base.scheme, base.netloc):
        return None
    prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    path = urllib.parse.unquote(parsed.path)
    if not path.startswith(prefix) or parsed.query or parsed.fragment:
        return None
    relative = path[len(prefix) :]
    if not relative or ".." in relative.split("/") or "\\" in relative:
        return None
    found = finders.find(relative)
    return Path(found) if found else None


_MIME = {
    ".ttf": "font/ttf",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".css": "text/css",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
}


class DocketFetcher(URLFetcher):
    """WeasyPrint's URL fetcher for reports: ``data:`` URLs and Docket's static files only.
    Anything else is refused before any connection or file is opened (``refused`` lists the
    URLs), and the refusal stops the render (``fail_on_errors``)."""

    def __init__(self):
        super().__init__(allowed_protocols=("data", "https"), fail_on_errors=True)
        self.refused: list[str] = []
        self.served: list[str] = []

    def fetch(self, url, headers=None):
        if url.startswith("data:"):
            self.served.append("data:")
            return super().fetch(url, headers)
        path = _static_path(url)
        if path is None:
            self.refused.append(url)
            raise FetchRefused(
                f"Refused to fetch {url!r}: reports load only Docket's static files."
            )
        self.served.append(url)
        return URLFetcherResponse(
            url,
            path.read_bytes(),
            {"Content-Type": _MIME.get(path.suffix.lower(), "application/octet-stream")},
        )


class _Errors(logging.Handler):
    """Collects WeasyPrint's ERROR records of one render (this thread's only)."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record):
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


@contextmanager
def _collect_errors():
    handler = _Errors()
    loggers = [logging.getLogger("weasyprint"), logging.getLogger("weasyprint.progress")]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        yield handler
    finally:
        for lg in loggers:
            lg.removeHandler(handler)


def weasy_pdf(html: str, *, url_fetcher: URLFetcher | None = None) -> tuple[bytes, list[str]]:
    """WeasyPrint's own PDF/UA-1 rendering of ``html`` (no mending) and the ERRORs it logged.
    ``url_fetcher`` defaults to a new ``DocketFetcher``."""
    url_fetcher = url_fetcher if url_fetcher is not None else DocketFetcher()
    with _collect_errors() as errors:
        document = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=url_fetcher)
        pdf = document.write_pdf(pdf_variant="pdf/ua-1", uncompressed_pdf=False)
    return pdf, errors.messages


def render_pdf(
    html: str, *, title: str, lang: str = "en-US", url_fetcher: DocketFetcher | None = None
) -> bytes:
    """``html`` (from ``render_html``) as a mended PDF/UA-1 file. ``RenderError`` names what
    failed: a refused fetch, an ERROR WeasyPrint logged, or an exception."""
    fetcher = url_fetcher if url_fetcher is not None else DocketFetcher()
    try:
        pdf, errors = weasy_pdf(html, url_fetcher=fetcher)
    except FatalURLFetchingError as exc:
        cause = exc.__cause__
        raise RenderError(str(cause) if cause is not None else str(exc)) from exc
    except Exception as exc:
        logger.exception("report render failed")
        raise RenderError(f"WeasyPrint could not render the report: {exc}") from exc
    if errors:
        raise RenderError("WeasyPrint reported an error: " + "; ".join(errors[:3]))
    return mend(pdf, title=title, lang=lang, link_text=_link_text(html))


_INTERNAL_LINK = re.compile(r'<a href="#([A-Za-z][\w-]*)">([^<]+)</a>')


def _link_text(html: str) -> dict[str, str]:
    """Internal link target → the link's text, from Docket's own markup (the contents list)."""
    return {m[1]: unescape(m[2]).strip() for m in _INTERNAL_LINK.finditer(html)}
