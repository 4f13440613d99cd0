"""Conversations in a language the assistant reaches only through machine translation.

The packages are real Argos packages with random weights
(tests/support/argos_package.py): their output is nonsense, so these tests follow the path
(what Rasa receives, what is stored, what the person gets) rather than the words. Nothing
here touches the network.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.bookings.reminders import queue_due_reminders
from bot.bookings.service import book
from bot.conversations import translation
from bot.db import get_sessionmaker
from bot.db.models import Conversation, HandoffEvent, MessageTranslation
from bot.nlg.render import render_response
from bot.settings import get_settings
from bot.translation.service import Translation, get_translator
from tests.conftest import NLG_TOKEN
from tests.support.argos_package import install_packages
from tests.support.fake_rasa import FakeRasa
from tests.test_api import send, start, stored_messages
from tests.test_bookings import DETAILS, NOW, add_coordinator, add_slot, new_conversation

PAIRS = (("ru", "en"), ("en", "ru"), ("sv", "en"), ("en", "sv"))
RUSSIAN = "Здравствуйте, как получить план интеграции?"
ARABIC = "مرحبا، كيف أحصل على خطة الاندماج؟"


@pytest.fixture(scope="module")
def built_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("argos-packages")
    install_packages(directory, PAIRS)
    return directory


@pytest.fixture
def packages(built_packages: Path, client: TestClient) -> Iterator[Path]:
    """Russian both ways and Swedish through English, installed into the app's directory."""
    target = get_settings().translation_packages_dir
    shutil.copytree(built_packages, target, dirs_exist_ok=True)
    get_translator().reload()
    yield target


def english(name: str, **arguments: Any) -> str:
    return render_response(name, "en", "example", arguments).text


def test_a_russian_conversation_is_understood_and_answered_through_english(
    client: TestClient, fake_rasa: FakeRasa, packages: Path
) -> None:
    conversation_id, headers = start(client, language="ru")
    response = send(client, conversation_id, headers, text=RUSSIAN)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["language"] == "ru"

    # Rasa got the stored English translation, and the content language in the metadata.
    received = fake_rasa.received[0]
    inbound, reply = stored_messages(conversation_id)
    assert inbound.text == RUSSIAN and inbound.language == "ru"
    with get_sessionmaker()() as session:
        stored = session.scalars(
            select(MessageTranslation).where(MessageTranslation.message_id == inbound.id)
        ).one()
    assert stored.language == "en" and stored.text
    assert received["message"] == stored.text != RUSSIAN
    assert received["metadata"]["language"] == "en"
    assert received["metadata"]["person_language"] == "ru"

    # The English answer is stored as the original; the person got a translation + notice.
    assert reply.original_language == "en"
    assert reply.original_text == f"echo (en): {stored.text}"
    assert reply.language == "ru"
    (message,) = data["messages"]
    assert message["text"] == reply.text
    assert not message["text"].startswith("echo (en)")
    assert message["text"].endswith(english("utter_machine_translated_answer"))
    assert [b["payload"] for b in message["buttons"]] == ["/ask_integration_plan"]

    # The translated button works: its payload reaches Rasa untranslated.
    pressed = send(client, conversation_id, headers, payload="/ask_integration_plan")
    assert pressed.status_code == 200, pressed.text
    assert fake_rasa.received[1]["message"] == "/ask_integration_plan"


def test_russian_text_in_a_swedish_conversation_switches_it_to_russian(
    client: TestClient, fake_rasa: FakeRasa, packages: Path
) -> None:
    conversation_id, headers = start(client, language="sv", language_chosen=False)
    data = send(client, conversation_id, headers, text=RUSSIAN).json()
    assert data["language"] == "ru"
    assert fake_rasa.received[0]["metadata"]["person_language"] == "ru"
    with get_sessionmaker()() as session:
        assert session.get(Conversation, conversation_id).language == "ru"  # type: ignore[union-attr]


def test_a_language_without_packages_is_told_which_there_are_and_offered_a_person(
    client: TestClient, fake_rasa: FakeRasa, packages: Path
) -> None:
    conversation_id, headers = start(client, language="sv", language_chosen=False)
    data = send(client, conversation_id, headers, text=ARABIC).json()
    assert fake_rasa.received == []
    (message,) = data["messages"]
    assert "Sorry, I cannot answer in that language yet" in message["text"]
    assert "Tyvärr kan jag inte svara på det språket än" in message["text"]
    # The four languages and the translated one installed here; not Arabic.
    for name in ("Svenska", "Suomi", "Українська", "English", "Русский"):
        assert name in message["text"]
    assert "العربية" not in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/request_human"]
    inbound = stored_messages(conversation_id)[0]
    assert inbound.text == ARABIC and inbound.language == "ar"
    # The conversation follows the person's language, so the coordinator sees it.
    assert data["language"] == "ar"

    # The button reaches Rasa (which hands the conversation to the coordinator); the
    # answer, in English, is not marked as a translation, because it is none.
    pressed = send(client, conversation_id, headers, payload="/request_human").json()
    assert fake_rasa.received[0]["message"] == "/request_human"
    assert fake_rasa.received[0]["metadata"]["language"] == "en"
    (answer,) = pressed["messages"]
    assert answer["text"] == "echo (en): /request_human"
    assert stored_messages(conversation_id)[-1].original_text is None

    # English is understood again, and the conversation follows.
    english = send(
        client, conversation_id, headers, text="Hello, how do I get an integration plan?"
    )
    assert english.json()["language"] == "en"


