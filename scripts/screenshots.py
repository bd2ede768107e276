"""Full-page screenshots of the deadline board and the demo's main incident, at 360 and 1280 px.

    make run            # in another terminal: the demo at http://127.0.0.1:8000
    DJANGO_SETTINGS_MODULE=config.settings.local .venv/bin/python scripts/screenshots.py \
        [--base-url http://127.0.0.1:8000] [--out docs/screenshots]

Signs in through the sign-in form as the demo compliance officer and writes board-360.png,
board-1280.png, incident-360.png and incident-1280.png. Uses Debian's chromium
(/usr/bin/chromium); the demo's sign-in and main incident title come from ``load_demo``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDTHS = (360, 1280)
USERNAME = "compliance"


def demo_constants() -> tuple[str, str]:
    import django

    django.setup()
    # Imported after django.setup(): Django app loading, not a cycle.
    from reporting.management.commands.load_demo import MAIN_TITLE, PASSWORD

    return MAIN_TITLE, PASSWORD


def main_incident_url(page, base_url: str, title: str) -> str:
    """The main incident's page: its link on the incident list, else through the API."""
    page.goto(f"{base_url}/incidents/")
    link = page.get_by_role("link", name=re.compile(re.escape(title)))
    if link.count():
        return link.first.get_attribute("href")
    api = page.request.get(f"{base_url}/api/v1/incidents/?ordering=-created_at&page_size=200")
    if not api.ok:
        sys.exit(f"cannot find {title!r}: no link on /incidents/, and the API said {api.status}")
    for item in api.json().get("results", []):
        if item.get("title") == title:
            return f"/incidents/{item['number']}/"
    sys.exit(f"no incident titled {title!r}: is the demo loaded (make run)?")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    base_url = args.base_url.rstrip("/")
    title, password = demo_constants()
    args.out.mkdir(parents=True, exist_ok=True)

    # Playwright: only this script needs it
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        page = context.new_page()
        page.goto(f"{base_url}/accounts/login/")
        page.get_by_label("Username").fill(USERNAME)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("load")
        if "/accounts/" in page.url:
            sys.exit(f"sign-in as {USERNAME!r} did not reach the board (at {page.url})")
        incident_url = main_incident_url(page, base_url, title)
        shots = {"board": "/deadlines/", "incident": incident_url}
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            for name, path in shots.items():
                response = page.goto(base_url + path if path.startswith("/") else path)
                if response is None or response.status != 200:
                    sys.exit(f"{path} answered {response.status if response else 'nothing'}")
                page.wait_for_load_state("networkidle")
                target = args.out / f"{name}-{width}.png"
                page.screenshot(path=str(target), full_page=True)
                print(
                    f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}"
                )
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
