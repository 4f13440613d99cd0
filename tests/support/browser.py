"""A real browser for the browser tests: Debian's Chromium driven by Playwright (never a
downloaded browser). `make browser` installs Chromium; `make test` does it first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Frame, FrameLocator, Page, sync_playwright

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


# The frame widget.js draws on the host page; the chat lives inside it.
WIDGET_FRAME = "iframe#lotsen-widget-frame"


def widget_chat(page: Page) -> FrameLocator:
    """The widget's chat, to find things in (Playwright waits for the frame)."""
    return page.frame_locator(WIDGET_FRAME)


def widget_frame(page: Page) -> Frame:
    """The widget's frame itself, to run a script in as the chat's own page would."""
    handle = page.wait_for_selector(WIDGET_FRAME, state="attached")
    assert handle is not None
    frame = handle.content_frame()
    assert frame is not None
    frame.wait_for_load_state()
    return frame


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


WCAG_21_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
# WCAG 2.2 AA as well: among others the target size (2.5.8), 24 × 24 px at the least.
WCAG_22_AA = (*WCAG_21_AA, "wcag22aa")


def axe_violations(
    page: Page | Frame,
    selector: str,
    tags: tuple[str, ...] = WCAG_21_AA,
    impacts: tuple[str, ...] = ("serious", "critical"),
) -> list[dict[str, object]]:
    """Violations of the `impacts` given (serious and critical unless asked) of the WCAG
    levels in `tags` (2.1 A/AA unless asked) inside `selector`, by axe-core. Evaluated
    through the DevTools protocol, so the page's strict CSP (no inline scripts) stays on
    while it is checked."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate(
        """async ([selector, tags]) => {
            const r = await axe.run(selector, {runOnly: {type: 'tag', values: tags}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' '))}));
        }""",
        [selector, list(tags)],
    )
    return [v for v in results if v["impact"] in impacts]
