"""The coordinator app in a real browser (Debian's Chromium through Playwright) against the
real Rasa, action server and app: sign in, see a handed-over conversation arrive live,
take it, reply, hand it back, and the bot answers again; a Ukrainian person's conversation
machine translated both ways. Screenshots go to reports/screenshots/."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.coordinator.auth import create_user
from bot.coordinator.rendering import texts as app_texts
from bot.db import make_engine
from bot.db.models import (
    AppointmentSlot,
    Coordinator,
    CoordinatorRole,
    Message,
    MessageTranslation,
    utcnow,
)
from bot.nlg.render import render_response
from bot.settings import PROJECT_ROOT
from tests.support.browser import (
    WCAG_22_AA,
    axe_violations,
    screenshot,
    widget_chat,
    widget_frame,
)
from tests.support.running import Person, is_cyrillic, texts
from tests.support.system import RunningSystem

pytestmark = pytest.mark.integration

SV = app_texts("sv")
FI = app_texts("fi")
# The coordinator's laptop.
LAPTOP = {"width": 1280, "height": 800}

PASSWORD = "a long enough password"


def coordinator_account(
    system: RunningSystem, username: str, display_name: str, language: str
) -> str:
    """A coordinator of the example municipality who signs in with PASSWORD."""
    engine = make_engine(system.database_url)
    with Session(engine) as session, session.begin():
        create_user(
            session,
            username=username,
            display_name=display_name,
            municipality="example",
            role=CoordinatorRole.COORDINATOR,
            language=language,
            password=PASSWORD,
        )
    engine.dispose()
    return username


@pytest.fixture(scope="module")
def coordinator(system: RunningSystem) -> str:
    return coordinator_account(system, "anna.browser", "Anna Browser", "sv")


def sign_in(page: Page, system: RunningSystem, username: str) -> None:
    page.goto(f"{system.app_url}/coordinator/")
    expect(page).to_have_url(re.compile(r"/coordinator/login$"))
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("heading", name="Överlämnade samtal")).to_be_visible()


def test_a_handed_over_conversation_from_queue_to_reply_and_back(
    page: Page, system: RunningSystem, coordinator: str
) -> None:
    sign_in(page, system, coordinator)
    screenshot(page, "coordinator-queue-empty")

    # A person asks for a person while the queue is open: it appears without a reload.
    person = Person(system, "uk")
    person.say("Де знайти житло?")
    handed = person.say("Хочу поговорити з людиною")
    assert handed["state"] == "waiting"
    row = page.locator(f'tr[data-conversation="{person.id}"]')
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_contain_text("väntar")
    # The topic the assistant last recognised, as a word of the coordinator's language.
    expect(row).to_contain_text(app_texts("sv")["topic_ask_housing"])
    screenshot(page, "coordinator-queue")
    assert axe_violations(page, "main") == []

    # Something a person wrote that would run if it were HTML.
    person.say('<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">')
    expect(row).to_contain_text("<script>window.pwned = 1</script>", timeout=15_000)

    row.get_by_role("button", name="Ta samtalet").click()
    expect(page.get_by_role("heading", name="Samtal")).to_be_visible()
    transcript = page.locator("#transcript")
    expect(transcript).to_contain_text("Хочу поговорити з людиною")
    expect(transcript).to_contain_text('<img src=x onerror="window.pwned = 2">')
    assert page.locator("#transcript img").count() == 0
    assert page.evaluate("window.pwned === undefined")

    # Anna writes Ukrainian herself, and says so: it goes out as written, untranslated.
    page.get_by_role("textbox", name="Svar", exact=True).fill("Вітаю! Я Анна, радник з інтеграції.")
    page.get_by_label("Språket du skriver på").select_option("uk")
    page.get_by_role("button", name="Skicka").click()
    seen = person.http.get(f"/api/v1/conversations/{person.id}/messages").json()["messages"]
    answer = seen[-1]
    assert (answer["sender"], answer["sender_name"]) == ("coordinator", "Anna")
    assert answer["text"] == "Вітаю! Я Анна, радник з інтеграції."

    # The person answers; it arrives in the open conversation view without a reload.
    person.say("Дякую! У мене ще питання про житло.")
    expect(transcript).to_contain_text("У мене ще питання про житло.", timeout=15_000)
    screenshot(page, "coordinator-conversation")
    assert axe_violations(page, "main") == []

    # Her last message is unanswered: handing back asks first.
    page.get_by_role("button", name="Lämna tillbaka till chattboten").click()
    expect(page.locator("#confirm")).to_contain_text(app_texts("sv")["confirm_handback"])
    expect(page.locator("#confirm")).to_be_focused()
    page.get_by_role("button", name=app_texts("sv")["confirm_handback_yes"]).click()
    expect(page.get_by_role("heading", name="Överlämnade samtal")).to_be_visible()
    back = person.say("Що таке інтеграційний план?")
    assert back["state"] == "bot"
    assert "план" in texts(back)


def test_signing_out_ends_the_session(page: Page, system: RunningSystem, coordinator: str) -> None:
    sign_in(page, system, coordinator)
    page.get_by_role("button", name="Logga ut").click()
    expect(page).to_have_url(re.compile(r"/coordinator/login$"))
    page.goto(f"{system.app_url}/coordinator/cases")
    expect(page).to_have_url(re.compile(r"/coordinator/login$"))


def test_from_the_widget_to_the_coordinator_and_back(
    browser: Browser, system: RunningSystem, coordinator: str
) -> None:
    """The whole handoff across both web apps: the person presses "talk to a person" in
    the widget, the coordinator takes the conversation in the queue and answers, the
    answer appears in the widget live, and after the hand-back the assistant answers."""
    strings = json.loads((PROJECT_ROOT / "widget" / "src" / "strings.json").read_text())["uk"]
    person = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    staff = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(staff, system, coordinator)

    person.goto(f"{system.app_url}/?lang=uk")
    chat = widget_chat(person)
    chat.locator(".lotsen-launcher").click()
    chat.get_by_role("button", name=strings["human"]).click()
    notice = chat.locator("#lotsen-widget .lotsen-notice")
    expect(notice).to_have_text(strings["waiting"], timeout=60_000)
    conversation_id = widget_frame(person).evaluate(
        "() => JSON.parse(Object.entries(localStorage)"
        ".find(([key]) => key.startsWith('lotsen-widget:'))[1]).id"
    )

    row = staff.locator(f'tr[data-conversation="{conversation_id}"]')
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_contain_text("web")
    row.get_by_role("button", name="Ta samtalet").click()
    expect(notice).to_have_text(strings["withHuman"], timeout=15_000)
    staff.get_by_role("textbox", name="Svar", exact=True).fill("Вітаю! Я Анна. Чим допомогти?")
    staff.get_by_label("Språket du skriver på").select_option("uk")
    staff.get_by_role("button", name="Skicka").click()
    reply = chat.locator("#lotsen-widget .lotsen-from-coordinator").last
    expect(reply).to_contain_text("Вітаю! Я Анна.", timeout=15_000)
    expect(reply.locator(".lotsen-sender")).to_contain_text("Anna")
    screenshot(person, "handoff-widget-1280")

    staff.get_by_role("button", name="Lämna tillbaka till chattboten").click()
    expect(notice).to_be_hidden(timeout=15_000)
    chat.locator("#lotsen-input").fill("Що таке інтеграційний план?")
    person.keyboard.press("Enter")
    expect(chat.locator("#lotsen-widget .lotsen-from-bot .lotsen-text").last).to_contain_text(
        "план", timeout=60_000
    )
    person.context.close()
    staff.context.close()


def stored(system: RunningSystem, conversation_id: str) -> list[tuple[Message, str | None]]:
    """The conversation's messages, each with its stored translation into Swedish."""
    engine = make_engine(system.database_url)
    try:
        with Session(engine) as session:
            return [
                (message, text)
                for message, text in session.execute(
                    select(Message, MessageTranslation.text)
                    .outerjoin(
                        MessageTranslation,
                        (MessageTranslation.message_id == Message.id)
                        & (MessageTranslation.language == "sv"),
                    )
                    .where(Message.conversation_id == conversation_id)
                    .order_by(Message.id)
                )
            ]
    finally:
        engine.dispose()


