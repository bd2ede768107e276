"""Report documents: data → PDF (issue 10).

Report definitions are data (``reporting/rulesets/reports/``, ``definitions``); ``gather``
reads what each kind is made from; ``suggestions`` drafts narrative from it; ``render_html``
renders Docket's own templates (``templates/reports/``) with the narrative through a safe
Markdown subset (``markdown``); ``render_pdf`` makes a PDF/UA-1 file with WeasyPrint behind a
locked-down URL fetcher and mends it with pikepdf (``render``, ``mending``). The workflow
(models, states, services, render jobs) is ``reporting.reports``'s; this package stores
nothing.
"""

from .definitions import KINDS, Definition, DefinitionError, Section, definition_for
from .errors import RenderError
from .gather import GatherError, cisa_severity, cisa_tracking_number, fiscal_year_bounds, gather
from .markdown import narrative_problems, render_markdown
from .render import RENDERER_VERSION, render_html, render_pdf
from .suggestions import suggestions

__all__ = [
    "KINDS",
    "RENDERER_VERSION",
    "Definition",
    "DefinitionError",
    "GatherError",
    "RenderError",
    "Section",
    "cisa_severity",
    "cisa_tracking_number",
    "definition_for",
    "fiscal_year_bounds",
    "gather",
    "narrative_problems",
    "render_html",
    "render_markdown",
    "render_pdf",
    "suggestions",
]
