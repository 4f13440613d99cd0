"""The chat widget in a real browser (Debian's Chromium through Playwright) on the demo
page, against the real Rasa, action server and app. Screenshots go to reports/screenshots/.

Playwright's `expect` waits by itself; nothing here sleeps or times anything.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time

import httpx
import pytest
from playwright.sync_api import Browser, FrameLocator, Locator, Page, expect
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bot.bookings.admin import SlotInput, add_slots
from bot.bookings.times import HELSINKI
from bot.conversations.store import ConversationStore
from bot.db import make_engine
from bot.db.models import (
    Conversation,
    Coordinator,
    Message,
    MessageSender,
    MessageStatus,
    SlotKind,
)
from bot.nlg.content import get_catalog
from bot.nlg.markup import parse
from bot.nlg.render import render_response
from bot.settings import PROJECT_ROOT
from tests.support.browser import AXE, axe_violations, screenshot, widget_chat, widget_frame
from tests.support.local_server import serve, shut_down
from tests.support.system import RunningSystem, free_port

pytestmark = pytest.mark.integration

WIDGET = "#lotsen-widget"
UKRAINIAN_QUESTION = "Як мені отримати план інтеграції?"
STRINGS = json.loads((PROJECT_ROOT / "widget" / "src" / "strings.json").read_text())
# A reply takes Rasa a moment; the first one after start-up longer.
REPLY_TIMEOUT_MS = 60_000


@pytest.fixture
def store(system: RunningSystem) -> Iterator[ConversationStore]:
    engine = make_engine(system.database_url)
    yield ConversationStore(sessionmaker(engine, expire_on_commit=False))
    engine.dispose()


def chat(page: Page) -> FrameLocator:
    return widget_chat(page)


def launcher_name(language: str) -> re.Pattern[str]:
    """The launcher says it in the page's language first, then in the other three."""
    others = [STRINGS[code]["launcher"] for code in ("sv", "fi", "uk", "en") if code != language]
    return re.compile(
        "^" + re.escape(STRINGS[language]["launcher"]) + ".*" + ".*".join(map(re.escape, others))
    )


def open_demo(page: Page, system: RunningSystem, language: str = "sv") -> None:
    page.goto(f"{system.app_url}/?lang={language}")
    expect(chat(page).locator(".lotsen-launcher")).to_be_visible()


def open_with_keyboard(page: Page) -> Locator:
    """Tabs from the top of the page to the launcher and presses Enter: no mouse."""
    launcher = chat(page).locator(".lotsen-launcher")
    for _ in range(30):
        page.keyboard.press("Tab")
        if launcher.evaluate(
            "element => document.hasFocus() && element === document.activeElement"
        ):
            break
    else:
        pytest.fail("Tab never reached the widget's launcher")
    page.keyboard.press("Enter")
    dialog = chat(page).get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(chat(page).locator("#lotsen-input")).to_be_focused()
    return dialog


def tab_to(page: Page, target: Locator) -> None:
    """Presses Tab until `target` has the focus: it is reachable without a mouse."""
    for _ in range(60):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    pytest.fail("Tab never reached the element")


def say(page: Page, text: str) -> None:
    chat(page).locator("#lotsen-input").fill(text)
    page.keyboard.press("Enter")


def bot_messages(page: Page) -> Locator:
    # The first is the widget's own greeting.
    return chat(page).locator(f"{WIDGET} .lotsen-from-bot .lotsen-text")


def session_entry(page: Page) -> dict[str, str]:
    """The conversation the widget keeps on this device (the frame's localStorage)."""
    entries = widget_frame(page).evaluate("() => Object.entries(localStorage)")
    widget = [json.loads(value) for key, value in entries if key.startswith("lotsen-widget:")]
    assert len(widget) == 1, entries
    return widget[0]


def message_status(store: ConversationStore, message_id: int, until: str) -> str | None:
    status = None
    for _ in range(100):
        with store._sessions() as session:
            status = session.scalar(select(Message.status).where(Message.id == message_id))
        if status == until:
            break
        time.sleep(0.05)
    return status


def focus_is_in_dialog(page: Page) -> bool:
    return bool(
        widget_frame(page).evaluate(
            "() => document.hasFocus()"
            " && document.getElementById('lotsen-panel').contains(document.activeElement)"
        )
    )