def test_a_ukrainian_persons_conversation_machine_translated_both_ways(
    page: Page, system: RunningSystem, coordinator: str
) -> None:
    """The system's test packages lead from Ukrainian to Swedish and back through English;
    their output is nonsense, so this checks where each text goes, what is stored and how
    it is marked."""
    sign_in(page, system, coordinator)
    person = Person(system, "uk")
    assert person.say("Хочу поговорити з людиною")["state"] == "waiting"
    person.say("Де знайти житло для сім'ї?")
    row = page.locator(f'tr[data-conversation="{person.id}"]')
    expect(row).to_be_visible(timeout=15_000)
    row.get_by_role("button", name="Ta samtalet").click()

    # The person's message: the original, and beneath it the stored translation, marked.
    transcript = page.locator("#transcript")
    asked = transcript.locator("li.msg.user").filter(has_text="Де знайти житло для сім'ї?")
    expect(asked.locator('.text[lang="uk"]')).to_have_text("Де знайти житло для сім'ї?")
    expect(asked.locator(".translation")).to_contain_text(
        "Maskinöversättning (ukrainska → engelska → svenska)"
    )
    translations = {m.text: text for m, text in stored(system, person.id) if m.sender == "user"}
    made = translations["Де знайти житло для сім'ї?"]
    assert made and made.strip()
    expect(asked.locator(".translation .text")).to_have_text(made.strip())

    # A message that arrives while the view is open comes translated too.
    person.say("Дякую! Чекаю на відповідь.")
    arrived = transcript.locator("li.msg.user").filter(has_text="Чекаю на відповідь.")
    expect(arrived.locator(".translation")).to_contain_text("Maskinöversättning", timeout=15_000)

    # A quick reply is written in Ukrainian: the form says so, and it would go as written.
    preview = page.locator("#reply-preview")
    writing_in = page.get_by_label("Språket du skriver på")
    page.get_by_role("button", name="Чи можете ви розповісти трохи більше?").click()
    expect(writing_in).to_have_value("uk")
    expect(preview).to_contain_text("Personen får texten som du skrev den.", timeout=15_000)

    # Anna writes Swedish: the preview shows what the person will receive.
    written = "Hej! Jag hjälper dig gärna att hitta en bostad."
    writing_in.select_option("sv")
    page.get_by_role("textbox", name="Svar", exact=True).fill(written)
    expect(preview).to_contain_text("maskinöversatt till ukrainska", timeout=15_000)
    expect(preview.locator(".text")).to_contain_text(written)
    previewed = preview.locator(".text").text_content() or ""
    screenshot(page, "coordinator-translation-preview")
    assert axe_violations(page, "main") == []

    page.get_by_role("button", name="Skicka").click()
    sent = transcript.locator("li.msg.coordinator").last
    expect(sent).to_contain_text("Skickat som maskinöversättning till ukrainska.")
    expect(sent.locator('.text[lang="sv"]')).to_have_text(written)

    # The person receives the translation, the marker in Ukrainian and the original beneath.
    answer = person.http.get(f"/api/v1/conversations/{person.id}/messages").json()["messages"][-1]
    assert (answer["sender"], answer["sender_name"]) == ("coordinator", "Anna")
    assert answer["text"] == previewed
    marker = render_response(
        "utter_machine_translation_original", "uk", "example", {"source": "Svenska"}
    ).text
    assert is_cyrillic(marker)
    translated, original = answer["text"].split(f"\n\n— {marker}\n")
    assert original == written and translated.strip() and translated != written

    # Both texts are stored.
    message = next(m for m, _ in stored(system, person.id) if m.id == answer["id"])
    assert (message.text, message.original_text, message.original_language) == (
        answer["text"],
        written,
        "sv",
    )

    # What the person received is one click away in the transcript.
    sent.locator("summary").click()
    expect(sent.locator('details .text[lang="uk"]')).to_contain_text(marker)
    screenshot(page, "coordinator-translation-sent")
    assert axe_violations(page, "main") == []


