"""A real browser for the browser tests: Debian's Chromium driven by Playwright (never a
downloaded browser). `make browser` installs Chromium; `make test` does it first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from bot.settings import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = PROJECT_ROOT / "reports" / "screenshots"
AXE = PROJECT_ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"
# Without these, Chromium keeps calling Google's services, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One browser per test module. Playwright's sync API runs an event loop in the main
    thread while it lives; stopping it after each browser module keeps that loop away
    from the tests that come after (asyncio.run and pytest-asyncio need the thread free)."""
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run `make browser` (make test does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def axe_violations(page: Page, selector: str) -> list[dict[str, object]]:
    """Serious and critical WCAG 2.1 A/AA violations inside `selector`, by axe-core.
    Evaluated through the DevTools protocol, so the page's strict CSP (no inline scripts)
    stays on while it is checked."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate(
        """async (selector) => {
            const r = await axe.run(selector, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' '))}));
        }""",
        selector,
    )
    return [v for v in results if v["impact"] in ("serious", "critical")]
