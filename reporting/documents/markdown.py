"""The narrative of a report: a small, safe Markdown subset, rendered to HTML and sanitised.

People write paragraphs, bulleted and numbered lists, *emphasis*, **strong**, `code` and
links. markdown-it-py renders with HTML disabled (raw HTML stays text, escaped), images are
not a rule at all (``![x](url)`` stays text), a link is shown as its text followed by its URL
in parentheses (a PDF on paper must say where it points, and nothing is ever fetched), and
nh3 then keeps only the tags the subset produces.
"""

from __future__ import annotations

import unicodedata

import nh3
from markdown_it import MarkdownIt

MAX_CHARS = 20_000
MAX_LINES = 400
# Bidirectional overrides and isolates: they make printed text read differently from what it is.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ALLOWED_TAGS = {"p", "ul", "ol", "li", "em", "strong", "code", "br"}
_ALLOWED_ATTRIBUTES = {"ol": {"start"}}


def _parser() -> MarkdownIt:
    md = MarkdownIt("zero", {"html": False, "linkify": False, "typographer": False})
    md.enable(["paragraph", "list", "emphasis", "backticks", "escape", "newline", "link"])
    md.enable(["text", "inline", "block", "balance_pairs", "fragments_join"])

    def link_open(renderer, tokens, idx, options, env):
        return ""

    def link_close(renderer, tokens, idx, options, env):
        # The matching link_open carries the href.
        depth = 0
        for j in range(idx - 1, -1, -1):
            tok = tokens[j]
            if tok.type == "link_close":
                depth += 1
            elif tok.type == "link_open":
                if depth == 0:
                    href = tok.attrGet("href") or ""
                    return f" ({md.utils.escapeHtml(href)})" if href else ""
                depth -= 1
        return ""

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("link_close", link_close)
    return md


_MD = _parser()


def render_markdown(text: str) -> str:
    """The sanitised HTML of ``text`` (see the module docstring). Empty text gives ""."""
    if not text or not text.strip():
        return ""
    html = _MD.render(text)
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=set(),
        link_rel=None,
        strip_comments=True,
    )


def narrative_problems(text: str) -> list[str]:
    """What is wrong with one section's narrative ``text``; empty when it is acceptable."""
    if not isinstance(text, str):
        return ["The text must be a string."]
    problems = []
    if len(text) > MAX_CHARS:
        problems.append(
            f"The text is {len(text):,} characters long; a section holds at most {MAX_CHARS:,}."
        )
    lines = text.count("\n") + 1
    if lines > MAX_LINES:
        problems.append(f"The text has {lines:,} lines; a section holds at most {MAX_LINES:,}.")
    if "\x00" in text:
        problems.append("The text contains a NUL character.")
    controls = sorted(
        {
            f"U+{ord(c):04X}"
            for c in text
            if c not in "\n\r\t\x00"
            and (unicodedata.category(c) in ("Cc", "Cs", "Co", "Cn") or c in _BIDI_CONTROLS)
        }
    )
    if controls:
        problems.append(
            "The text contains control, direction-override or unassigned characters: "
            + ", ".join(controls[:10])
        )
    return problems