# --- The desk (issue 17), at 1280 × 800 -------------------------------------------------


def desk_page(browser: Browser) -> Page:
    return browser.new_context(viewport=LAPTOP).new_page()


def accessible(page: Page) -> None:
    """axe finds nothing in the coordinator app at WCAG 2.2 AA, the target size included,
    whatever the impact."""
    assert (
        axe_violations(page, "body", WCAG_22_AA, ("minor", "moderate", "serious", "critical")) == []
    )


def test_the_desk_queue_conversation_and_calendar_at_1280(
    browser: Browser, system: RunningSystem, coordinator: str
) -> None:
    # A Ukrainian person answers the real assistant's triage question, then asks for a person.
    person = Person(system, "uk")
    question = person.say("так хто ж за мене відповідає, kunta чи työllisyysalue?")
    assert [b["payload"] for b in question["messages"][0]["buttons"]] == ["/affirm", "/deny"]
    person.press("/affirm")
    urgent = Person(system, "en")
    assert urgent.say("my husband hits me, I am in danger")["state"] == "waiting"

    page = desk_page(browser)
    sign_in(page, system, coordinator)
    waiting_before = page.title()
    assert person.say("Хочу поговорити з людиною")["state"] == "waiting"
    row = page.locator(f'tr[data-conversation="{person.id}"]')
    expect(row).to_be_visible(timeout=15_000)
    # The tab title counts who waits and says when someone new arrived.
    expect(page).to_have_title(re.compile(re.escape(SV["new_waiting_in_title"])))
    assert page.title() != waiting_before
    # Urgent in words, first in the queue.
    urgent_row = page.locator(f'tr[data-conversation="{urgent.id}"]')
    expect(urgent_row.locator(".urgent-badge")).to_have_text(SV["urgent_badge"])
    # The waiting time counts up from its timestamp, on the page.
    since = row.locator("time.since")
    page.evaluate(
        """(id) => { const t = document.querySelector(`tr[data-conversation="${id}"] time.since`);
                     t.dataset.since = new Date(Date.now() - 7 * 60000).toISOString(); }""",
        person.id,
    )
    expect(since).to_have_text(f"7 {SV['minutes']}", timeout=20_000)
    screenshot(page, "desk-queue-1280")
    accessible(page)

    # Filters and search.
    page.get_by_role("link", name=SV["filter_urgent"], exact=True).click()
    expect(page.locator("tr[data-conversation]")).to_have_count(page.locator("tr.urgent").count())
    expect(page.locator(f'tr[data-conversation="{person.id}"]')).to_have_count(0)
    page.get_by_role("link", name=SV["filter_all"], exact=True).click()
    page.get_by_label(SV["queue_search"]).fill("kunta чи työllisyysalue")
    page.get_by_role("button", name=SV["queue_search_button"], exact=True).click()
    expect(page.locator("tr[data-conversation]")).to_have_count(1)
    expect(page.locator(f'tr[data-conversation="{person.id}"]')).to_be_visible()
    screenshot(page, "desk-queue-search-1280")
    accessible(page)

    # The conversation: primary actions at the top, the assistant's answers in Swedish from
    # the content (through the real Rasa's channel), the summary of what the person did.
    page.locator(f'tr[data-conversation="{person.id}"]').get_by_role(
        "button", name=SV["take"]
    ).click()
    expect(page).to_have_url(re.compile(r"#reply-form$"))
    take_box = page.get_by_role("button", name=SV["hand_back"]).bounding_box()
    assert take_box is not None and take_box["y"] < 150
    swedish = render_response("utter_ask_triage_job_seeker", "sv", "example")
    answered = page.locator("li.msg.bot").filter(has_text="työllisyysalue").first
    expect(answered.locator(".in-your-language .text")).to_have_text(swedish.text.strip())
    yes_sv = next(b["title"] for b in swedish.buttons if b["payload"] == "/affirm")
    expect(answered.locator(".buttons")).to_contain_text(yes_sv)
    expect(page.locator("li.msg.user .gloss").first).to_contain_text(yes_sv)
    summary = page.locator("#summary")
    expect(summary).to_contain_text(SV["summary_triage"])
    expect(summary).to_contain_text(yes_sv)
    expect(summary).to_contain_text(SV["topic_ask_responsibility"])
    # The reply box is in view without scrolling down a tall page.
    expect(page.locator("#reply-text")).to_be_in_viewport()
    screenshot(page, "desk-conversation-1280")
    accessible(page)

    # Unanswered: handing back asks, on the page (the server's confirmation).
    page.get_by_role("button", name=SV["hand_back"]).click()
    expect(page.locator("#confirm")).to_contain_text(SV["confirm_handback"])
    screenshot(page, "desk-confirm-hand-back-1280")
    accessible(page)
    page.get_by_role("link", name=SV["confirm_no"]).click()
    # Ctrl+Enter sends, and the page comes back at the reply form.
    page.locator("#reply-text").fill("Вітаю! Я Анна.")
    page.get_by_label("Språket du skriver på").select_option("uk")
    page.locator("#reply-text").press("Control+Enter")
    expect(page.locator("li.msg.coordinator").last).to_contain_text("Вітаю! Я Анна.")
    expect(page).to_have_url(re.compile(r"#reply-form$"))
    page.get_by_role("button", name=SV["close"]).click()
    expect(page.get_by_role("heading", name=SV["queue_title"])).to_be_visible()

    # The calendar: everyone's slots of the municipality, and a message when empty.
    page.goto(f"{system.app_url}/coordinator/calendar?week=2030-01-07&show=everyone")
    expect(page.locator("p.empty")).to_have_text(SV["calendar_empty_everyone"])
    # A slot of Anna's and one of a colleague's, this week.
    engine = make_engine(system.database_url)
    with Session(engine) as session, session.begin():
        colleague = create_user(
            session,
            username="berit.browser",
            display_name="Berit Kollega",
            municipality="example",
            role=CoordinatorRole.COORDINATOR,
            language="sv",
            password=PASSWORD,
        )
        anna = session.scalars(select(Coordinator).where(Coordinator.username == coordinator)).one()
        soon = utcnow() + timedelta(hours=2)
        for whose, hours in ((anna.id, 0), (colleague.id, 1)):
            session.add(
                AppointmentSlot(
                    municipality="example",
                    coordinator_id=whose,
                    starts_at=soon + timedelta(hours=hours),
                    ends_at=soon + timedelta(hours=hours, minutes=45),
                )
            )
    engine.dispose()
    week = (utcnow() + timedelta(hours=2)).date().isoformat()
    page.goto(f"{system.app_url}/coordinator/calendar?week={week}&show=everyone")
    expect(page.locator("table.calendar")).to_contain_text("Berit Kollega")
    expect(page.locator("table.calendar")).to_contain_text("Anna Browser")
    page.get_by_role("link", name=SV["calendar_show_mine"], exact=True).click()
    expect(page.locator("table.calendar")).not_to_contain_text("Berit Kollega")
    page.get_by_role("link", name=SV["calendar_show_everyone"], exact=True).click()
    screenshot(page, "desk-calendar-everyone-1280")
    accessible(page)
    page.context.close()


