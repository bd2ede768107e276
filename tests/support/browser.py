"""Driving the browser: Debian's chromium, signing in through the real form, axe-core."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings as django_settings

from .factories import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = Path(django_settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDTHS = (360, 1280)
HEIGHT = 900


def sign_in(page, username: str, password: str = PASSWORD):
    """Fill in and submit the real sign-in form; fails the test if sign-in is refused."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")
    assert "/accounts/login/" not in page.url, (
        f"signing in as {username!r} failed; still on {page.url}: "
        f"{page.locator('main').inner_text()[:500]}"
    )
    return page


SERIOUS = ("serious", "critical")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def run_axe(page) -> list[dict]:
    """Inject axe-core into ``page`` and return its WCAG 2.0/2.1 A and AA violations."""
    page.add_script_tag(path=str(AXE_JS))
    results = page.evaluate("async (tags) => await axe.run(document, {runOnly: tags})", WCAG_TAGS)
    return results["violations"]


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} [{v['impact']}] {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:8]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    at {node['target']}: {node['html'][:160]}")
            if summary:
                lines.append(f"       {summary[:300]}")
        if len(v["nodes"]) > 8:
            lines.append(f"    … and {len(v['nodes']) - 8} more nodes")
    return "\n".join(lines)
