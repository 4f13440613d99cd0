"""The coordinator app in a real browser (Debian's Chromium through Playwright) against the
real Rasa, action server and app: sign in, see a handed-over conversation arrive live,
take it, reply, hand it back, and the bot answers again. Screenshots go to
reports/screenshots/."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from bot.coordinator.auth import create_user
from bot.db import make_engine
from bot.db.models import CoordinatorRole
from bot.settings import PROJECT_ROOT
from bot.system import RunningSystem
from tests.browser import axe_violations, screenshot
from tests.running import Person, texts

pytestmark = pytest.mark.integration

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def coordinator(system: RunningSystem) -> str:
    engine = make_engine(system.database_url)
    with Session(engine) as session, session.begin():
        create_user(
            session,
            username="anna.browser",
            display_name="Anna Browser",
            municipality="example",
            role=CoordinatorRole.COORDINATOR,
            language="sv",
            password=PASSWORD,
        )
    engine.dispose()
    return "anna.browser"


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
    expect(row).to_contain_text("ask_housing")
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

    page.get_by_role("textbox", name="Svar", exact=True).fill("Вітаю! Я Анна, радник з інтеграції.")
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

    page.get_by_role("button", name="Lämna tillbaka till chattboten").click()
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
    strings = json.loads((PROJECT_ROOT / "web" / "widget" / "strings.json").read_text())["uk"]
    person = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    staff = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(staff, system, coordinator)

    person.goto(f"{system.app_url}/?lang=uk")
    person.locator(".lotsen-launcher").click()
    person.get_by_role("button", name=strings["human"]).click()
    notice = person.locator("#lotsen-widget .lotsen-notice")
    expect(notice).to_have_text(strings["waiting"], timeout=60_000)
    conversation_id = person.evaluate(
        "() => JSON.parse(Object.entries(sessionStorage)"
        ".find(([key]) => key.startsWith('lotsen-widget:'))[1]).id"
    )

    row = staff.locator(f'tr[data-conversation="{conversation_id}"]')
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_contain_text("web")
    row.get_by_role("button", name="Ta samtalet").click()
    expect(notice).to_have_text(strings["withHuman"], timeout=15_000)
    staff.get_by_role("textbox", name="Svar", exact=True).fill("Вітаю! Я Анна. Чим допомогти?")
    staff.get_by_role("button", name="Skicka").click()
    reply = person.locator("#lotsen-widget .lotsen-from-coordinator").last
    expect(reply).to_contain_text("Вітаю! Я Анна.", timeout=15_000)
    expect(reply.locator(".lotsen-sender")).to_contain_text("Anna")
    screenshot(person, "handoff-widget-1280")

    staff.get_by_role("button", name="Lämna tillbaka till chattboten").click()
    expect(notice).to_be_hidden(timeout=15_000)
    person.locator("#lotsen-input").fill("Що таке інтеграційний план?")
    person.keyboard.press("Enter")
    expect(person.locator("#lotsen-widget .lotsen-from-bot .lotsen-text").last).to_contain_text(
        "план", timeout=60_000
    )
    person.context.close()
    staff.context.close()