def test_keyboard_only_take_reply_hand_back(
    browser: Browser, system: RunningSystem, coordinator: str
) -> None:
    """Only the keyboard: Tab to "Take" in the queue, Enter, Tab to the reply, type,
    Ctrl+Enter, Tab to "Hand back", Enter."""
    page = desk_page(browser)
    sign_in(page, system, coordinator)
    person = Person(system, "sv")
    assert person.say("Jag vill prata med en människa")["state"] == "waiting"
    row = page.locator(f'tr[data-conversation="{person.id}"]')
    expect(row).to_be_visible(timeout=15_000)

    def tab_to(check: str, argument: str, *, backwards: bool = False) -> None:
        for _ in range(80):
            page.keyboard.press("Shift+Tab" if backwards else "Tab")
            if page.evaluate(check, argument):
                return
        raise AssertionError(f"Tab never reached {argument}")

    tab_to(
        """(id) => document.activeElement.closest(`tr[data-conversation="${id}"]`) !== null
                   && document.activeElement.tagName === "BUTTON" """,
        person.id,
    )
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/conversations/{person.id}#reply-form$"))
    tab_to("() => document.activeElement.id === 'reply-text'", "reply-text")
    page.keyboard.type("Hej! Jag heter Anna. Vad kan jag hjälpa dig med?")
    page.keyboard.press("Control+Enter")
    expect(page.locator("li.msg.coordinator").last).to_contain_text("Jag heter Anna.")
    screenshot(page, "desk-keyboard-replied-1280")
    # The page came back at the reply form; "Hand back" is above it, at the top.
    tab_to(
        "(name) => document.activeElement.textContent.trim() === name",
        SV["hand_back"],
        backwards=True,
    )
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=SV["queue_title"])).to_be_visible()
    back = person.say("Tack!")
    assert back["state"] == "bot"
    page.context.close()


