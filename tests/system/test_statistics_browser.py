"""The statistics page in a real browser against the real Rasa, action server and app: people
talk in four languages, the real Rasa's NLG callbacks record the intents it recognised (a
message it did not understand among them), the days are built, and the coordinator's page
shows charts and tables that axe finds accessible. Screenshots go to reports/screenshots/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.bookings.times import local
from bot.coordinator.auth import create_user
from bot.db import make_engine
from bot.db.models import CoordinatorRole, Message, utcnow
from bot.statistics.build import build_pending
from tests.support.browser import axe_violations, screenshot
from tests.support.running import Person
from tests.support.system import RunningSystem

pytestmark = pytest.mark.integration

PASSWORD = "a long enough password"


def test_the_statistics_page_from_real_conversations(page: Page, system: RunningSystem) -> None:
    people = {
        "uk": ("що таке план інтеграції", "ask_integration_plan"),
        "sv": ("vad är en integrationsplan", "ask_integration_plan"),
        "fi": ("mikä on kotoutumissuunnitelma", "ask_integration_plan"),
        "en": ("what is an integration plan", "ask_integration_plan"),
    }
    ids = {}
    for language, (text, _) in people.items():
        person = Person(system, language)
        person.say(text)
        ids[language] = person.id
    confused = Person(system, "en")
    confused.say("qwzx plorf")

    engine = make_engine(system.database_url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions() as session:
        recorded = {
            cid: intent
            for cid, intent in session.execute(
                select(Message.conversation_id, Message.intent).where(
                    Message.conversation_id.in_([*ids.values(), confused.id]),
                    Message.sender == "user",
                )
            )
        }
        not_understood = session.scalar(
            select(Message.id).where(
                Message.conversation_id == confused.id, Message.sender == "user"
            )
        )
    # The real Rasa's NLG callbacks carried the intents, onto each person's message.
    assert {language: recorded[cid] for language, cid in ids.items()} == {
        language: intent for language, (_, intent) in people.items()
    }
    assert recorded[confused.id] == "nlu_fallback"

    build_pending(sessions, ["example"], now=utcnow() + timedelta(days=2))
    with Session(engine) as session, session.begin():
        create_user(
            session,
            username="stats.browser",
            display_name="Stina Statistik",
            municipality="example",
            role=CoordinatorRole.COORDINATOR,
            language="sv",
            password=PASSWORD,
        )
    engine.dispose()

    page.goto(f"{system.app_url}/coordinator/login")
    page.get_by_label("Användarnamn").fill("stats.browser")
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.get_by_role("link", name="Statistik").click()
    expect(page.get_by_role("heading", name="Statistik", exact=True)).to_be_visible()
    today = local(utcnow()).date()
    page.get_by_label("Från", exact=True).fill((today - timedelta(days=1)).isoformat())
    page.get_by_label("Till", exact=True).fill((today + timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Visa").click()

    chart = page.get_by_role(
        "img", name="Diagram: Samtal per språk. Samma uppgifter finns i tabellen."
    )
    expect(chart).to_be_visible()
    table = page.get_by_role("table", name="Samtal per språk")
    expect(table).to_contain_text("ukrainska")
    expect(page.get_by_role("table", name="Frågor per ämne (avsikt)")).to_contain_text(
        "ask_integration_plan"
    )
    screenshot(page, "coordinator-statistics")
    page.get_by_role(
        "heading", name="Väntetid till handledare, median (minuter)"
    ).scroll_into_view_if_needed()
    screenshot(page, "coordinator-statistics-handoffs")
    assert axe_violations(page, "main") == []
    page.set_viewport_size({"width": 420, "height": 900})
    screenshot(page, "coordinator-statistics-narrow")
    assert axe_violations(page, "main") == []

    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="Ej förstått").click()
    # Other tests of the running system leave their own not-understood messages there.
    row = page.locator("tr").filter(
        has=page.locator(f'form[action="/coordinator/review/{not_understood}"]')
    )
    expect(row.get_by_role("cell", name="qwzx plorf", exact=True)).to_be_visible()
    screenshot(page, "coordinator-review")
    assert axe_violations(page, "main") == []