def test_without_any_package_nothing_fails(client: TestClient, fake_rasa: FakeRasa) -> None:
    refused = client.post("/api/v1/conversations", json={"language": "ru"})
    assert refused.status_code == 422
    assert refused.json()["error"]["languages"] == ["sv", "fi", "uk", "en"]

    conversation_id, headers = start(client, language="en", language_chosen=False)
    data = send(client, conversation_id, headers, text=RUSSIAN).json()
    assert fake_rasa.received == []
    assert "Sorry, I cannot answer in that language yet" in data["messages"][0]["text"]
    assert "Русский" not in data["messages"][0]["text"]
    # The four languages work as before.
    data = send(client, conversation_id, headers, text="Hello, how do I get an integration plan?")
    assert data.json()["messages"][0]["text"].startswith("echo (en)")

    config = client.get("/api/v1/widget/config", params={"municipality": "example"}).json()
    assert config["translated_languages"] == []


def test_the_language_menus_offer_installed_translated_languages(
    client: TestClient, fake_rasa: FakeRasa, packages: Path
) -> None:
    config = client.get("/api/v1/widget/config", params={"municipality": "example"}).json()
    assert config["translated_languages"] == [{"code": "ru", "name": "Русский"}]

    menu = client.post(
        "/nlg",
        json={"response": "utter_choose_language", "arguments": {}, "tracker": {}},
        headers={"Authorization": f"Bearer {NLG_TOKEN}"},
    ).json()
    payloads = [button["payload"] for button in menu["buttons"]]
    assert payloads[-1] == '/choose_language{"language": "ru"}'
    assert not any('"ar"' in payload for payload in payloads)


def test_choosing_russian_in_the_widget_menu_sets_the_conversation_language(
    client: TestClient, fake_rasa: FakeRasa, packages: Path
) -> None:
    def choose(body: dict[str, Any]) -> list[dict[str, Any]]:
        # What action_choose_language sends: the control message, then the confirmation.
        chosen = json.loads(body["message"].removeprefix("/choose_language"))["language"]
        return [
            {"recipient_id": body["sender"], "custom": {"lotsen": {"set_language": chosen}}},
            {"recipient_id": body["sender"], "text": "Fine, from now on I will answer in Русский."},
        ]

    fake_rasa.reply = choose
    conversation_id, headers = start(client, language="sv")
    data = send(client, conversation_id, headers, command="choose_language", language="ru").json()
    assert fake_rasa.received[0]["message"] == '/choose_language{"language": "ru"}'
    assert data["language"] == "ru"
    (message,) = data["messages"]
    assert message["text"].endswith(english("utter_machine_translated_answer"))
    assert stored_messages(conversation_id)[0].text == "Русский"

    refused = send(client, conversation_id, headers, command="choose_language", language="ar")
    assert refused.status_code == 422


def test_an_urgent_message_is_recognised_through_its_english_translation(
    client: TestClient, fake_rasa: FakeRasa, packages: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The urgent words are listed for the four languages; a message in another language
    is checked again once it is in English."""

    async def known(text: str, source: str, target: str, **_: Any) -> Translation:
        english = "My husband beats me, I am in danger." if source == "ru" else text
        return Translation(english, source, target, None)

    monkeypatch.setattr(translation, "translate", known)
    conversation_id, headers = start(client, language="ru")
    data = send(client, conversation_id, headers, text="Муж меня бьёт, мне страшно.").json()
    assert fake_rasa.received == []
    assert data["state"] == "waiting"
    assert "112" in data["messages"][0]["text"]
    with get_sessionmaker()() as session:
        event = session.scalars(select(HandoffEvent)).one()
    assert event.reason == "urgent"


async def test_a_reminder_for_a_russian_conversation_is_translated(
    client: TestClient, packages: Path
) -> None:
    sessions = get_sessionmaker()
    slot = add_slot(sessions, NOW + timedelta(days=3), add_coordinator(sessions))
    russian = new_conversation(sessions, "ru")
    swedish = new_conversation(sessions, "sv")
    other_slot = add_slot(
        sessions, NOW + timedelta(days=3, hours=1), add_coordinator(sessions, "b.example")
    )
    for conversation_id, at in ((russian, slot), (swedish, other_slot)):
        book(
            sessions,
            slot_id=at,
            municipality="example",
            conversation_id=conversation_id,
            case_id=None,
            channel="web",
            language="en" if conversation_id == russian else "sv",
            details=DETAILS,
            now=NOW,
            actor="test",
        )

    assert await queue_due_reminders(sessions, NOW + timedelta(days=2, hours=4)) == 2
    (reminder,) = [m for m in stored_messages(russian) if m.sender == "system"]
    assert reminder.language == "ru"
    assert reminder.original_language == "en"
    assert reminder.original_text is not None and reminder.original_text.startswith("Reminder:")
    assert reminder.text.endswith(english("utter_machine_translated_answer"))
    (untranslated,) = [m for m in stored_messages(swedish) if m.sender == "system"]
    assert untranslated.original_text is None and untranslated.text.startswith("Påminnelse")


def test_deleting_the_conversation_deletes_its_translations(
    client: TestClient, fake_rasa: FakeRasa, packages: Path
) -> None:
    conversation_id, headers = start(client, language="ru")
    send(client, conversation_id, headers, text=RUSSIAN)
    with get_sessionmaker()() as session:
        assert session.scalars(select(MessageTranslation)).all()
    deleted = client.delete(f"/api/v1/conversations/{conversation_id}", headers=headers)
    assert deleted.status_code == 204, deleted.text
    with get_sessionmaker()() as session:
        assert session.scalars(select(MessageTranslation)).all() == []