def test_finnish_pages_in_words_at_1280(browser: Browser, system: RunningSystem) -> None:
    """A Finnish-speaking coordinator: the queue, a Ukrainian conversation with the
    assistant's answers in Finnish, the cases and the calendar, with words and no codes."""
    coordinator_account(system, "pekka.browser", "Pekka Browser", "fi")
    person = Person(system, "uk")
    person.say("так хто ж за мене відповідає, kunta чи työllisyysalue?")
    assert person.say("Хочу поговорити з людиною")["state"] == "waiting"

    page = desk_page(browser)
    page.goto(f"{system.app_url}/coordinator/login")
    # The sign-in page knows nobody's language yet: it is Swedish.
    page.get_by_label(SV["username"]).fill("pekka.browser")
    page.get_by_label(SV["password"]).fill(PASSWORD)
    page.get_by_role("button", name=SV["sign_in"]).click()
    expect(page.get_by_role("heading", name=FI["queue_title"])).to_be_visible()
    row = page.locator(f'tr[data-conversation="{person.id}"]')
    expect(row).to_contain_text(FI["language_uk"])
    expect(row).to_contain_text(FI["reason_request_human"])
    screenshot(page, "desk-queue-fi-1280")
    accessible(page)

    row.get_by_role("link", name=FI["open"]).click()
    finnish = render_response("utter_ask_triage_job_seeker", "fi", "example")
    answered = page.locator("li.msg.bot").filter(has_text="työllisyysalue").first
    expect(answered.locator(".in-your-language .text")).to_have_text(finnish.text.strip())
    expect(page.locator("#summary")).to_contain_text(FI["topic_ask_responsibility"])
    screenshot(page, "desk-conversation-fi-1280")
    accessible(page)
    for path, name in (("/coordinator/cases", "cases"), ("/coordinator/calendar", "calendar")):
        page.goto(f"{system.app_url}{path}")
        for raw in ("not_eligible_yet", "in_progress", "municipality", "request_human"):
            expect(page.locator("main")).not_to_contain_text(raw)
        screenshot(page, f"desk-{name}-fi-1280")
        accessible(page)
    page.context.close()