def test_keyboard_only_ukrainian_answer_button_reload_and_delete(
    page: Page, system: RunningSystem
) -> None:
    # The Swedish page: the widget starts in Swedish and follows the person's Ukrainian.
    open_demo(page, system, "sv")
    dialog = open_with_keyboard(page)
    expect(dialog).to_have_accessible_name(STRINGS["sv"]["title"])
    # The privacy notice and its link come before anything is sent.
    expect(dialog.get_by_role("link", name=STRINGS["sv"]["privacyLink"])).to_have_attribute(
        "href", "https://example.invalid/privacy"
    )
    # It says how long messages are kept and how to erase them (issue 16).
    expect(dialog.locator("#lotsen-privacy")).to_contain_text(
        "90 dagar efter ditt senaste meddelande"
    )
    expect(dialog.locator("#lotsen-privacy")).to_contain_text(STRINGS["sv"]["restart"])
    # Focus stays inside the open dialog, both ways round.
    for key in ["Tab"] * 12 + ["Shift+Tab"] * 12:
        page.keyboard.press(key)
        assert focus_is_in_dialog(page), key

    chat(page).locator("#lotsen-input").focus()
    page.keyboard.type(UKRAINIAN_QUESTION)
    page.keyboard.press("Enter")
    expected = render_response("utter_integration_plan", "uk").text.splitlines()[0]
    expect(bot_messages(page).nth(1)).to_contain_text(expected[:60], timeout=REPLY_TIMEOUT_MS)
    expect(chat(page).locator(f"{WIDGET} .lotsen-from-user").first).to_contain_text(
        UKRAINIAN_QUESTION
    )
    expect(dialog).to_have_accessible_name(STRINGS["uk"]["title"])

    # The long answer's first screen; Tab reaches "Show more", Enter reveals the rest in
    # place (aria-expanded), Enter again folds it.
    more = chat(page).locator(f"{WIDGET} .lotsen-more").first
    expect(more).to_have_attribute("aria-expanded", "false")
    rest = chat(page).locator(f"{WIDGET} .lotsen-rest").first
    expect(rest).to_be_hidden()
    tab_to(page, more)
    page.keyboard.press("Enter")
    expect(more).to_have_attribute("aria-expanded", "true")
    expect(more).to_have_accessible_name(STRINGS["uk"]["less"])
    expect(rest).to_be_visible()
    expect(more).to_be_focused()
    page.keyboard.press("Enter")
    expect(rest).to_be_hidden()

    # A quick reply, pressed with the keyboard: its title is shown as the person's message.
    reply = chat(page).locator(f"{WIDGET} .lotsen-reply").first
    title = reply.inner_text()
    reply.focus()
    page.keyboard.press("Enter")
    expect(chat(page).locator(f"{WIDGET} .lotsen-from-user").nth(1)).to_have_text(re.compile(title))
    expect(bot_messages(page).nth(2)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    assert re.search("[а-яіїєґ]", bot_messages(page).nth(2).inner_text(), re.IGNORECASE)

    # Reloaded, the conversation is still there, in the same order.
    conversation = session_entry(page)
    page.reload()
    chat(page).locator(".lotsen-launcher").click()
    users = chat(page).locator(f"{WIDGET} .lotsen-from-user")
    expect(users).to_have_count(2)
    expect(users.first).to_contain_text(UKRAINIAN_QUESTION)
    expect(bot_messages(page).nth(1)).to_contain_text(expected[:60])

    # Escape closes and gives focus back to the launcher.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(chat(page).locator(".lotsen-launcher")).to_be_focused()

    # Start over: the conversation is erased on the server as well.
    page.keyboard.press("Enter")
    chat(page).get_by_role("button", name=STRINGS["uk"]["restart"]).click()
    chat(page).get_by_role("button", name=STRINGS["uk"]["confirmYes"]).click()
    expect(chat(page).locator(f"{WIDGET} .lotsen-notice")).to_have_text(STRINGS["uk"]["deleted"])
    expect(users).to_have_count(0)
    assert widget_frame(page).evaluate("() => localStorage.length") == 0
    gone = httpx.get(
        f"{system.app_url}/api/v1/conversations/{conversation['id']}/messages",
        headers={"Authorization": f"Bearer {conversation['token']}"},
    )
    assert gone.status_code == 404


def test_language_switcher_and_language_menu(page: Page, system: RunningSystem) -> None:
    open_demo(page, system, "sv")
    expect(chat(page).locator(".lotsen-launcher")).to_have_accessible_name(launcher_name("sv"))
    # The page's own switcher reloads it in Finnish, and the widget follows the page.
    page.get_by_role("link", name="Suomi").click()
    expect(page).to_have_url(re.compile(r"\?lang=fi$"))
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    expect(chat(page).locator(".lotsen-launcher")).to_have_accessible_name(launcher_name("fi"))

    # The widget's language menu, before anything is said: only the widget changes.
    chat(page).locator(".lotsen-launcher").click()
    chat(page).locator(".lotsen-language-toggle").click()
    chat(page).locator('#lotsen-languages button[lang="en"]').click()
    expect(chat(page).get_by_role("dialog")).to_have_accessible_name(STRINGS["en"]["title"])
    expect(chat(page).locator(WIDGET)).to_have_attribute("lang", "en")
    say(page, "What is civic orientation?")
    expect(bot_messages(page).nth(1)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    assert session_entry(page)["language"] == "en"

    # During a conversation the assistant itself changes language, and says so.
    chat(page).locator(".lotsen-language-toggle").click()
    chat(page).locator('#lotsen-languages button[lang="sv"]').click()
    changed = render_response("utter_language_changed", "sv").text
    expect(bot_messages(page).last).to_have_text(changed, timeout=REPLY_TIMEOUT_MS)
    expect(chat(page).get_by_role("dialog")).to_have_accessible_name(STRINGS["sv"]["title"])

    # Russian is reached through machine translation (the system's test packages): the
    # menu offers it under its note, and the answers come translated with a notice.
    chat(page).locator(".lotsen-language-toggle").click()
    expect(chat(page).locator(".lotsen-languages-note")).to_have_text(
        STRINGS["sv"]["machineTranslated"]
    )
    expect(chat(page).locator('#lotsen-languages button[lang="ar"]')).to_have_count(0)
    screenshot(page, "widget-language-menu")
    chat(page).locator('#lotsen-languages button[lang="ru"]').click()
    notice = render_response("utter_machine_translated_answer", "en").text
    expect(bot_messages(page).last).to_contain_text(notice, timeout=REPLY_TIMEOUT_MS)
    expect(chat(page).locator(".lotsen-language-toggle")).to_contain_text("Русский")
    assert session_entry(page)["language"] == "ru"
    screenshot(page, "widget-machine-translated-ru")


def test_a_right_to_left_language_turns_the_widget_right_to_left(
    page: Page, system: RunningSystem
) -> None:
    open_demo(page, system, "sv")
    chat(page).locator(".lotsen-launcher").click()
    expect(chat(page).locator(WIDGET)).to_have_attribute("dir", "ltr")
    chat(page).locator(".lotsen-language-toggle").click()
    # Persian is reached through the system's test packages, Arabic is not offered.
    expect(chat(page).locator('#lotsen-languages button[lang="ar"]')).to_have_count(0)
    chat(page).locator('#lotsen-languages button[lang="fa"]').click()
    expect(chat(page).locator(WIDGET)).to_have_attribute("dir", "rtl")
    expect(chat(page).locator(WIDGET)).to_have_attribute("lang", "fa")
    say(page, "سلام، برنامه ادغام چیست؟")
    expect(bot_messages(page).nth(1)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    assert session_entry(page)["language"] == "fa"
    expect(chat(page).locator(WIDGET)).to_have_attribute("dir", "rtl")
    screenshot(page, "widget-right-to-left-fa")
    # Back to Swedish, left to right again.
    chat(page).locator(".lotsen-language-toggle").click()
    chat(page).locator('#lotsen-languages button[lang="sv"]').click()
    expect(chat(page).locator(WIDGET)).to_have_attribute("dir", "ltr", timeout=REPLY_TIMEOUT_MS)


def test_the_widget_makes_no_third_party_request_and_keeps_no_cookie_or_local_storage(
    page: Page, system: RunningSystem
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    open_demo(page, system, "en")
    chat(page).locator(".lotsen-launcher").click()
    say(page, "What is the integration plan?")
    expect(bot_messages(page).nth(1)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    chat(page).locator(f"{WIDGET} .lotsen-reply").first.click()
    expect(bot_messages(page).nth(2)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    page.reload()
    chat(page).locator(".lotsen-launcher").click()
    expect(bot_messages(page).nth(2)).to_be_visible()

    app_origin = system.app_url.rstrip("/")
    # The page, the widget's script and style, its configuration, the conversation API and
    # the event stream: every request went to Lotsen's own origin, none anywhere else.
    assert any("/widget.js" in url for url in requested)
    assert any("/api/v1/conversations" in url for url in requested)
    others = [url for url in requested if not url.startswith(app_origin + "/")]
    assert others == []
    assert page.context.cookies() == []
    for document in (page, widget_frame(page)):
        assert document.evaluate("() => document.cookie") == ""
        assert document.evaluate("() => sessionStorage.length") == 0
    # The frame keeps only which conversation is this device's (the demo page is Lotsen's
    # own, so it shares the frame's storage; another site's page sees none of it, below).
    kept = widget_frame(page).evaluate("() => Object.values(localStorage)")
    assert len(kept) == 1 and set(json.loads(kept[0])) == {"id", "token", "language"}


def embedding_page(system: RunningSystem) -> Starlette:
    """A municipality's own page on another site, with the one tag, and a script of its own
    that keeps whatever the widget tells the page (as analytics would)."""
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Exempelby</title>
<script>
window.seen = [];
window.addEventListener("message", (event) => window.seen.push(JSON.stringify(event.data)));
</script></head>
<body><h1>Exempelby</h1><p>Integration services.</p>
<script src="{system.app_url}/widget.js" data-municipality="example" defer></script>
</body></html>"""

    async def page(_request: Request) -> HTMLResponse:
        return HTMLResponse(html)

    return Starlette(routes=[Route("/", page)])


@pytest.fixture
def municipal_site(system: RunningSystem) -> Iterator[str]:
    server, thread = serve(embedding_page(system), system.embedding_site_port, "municipal site")
    yield system.embedding_site_url
    shut_down(server, thread)


@pytest.fixture
def unknown_site(system: RunningSystem) -> Iterator[str]:
    port = free_port()
    server, thread = serve(embedding_page(system), port, "a site not allowed")
    yield f"http://127.0.0.1:{port}"
    shut_down(server, thread)


def test_a_script_on_the_host_page_cannot_read_the_conversation(
    page: Page, system: RunningSystem, municipal_site: str
) -> None:
    page.goto(municipal_site)
    chat(page).locator(".lotsen-launcher").click()
    question = "How do I get an integration plan?"
    say(page, question)
    expect(bot_messages(page).nth(1)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    conversation = session_entry(page)
    answer = bot_messages(page).nth(1).inner_text()

    # Everything a script of the host page can reach: its storage, cookies, the page itself
    # (the frame's address among it), and every message the widget sent it.
    reachable = page.evaluate(
        """() => JSON.stringify([{...sessionStorage}, {...localStorage}, document.cookie,
            document.documentElement.outerHTML, window.seen])"""
    )
    for secret in (conversation["token"], conversation["id"], question, answer[:40]):
        assert secret not in reachable
    assert page.evaluate("() => window.seen.length") > 0
    # The frame's own document and storage are another origin's.
    blocked = page.evaluate(
        """() => {
            const frame = document.getElementById("lotsen-widget-frame");
            let storage;
            try { storage = frame.contentWindow.sessionStorage.length; }
            catch (error) { storage = error.name; }
            return {document: frame.contentDocument === null, storage};
        }"""
    )
    assert blocked == {"document": True, "storage": "SecurityError"}
    screenshot(page, "widget-on-another-site")


def test_a_site_not_allowed_to_embed_the_widget_gets_no_chat(
    page: Page, system: RunningSystem, unknown_site: str
) -> None:
    page.goto(unknown_site)
    # Once the frame has loaded, an allowed site's would show the launcher (the chat's
    # script is deferred, so it has run by then).
    frame = widget_frame(page)
    assert frame.locator(".lotsen-launcher").count() == 0
    refused = httpx.get(
        f"{system.app_url}/widget/frame",
        params={"municipality": "example", "language": "en", "host": unknown_site},
    )
    assert refused.status_code == 403


def test_the_conversation_continues_in_a_new_tab_and_on_a_return_visit(
    browser: Browser, system: RunningSystem
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        first = context.new_page()
        open_demo(first, system, "uk")
        chat(first).locator(".lotsen-launcher").click()
        say(first, UKRAINIAN_QUESTION)
        expect(bot_messages(first).nth(1)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        conversation = session_entry(first)

        # Another tab of the same site: the same conversation, not a new one.
        second = context.new_page()
        open_demo(second, system, "uk")
        chat(second).locator(".lotsen-launcher").click()
        expect(chat(second).locator(f"{WIDGET} .lotsen-from-user")).to_contain_text(
            UKRAINIAN_QUESTION
        )
        assert session_entry(second)["id"] == conversation["id"]

        # Every tab closed, the person comes back later on the same device.
        first.close()
        second.close()
        again = context.new_page()
        open_demo(again, system, "uk")
        chat(again).locator(".lotsen-launcher").click()
        expect(bot_messages(again).nth(1)).to_be_visible()
        assert session_entry(again)["id"] == conversation["id"]
        # Deleting it there forgets it on this device.
        chat(again).get_by_role("button", name=STRINGS["uk"]["restart"]).click()
        chat(again).get_by_role("button", name=STRINGS["uk"]["confirmYes"]).click()
        expect(chat(again).locator(f"{WIDGET} .lotsen-notice")).to_have_text(
            STRINGS["uk"]["deleted"]
        )
        assert widget_frame(again).evaluate("() => localStorage.length") == 0
    finally:
        context.close()


def test_a_newcomer_who_reads_no_swedish_is_invited_in_their_language_first(
    page: Page, system: RunningSystem
) -> None:
    open_demo(page, system, "sv")
    launcher = chat(page).locator(".lotsen-launcher")
    # The launcher and the greeting say it in every language, each marked as such.
    for code in ("fi", "uk", "en"):
        expect(launcher.locator(f'[lang="{code}"]')).to_have_text(STRINGS[code]["launcher"])
    launcher.click()
    greeting = chat(page).locator(f"{WIDGET} .lotsen-from-bot").first
    for code in ("fi", "uk", "en"):
        expect(greeting.locator(f'li[lang="{code}"]')).to_have_text(STRINGS[code]["canWrite"])
    # The language button: a globe and the language's own name, "Language" for a screen
    # reader as well.
    toggle = chat(page).locator(".lotsen-language-toggle")
    expect(toggle).to_contain_text("Svenska")
    expect(toggle).to_have_accessible_name(f"{STRINGS['sv']['language']} (Language): Svenska")


def test_messages_are_headed_articles_and_answered_buttons_leave_the_tab_order(
    page: Page, system: RunningSystem
) -> None:
    open_demo(page, system, "en")
    chat(page).locator(".lotsen-launcher").click()
    say(page, "What is the integration plan?")
    answer = chat(page).locator(f"{WIDGET} article.lotsen-from-bot").nth(1)
    expect(answer).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    expect(answer.get_by_role("heading", name=STRINGS["en"]["bot"])).to_have_count(1)
    # Phone numbers and e-mail addresses in an answer can be called and written to.
    expect(answer.locator('a[href^="tel:+358"]')).to_have_count(1)
    expect(answer.locator('a[href^="mailto:"]')).to_have_count(1)
    replies = answer.locator(".lotsen-reply")
    count = replies.count()
    assert count >= 2
    replies.first.click()
    expect(bot_messages(page).nth(2)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    # The answered message's buttons stay readable but are no longer offered.
    for index in range(count):
        expect(replies.nth(index)).to_be_disabled()
    enabled = chat(page).locator(f"{WIDGET} .lotsen-reply:not([disabled])")
    latest = chat(page).locator(f"{WIDGET} article.lotsen-from-bot").last
    assert enabled.count() == latest.locator(".lotsen-reply").count()


def test_the_message_box_can_be_reached_on_a_phone_with_large_text(
    browser: Browser, system: RunningSystem
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        open_demo(page, system, "uk")
        for document in (page, widget_frame(page)):
            document.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
        chat(page).locator(".lotsen-launcher").click()
        say(page, UKRAINIAN_QUESTION)
        expect(bot_messages(page).nth(1)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        # The panel fills the phone and scrolls when its parts do not fit: the person can
        # always scroll to the message box and the send button.
        overflow = widget_frame(page).evaluate(
            "() => getComputedStyle(document.getElementById('lotsen-panel')).overflowY"
        )
        assert overflow in ("auto", "scroll")
        for control in ("#lotsen-input", ".lotsen-send"):
            target = chat(page).locator(control)
            target.scroll_into_view_if_needed()
            expect(target).to_be_in_viewport()
        screenshot(page, "widget-360-text-200")
        # At the normal text size the two action buttons are 44 px touch targets.
        widget_frame(page).evaluate("() => { document.documentElement.style.fontSize = ''; }")
        for name in ("human", "restart"):
            box = (
                chat(page)
                .get_by_role("button", name=STRINGS["uk"][name], exact=True)
                .bounding_box()
            )
            assert box is not None and box["height"] >= 44 and box["width"] >= 44, name
    finally:
        context.close()


def test_a_long_message_is_shown_from_its_start_and_a_long_paste_is_kept(
    browser: Browser, system: RunningSystem, store: ConversationStore
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        open_demo(page, system, "en")
        chat(page).locator(".lotsen-launcher").click()
        say(page, "How do I get an integration plan and what is in it?")
        expect(bot_messages(page).nth(1)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        # A message longer than the phone's view (a coordinator's long reply): its first
        # line is what is shown, not its end.
        store.queue_outbound(
            session_entry(page)["id"],
            text="\n".join(
                f"Step {n}: " + "read the guide and bring your papers. " * 4 for n in range(1, 16)
            ),
            language="en",
            sender=MessageSender.COORDINATOR,
            sender_name="Anna",
        )
        answer = chat(page).locator(f"{WIDGET} .lotsen-from-coordinator .lotsen-text")
        expect(answer).to_contain_text("Step 15")
        first_line = answer.evaluate(
            """element => {
                const log = element.closest('.lotsen-log');
                return [element.getBoundingClientRect().top - log.getBoundingClientRect().top,
                        element.offsetHeight > log.clientHeight];
            }"""
        )
        offset, longer_than_view = first_line
        assert longer_than_view and 0 <= offset <= 40, first_line
        # A pasted text over the limit is neither cut nor sent; the person is told at once.
        limit = 2000
        pasted = "Hei! " + "minulla on kysymys " * 120
        assert len(pasted) > limit
        chat(page).locator("#lotsen-input").fill(pasted)
        error = chat(page).locator(f"{WIDGET} .lotsen-error")
        expect(error).to_have_text(STRINGS["en"]["tooLong"].replace("{limit}", str(limit)))
        page.keyboard.press("Enter")
        assert chat(page).locator("#lotsen-input").input_value() == pasted
        expect(chat(page).locator(f"{WIDGET} .lotsen-from-user")).to_have_count(1)
        # Shortened, it goes.
        chat(page).locator("#lotsen-input").fill(pasted[:300])
        expect(error).to_be_hidden()
    finally:
        context.close()


def test_coordinator_reply_arrives_live_and_the_person_state_is_shown(
    page: Page, system: RunningSystem, store: ConversationStore
) -> None:
    open_demo(page, system, "sv")
    chat(page).locator(".lotsen-launcher").click()
    chat(page).get_by_role("button", name=STRINGS["sv"]["human"]).click()
    expect(chat(page).locator(f"{WIDGET} .lotsen-from-user")).to_have_text(
        re.compile(STRINGS["sv"]["humanShown"])
    )
    expect(bot_messages(page).nth(1)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    conversation_id = session_entry(page)["id"]

    # The conversation is with a person now (set as the coordinator side would).
    with store._sessions.begin() as session:
        session.execute(
            update(Conversation).where(Conversation.id == conversation_id).values(state="human")
        )
    notice = chat(page).locator(f"{WIDGET} .lotsen-notice")
    expect(notice).to_have_text(STRINGS["sv"]["withHuman"])
    expect(chat(page).get_by_role("button", name=STRINGS["sv"]["human"])).to_be_hidden()

    queued = store.queue_outbound(
        conversation_id,
        text="Hej! Jag heter Anna och är integrationshandledare. Hur kan jag hjälpa dig?",
        language="sv",
        sender=MessageSender.COORDINATOR,
        sender_name="Anna",
    )
    coordinator = chat(page).locator(f"{WIDGET} .lotsen-from-coordinator")
    expect(coordinator).to_contain_text("Jag heter Anna")
    expect(coordinator.locator(".lotsen-sender")).to_contain_text("Anna")
    screenshot(page, "widget-coordinator-1280")

    # Delivered: the stream marks it sent right after pushing it (bounded polling).
    assert message_status(store, queued.id, until=MessageStatus.SENT) == MessageStatus.SENT

    with store._sessions.begin() as session:
        session.execute(
            update(Conversation).where(Conversation.id == conversation_id).values(state="waiting")
        )
    expect(notice).to_have_text(STRINGS["sv"]["waiting"])

    # A reply while the panel is closed: the launcher tells, the panel then shows it.
    page.keyboard.press("Escape")
    launcher = chat(page).locator(".lotsen-launcher")
    badge = launcher.locator(".lotsen-badge")
    expect(badge).to_be_hidden()
    store.queue_outbound(
        conversation_id,
        text="Är du kvar?",
        language="sv",
        sender=MessageSender.COORDINATOR,
        sender_name="Anna",
    )
    expect(badge).to_be_visible()
    expect(launcher).to_have_accessible_name(
        re.compile("^" + re.escape(f"{STRINGS['sv']['launcher']} {STRINGS['sv']['newMessage']}"))
    )
    launcher.click()
    expect(coordinator.last).to_contain_text("Är du kvar?")
    expect(launcher).to_be_hidden()


def test_axe_finds_no_serious_violations_in_the_open_widget(
    browser: Browser, system: RunningSystem
) -> None:
    # The app's CSP refuses inline scripts, axe-core's injection among them: bypassed in
    # this one test's browser only.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    open_demo(page, system, "sv")
    chat(page).locator(".lotsen-launcher").click()
    say(page, "Vad är en integrationsplan?")
    expect(chat(page).locator(f"{WIDGET} .lotsen-reply").first).to_be_visible(
        timeout=REPLY_TIMEOUT_MS
    )
    chat(page).locator(".lotsen-language-toggle").click()
    assert axe_violations(widget_frame(page), WIDGET) == []
    page.keyboard.press("Escape")
    screenshot(page, "widget-open-1280")
    context.close()


def test_html_in_messages_is_shown_as_text(
    page: Page, system: RunningSystem, store: ConversationStore
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_demo(page, system, "en")
    chat(page).locator(".lotsen-launcher").click()
    attack = "<img src=x onerror=alert(1)>"
    say(page, attack)
    expect(chat(page).locator(f"{WIDGET} .lotsen-from-user .lotsen-text")).to_have_text(attack)
    expect(bot_messages(page).nth(1)).to_be_visible(timeout=REPLY_TIMEOUT_MS)

    # Links in a message: only http(s) become links, and they open safely.
    store.queue_outbound(
        session_entry(page)["id"],
        text="See https://example.invalid/guide. Not javascript:alert(2) <b>bold</b>",
        language="en",
        sender=MessageSender.COORDINATOR,
        sender_name="Anna",
    )
    coordinator = chat(page).locator(f"{WIDGET} .lotsen-from-coordinator .lotsen-text")
    expect(coordinator).to_contain_text("<b>bold</b>")
    links = coordinator.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.invalid/guide")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    assert chat(page).locator(f"{WIDGET} img, {WIDGET} b").count() == 0
    assert dialogs == []


@pytest.mark.parametrize("width", [320, 360])
def test_usable_on_a_narrow_phone(browser: Browser, system: RunningSystem, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 640})
    page = context.new_page()
    try:
        open_demo(page, system, "fi")
        chat(page).locator(".lotsen-launcher").click()
        panel = chat(page).locator("#lotsen-panel")
        box = panel.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        say(page, "Mikä on kotoutumissuunnitelma?")
        expect(bot_messages(page).nth(1)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        for control in (chat(page).locator("#lotsen-input"), chat(page).locator(".lotsen-send")):
            expect(control).to_be_in_viewport()
        # Nothing sticks out sideways.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        screenshot(page, f"widget-{width}")
    finally:
        context.close()


def test_text_at_200_percent_still_fits(page: Page, system: RunningSystem) -> None:
    open_demo(page, system, "sv")
    # The reader's text size doubled, as the browser's setting does for every page (the
    # panel and its frame are sized in rem).
    for document in (page, widget_frame(page)):
        document.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
    chat(page).locator(".lotsen-launcher").click()
    for control in ("#lotsen-input", ".lotsen-send", ".lotsen-close", ".lotsen-human"):
        expect(chat(page).locator(control)).to_be_in_viewport()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280


PHONE_VIEWS = {
    "360": ({"width": 360, "height": 740}, None),
    "360-text-200": ({"width": 360, "height": 740}, "200%"),
    "1280": ({"width": 1280, "height": 800}, None),
}


def larger_text(page: Page, size: str) -> None:
    """The reader's text size, as the browser's setting sets it for every page."""
    for document in (page, widget_frame(page)):
        document.evaluate(f"() => {{ document.documentElement.style.fontSize = '{size}'; }}")


@pytest.mark.parametrize("view", sorted(PHONE_VIEWS))
def test_a_long_answer_opens_with_its_first_screen_and_more_shows_the_rest_in_place(
    browser: Browser, system: RunningSystem, view: str
) -> None:
    viewport, text_size = PHONE_VIEWS[view]
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        open_demo(page, system, "uk")
        if text_size:
            larger_text(page, text_size)
        chat(page).locator(".lotsen-launcher").click()
        say(page, UKRAINIAN_QUESTION)
        answer = chat(page).locator(f"{WIDGET} article.lotsen-from-bot").nth(1)
        expect(answer).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        message = render_response("utter_integration_plan", "uk", "example")
        assert message.markup is not None
        layout = parse(message.markup)
        first, more, rest = (
            answer.locator(".lotsen-text"),
            answer.locator(".lotsen-more"),
            answer.locator(".lotsen-rest"),
        )
        expect(first).to_have_text(layout.plain_first_screen)
        expect(rest).to_be_hidden()
        expect(more).to_have_attribute("aria-expanded", "false")
        expect(more).to_have_accessible_name(STRINGS["uk"]["more"])
        assert more.get_attribute("aria-controls") == rest.get_attribute("id")
        # The Finnish terms are marked as Finnish, so a screen reader says them in Finnish.
        expect(first.locator('span[lang="fi"]').first).to_have_text("kotoutumissuunnitelma")
        if text_size is None:
            # The first screen and its "Show more" fit the view: nothing to scroll back for.
            # (The follow-up buttons come after; they may need a scroll.)
            fits = answer.evaluate(
                """element => {
                    const more = element.querySelector('.lotsen-more').getBoundingClientRect();
                    const log = element.closest('.lotsen-log').clientHeight;
                    return [more.bottom - element.getBoundingClientRect().top, log];
                }"""
            )
            assert fits[0] <= fits[1], fits
            expect(more).to_be_in_viewport()
        else:
            more.scroll_into_view_if_needed()
        screenshot(page, f"widget-{view}-answer-first-screen")
        more.click()
        expect(more).to_have_attribute("aria-expanded", "true")
        expect(rest).to_be_visible()
        expect(rest).to_have_text(layout.plain_more)
        # Nothing is lost between the two: together they are the stored answer.
        assert f"{first.inner_text()}\n{rest.inner_text()}".replace("\n", "") == (
            message.text.replace("\n", "")
        )
        assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
        screenshot(page, f"widget-{view}-answer-more")
    finally:
        context.close()


@pytest.mark.parametrize("view", ["360", "1280"])
def test_every_first_screen_fits_the_view_in_every_language(
    browser: Browser, system: RunningSystem, view: str
) -> None:
    """Every answer of the content, as the widget lays it out on a phone and on a laptop: its
    first screen with "Show more" (or the whole answer) is no taller than the conversation's
    view."""
    context = browser.new_context(viewport=PHONE_VIEWS[view][0])
    page = context.new_page()
    try:
        open_demo(page, system, "sv")
        chat(page).locator(".lotsen-launcher").click()
        catalog = get_catalog()
        answers = []
        for language in ("sv", "fi", "uk", "en"):
            for name in sorted(catalog.names(language)):
                message = render_response(name, language, "example")
                layout = parse(message.markup) if message.markup else None
                first = layout.plain_first_screen if layout else message.text
                answers.append([f"{name} ({language})", first, bool(layout and layout.more)])
        heights = widget_frame(page).evaluate(
            """(answers) => {
                const log = document.querySelector('.lotsen-log');
                return answers.map(([name, text, more]) => {
                    const article = document.createElement('article');
                    article.className = 'lotsen-message lotsen-from-bot';
                    const heading = document.createElement('h3');
                    heading.className = 'lotsen-sender';
                    heading.textContent = 'Lotsen';
                    const body = document.createElement('div');
                    body.className = 'lotsen-text';
                    body.textContent = text;
                    article.append(heading, body);
                    if (more) {
                        const button = document.createElement('button');
                        button.className = 'lotsen-more';
                        button.textContent = 'Visa mer';
                        article.append(button);
                    }
                    log.append(article);
                    const height = article.offsetHeight;
                    article.remove();
                    return [name, height, log.clientHeight];
                });
            }""",
            answers,
        )
        too_tall = [(name, h, view) for name, h, view in heights if h > view]
        tallest = max(heights, key=lambda row: row[1] / row[2])
        print(f"tallest first screen at {view}: {tallest[0]}, {tallest[1]} of {tallest[2]} px")
        assert not too_tall, too_tall
    finally:
        context.close()


def test_the_waiting_notice_is_two_lines_at_most_on_a_phone(
    browser: Browser, system: RunningSystem
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        open_demo(page, system, "fi")
        chat(page).locator(".lotsen-launcher").click()
        chat(page).get_by_role("button", name=STRINGS["fi"]["human"]).click()
        notice = chat(page).locator(f"{WIDGET} .lotsen-notice")
        expect(notice).to_have_text(STRINGS["fi"]["waiting"], timeout=REPLY_TIMEOUT_MS)
        screenshot(page, "widget-360-waiting")
        # Each language's wording, in the same place: two lines at most.
        for language in ("sv", "fi", "uk", "en"):
            lines = notice.evaluate(
                """(element, text) => {
                    element.textContent = text;
                    const style = getComputedStyle(element);
                    const inner = element.clientHeight - parseFloat(style.paddingTop)
                        - parseFloat(style.paddingBottom);
                    return Math.round(inner / parseFloat(style.lineHeight));
                }""",
                STRINGS[language]["waiting"],
            )
            assert lines <= 2, (language, lines)
    finally:
        context.close()


def target_size_violations(page: Page, selector: str) -> list[dict[str, object]]:
    """axe-core's WCAG 2.2 target-size rule (24 px, or enough space around), off by default."""
    frame = widget_frame(page)
    frame.evaluate(AXE.read_text(encoding="utf-8"))
    return list(
        frame.evaluate(
            """async (selector) => {
                const r = await axe.run(selector, {runOnly: {type: 'rule',
                    values: ['target-size']}});
                return r.violations.map(v => ({id: v.id,
                    nodes: v.nodes.map(n => n.target.join(' '))}));
            }""",
            selector,
        )
    )


@pytest.mark.parametrize("view", sorted(PHONE_VIEWS))
def test_axe_and_target_size_with_a_long_answer_opened(
    browser: Browser, system: RunningSystem, view: str
) -> None:
    viewport, text_size = PHONE_VIEWS[view]
    context = browser.new_context(viewport=viewport, bypass_csp=True)
    page = context.new_page()
    try:
        open_demo(page, system, "en")
        if text_size:
            larger_text(page, text_size)
        chat(page).locator(".lotsen-launcher").click()
        say(page, "What is the integration plan?")
        more = chat(page).locator(f"{WIDGET} .lotsen-more").first
        expect(more).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        more.click()
        expect(chat(page).locator(f"{WIDGET} .lotsen-rest").first).to_be_visible()
        assert axe_violations(widget_frame(page), WIDGET) == []
        assert target_size_violations(page, WIDGET) == []
    finally:
        context.close()


@pytest.fixture(scope="module")
def widget_free_times(system: RunningSystem) -> None:
    """Free times on the coming working days at 9 and 13 Helsinki time, at a long address
    (a time button must show all of it)."""
    engine = make_engine(system.database_url)
    with Session(engine) as session, session.begin():
        session.add(
            Coordinator(municipality="example", username="widget.booking", display_name="Eva")
        )
        session.flush()
        today = datetime.now(HELSINKI).date()
        add_slots(
            session,
            [
                SlotInput(
                    "widget.booking",
                    today + timedelta(days=n),
                    dt_time(hour),
                    45,
                    SlotKind.OFFICE,
                    "Exempelgatan 1, Exempelby kommuns servicepunkt",
                )
                for n in range(1, 21)
                if (today + timedelta(days=n)).weekday() < 5
                for hour in (9, 13)
            ],
            datetime.now(UTC),
        )
    engine.dispose()


def press_reply(page: Page, payload: str, content: str, language: str) -> None:
    """Presses the quick reply the content offers with `payload` (found by its title)."""
    buttons = render_response(content, language, "example").buttons
    (title,) = [button["title"] for button in buttons if button["payload"] == payload]
    before = bot_messages(page).count()
    chat(page).locator(f"{WIDGET} .lotsen-reply:not([disabled])", has_text=title).first.click()
    expect(bot_messages(page)).to_have_count(before + 1, timeout=REPLY_TIMEOUT_MS)


def say_and_wait(page: Page, text: str) -> None:
    before = bot_messages(page).count()
    say(page, text)
    expect(bot_messages(page).nth(before)).to_be_visible(timeout=REPLY_TIMEOUT_MS)


def booking_choice(value: str) -> str:
    return f'/inform{{"booking_choice": "{value}"}}'


@pytest.mark.parametrize("view", sorted(PHONE_VIEWS))
def test_the_newcomer_points_in_each_view_with_screenshots(
    browser: Browser, system: RunningSystem, widget_free_times: None, view: str
) -> None:
    """Issue 17's points 1-6 for the newcomer, walked through at 360 x 740, at 200% text
    and at 1280 x 800, each with its screenshot in reports/screenshots/."""
    viewport, text_size = PHONE_VIEWS[view]
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        open_demo(page, system, "sv")
        if text_size:
            larger_text(page, text_size)
        # 4. The first contact is not Swedish only.
        expect(chat(page).locator(".lotsen-launcher")).to_have_accessible_name(launcher_name("sv"))
        screenshot(page, f"widget-{view}-4-launcher")
        chat(page).locator(".lotsen-launcher").click()
        screenshot(page, f"widget-{view}-4-greeting")

        # 3. A long answer: its first screen, terms marked, phone and e-mail as links.
        say_and_wait(page, "Vad är en integrationsplan?")
        answer = chat(page).locator(f"{WIDGET} article.lotsen-from-bot").nth(1)
        expect(answer.locator(".lotsen-more")).to_be_visible()
        expect(answer.locator('span[lang="fi"]').first).to_be_attached()
        screenshot(page, f"widget-{view}-3-long-answer")

        # 6. Booking: every step can be stopped, the times show their whole place, the
        # summary names the contact to be confirmed.
        say_and_wait(page, "kan jag boka en tid hos handledaren")
        press_reply(page, booking_choice("assessment"), "utter_ask_booking_purpose", "sv")
        press_reply(page, booking_choice("fi"), "utter_ask_booking_meeting_language", "sv")
        say_and_wait(page, "ja")
        stop = chat(page).locator(
            f"{WIDGET} .lotsen-reply:not([disabled])", has_text="Avbryt bokningen"
        )
        expect(stop).to_be_visible()
        screenshot(page, f"widget-{view}-6-interpreter-language")
        press_reply(page, booking_choice("uk"), "utter_ask_booking_interpreter_language", "sv")
        say_and_wait(page, "Amina Example")
        say_and_wait(page, "040 123 4567")
        times = chat(page).locator(f"{WIDGET} .lotsen-reply:not([disabled])")
        expect(times.first).to_contain_text("Exempelgatan 1, Exempelby kommuns servicepunkt")
        cut = times.evaluate_all(
            "buttons => buttons.filter(b => b.scrollWidth > b.clientWidth + 1).length"
        )
        assert cut == 0
        screenshot(page, f"widget-{view}-6-times")
        before = bot_messages(page).count()
        times.first.click()
        summary = bot_messages(page).nth(before)
        expect(summary).to_contain_text("Amina Example", timeout=REPLY_TIMEOUT_MS)
        expect(summary).to_contain_text("040 123 4567")
        summary.scroll_into_view_if_needed()
        screenshot(page, f"widget-{view}-6-summary")
        press_reply(
            page,
            # Stopped rather than booked: unlinked people may hold only two coming
            # bookings per network, and every test here comes from 127.0.0.1.
            booking_choice("stop"),
            "utter_ask_booking_confirmed",
            session_entry(page)["language"],
        )

        # 5. Answered quick replies left the Tab order: only the summary's are offered.
        enabled = chat(page).locator(f"{WIDGET} .lotsen-reply:not([disabled])")
        latest = chat(page).locator(f"{WIDGET} article.lotsen-from-bot").last
        assert enabled.count() == latest.locator(".lotsen-reply").count()
        expect(chat(page).locator(f"{WIDGET} article h3").first).to_be_attached()
        screenshot(page, f"widget-{view}-5-retired-replies")

        # 2. The message box and the send button can be reached, the action buttons are
        # touch targets.
        for control in ("#lotsen-input", ".lotsen-send", ".lotsen-human", ".lotsen-restart"):
            target = chat(page).locator(control)
            target.scroll_into_view_if_needed()
            expect(target).to_be_in_viewport()
        screenshot(page, f"widget-{view}-2-composer")

        # 1. A new tab continues the conversation; waiting for a person says so briefly.
        second = context.new_page()
        open_demo(second, system, "sv")
        if text_size:
            larger_text(second, text_size)
        chat(second).locator(".lotsen-launcher").click()
        expect(chat(second).locator(f"{WIDGET} .lotsen-from-user").first).to_contain_text(
            "Vad är en integrationsplan?"
        )
        language = session_entry(second)["language"]
        human = chat(second).locator(".lotsen-human")
        human.scroll_into_view_if_needed()
        expect(human).to_have_accessible_name(STRINGS[language]["human"])
        human.click()
        expect(chat(second).locator(f"{WIDGET} .lotsen-notice")).to_have_text(
            STRINGS[language]["waiting"], timeout=REPLY_TIMEOUT_MS
        )
        if text_size is None:
            # At the normal text size everything fits: the panel has nothing to scroll to
            # (no blank stretch a swipe could reveal).
            assert widget_frame(second).evaluate(
                """() => {
                    const panel = document.getElementById('lotsen-panel');
                    return panel.scrollHeight <= panel.clientHeight + 1;
                }"""
            )
        screenshot(second, f"widget-{view}-1-new-tab-waiting")
    finally:
        context.close()
