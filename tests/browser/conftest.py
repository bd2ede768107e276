"""Browser tests: Debian's chromium driven by Playwright against pytest-django's live server.

The browser is started once per session. Each test gets fresh browser contexts (cookies,
storage) from ``new_page`` / ``signed_in_page``; a context bypasses the Content-Security-Policy
only when axe-core is to be injected into it. Every browser test is transactional (the live
server thread reads what the test writes) with serialized rollback, so the rule set that a data
migration ships is back in the database after each test's flush.
"""

from __future__ import annotations

import os

import pytest

from ..support.browser import AXE_JS, CHROMIUM, HEIGHT, LAUNCH_ARGS, sign_in
from ..support.factories import PASSWORD

# Playwright's sync API runs an asyncio event loop in this thread; Django would otherwise
# refuse the ORM calls the tests make to build their data.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the whole session (Debian's, never a downloaded one)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
            "(apt-get install -y chromium; `make test` installs it).",
            pytrace=False,
        )
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `npm ci` (axe-core is in package.json).", False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser, live_server):
    """``new_page(width=1280, axe=False)``: a page in a fresh context whose relative URLs go
    to the live server. ``axe=True`` bypasses the CSP so axe-core can be injected."""
    contexts = []

    def _new(width: int = 1280, *, axe: bool = False):
        context = browser.new_context(
            viewport={"width": width, "height": HEIGHT},
            base_url=live_server.url,
            bypass_csp=axe,
            locale="en-US",
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield _new
    for context in contexts:
        context.close()


@pytest.fixture
def signed_in_page(new_page):
    """``signed_in_page(user, width=1280, axe=False)``: a page signed in as ``user`` through
    the sign-in form (landing wherever the site sends them: the board, or the second-factor
    page when MFA is required)."""

    def _signed_in(user, width: int = 1280, *, axe: bool = False, password: str = PASSWORD):
        return sign_in(new_page(width, axe=axe), user.get_username(), password)

    return _signed_in