# Stands in for the Web Audio API, counting the tones the page plays (added through the
# DevTools protocol, so the page's CSP stays as it is).
COUNT_TONES = """
window.__tones = 0;
window.AudioContext = class {
  constructor() { this.currentTime = 0; this.destination = {}; }
  createOscillator() {
    window.__tones += 1;
    const node = { frequency: {}, start() {}, stop() {}, connect: (next) => next };
    return node;
  }
  createGain() { return { gain: {}, connect: (next) => next }; }
  close() {}
};
"""


def test_the_sound_for_a_new_person_is_off_until_switched_on(
    browser: Browser, system: RunningSystem, coordinator: str
) -> None:
    page = desk_page(browser)
    page.add_init_script(COUNT_TONES)
    sign_in(page, system, coordinator)
    toggle = page.get_by_label(SV["sound_on_new"])
    expect(toggle).not_to_be_checked()
    first = Person(system, "sv")
    assert first.say("Jag vill prata med en människa")["state"] == "waiting"
    expect(page.locator(f'tr[data-conversation="{first.id}"]')).to_be_visible(timeout=15_000)
    assert page.evaluate("window.__tones") == 0

    toggle.check()  # plays one tone, so the coordinator hears what it sounds like
    assert page.evaluate("window.__tones") == 1
    second = Person(system, "sv")
    assert second.say("Jag vill prata med en människa")["state"] == "waiting"
    expect(page.locator(f'tr[data-conversation="{second.id}"]')).to_be_visible(timeout=15_000)
    page.wait_for_function("window.__tones === 2")
    # Remembered by the browser.
    page.reload()
    expect(page.get_by_label(SV["sound_on_new"])).to_be_checked()
    page.context.close()
