"""The person erases their chat from within it (issue 16): "delete my data" asks first,
erases the chat at once when confirmed (Rasa's tracker included), then offers the
coordinator for the case register, and that handoff works. Telegram's /delete erases the
whole chat after a confirmation button; /privacy says what is kept and for how long."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from starlette.testclient import TestClient

from actions.privacy import ActionEraseChat
from bot.db import get_sessionmaker
from bot.db.models import AuditEntry, Conversation, Message
from bot.nlg.render import render_response
from bot.privacy.export import export_conversation
from bot.privacy.tracker import get_tracker_store
from bot.runtime import get_settings
from tests.support.fake_rasa import FakeRasa, echo
from tests.support.fake_telegram import FakeTelegram
from tests.support.personal_data import Markers, found_in_database, plant_tracker_events
from tests.test_telegram import (
    callback_data,
    callback_update,
    conversation_of,
    message_update,
    post,
    telegram_env,
    wait_for,
)


def rendered(name: str, language: str) -> dict[str, Any]:
    response = render_response(name, language, "example")
    return {"text": response.text, "buttons": response.buttons}


def assistant(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Rasa as the rules in data/rules/person.yml make it, with the real action."""
    message, language = body["message"], body["metadata"]["language"]
    if message in ("/delete_my_data", "please delete my data"):
        return [rendered("utter_ask_erase_chat", language)]
    if message == "/affirm":
        dispatcher = CollectingDispatcher()
        tracker = Tracker(body["sender"], {}, {}, [], False, None, {}, "")
        # The fake serves inside an event loop of its own: the action runs on another thread.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, ActionEraseChat().run(dispatcher, tracker, {})).result()
        return [
            rendered(m["response"], language) if m.get("response") else {"custom": m["custom"]}
            for m in dispatcher.messages
        ]
    if message == "/deny":
        return [rendered("utter_erase_chat_kept", language)]
    return echo(body)


def texts(conversation_id: str) -> list[str]:
    with get_sessionmaker()() as session:
        return list(
            session.scalars(
                select(Message.text)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.id)
            )
        )


@pytest.fixture
def person(client: TestClient, fake_rasa: FakeRasa) -> tuple[str, dict[str, str], Markers]:
    fake_rasa.reply = assistant
    markers = Markers()
    created = client.post("/api/v1/conversations", json={"language": "en", "channel": "web"})
    conversation_id = created.json()["conversation_id"]
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    say(client, conversation_id, headers, text=markers.sentence)
    plant_tracker_events(get_settings().rasa_tracker_url, conversation_id, markers)
    return conversation_id, headers, markers


def say(client: TestClient, conversation_id: str, headers: dict[str, str], **body: str) -> Any:
    response = client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json=body, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_delete_my_data_asks_erases_then_offers_the_coordinator(
    client: TestClient, fake_rasa: FakeRasa, person: tuple[str, dict[str, str], Markers]
) -> None:
    conversation_id, headers, markers = person
    asked = say(client, conversation_id, headers, text="please delete my data")
    assert [b["payload"] for b in asked["messages"][0]["buttons"]] == ["/affirm", "/deny"]
    # Asking erases nothing yet.
    assert markers.sentence in texts(conversation_id)

    done = say(client, conversation_id, headers, payload="/affirm")

    tracker_url = get_settings().rasa_tracker_url
    assert found_in_database(None, markers) == []
    assert found_in_database(tracker_url, markers) == []
    # The chat goes on, emptied: only the answer offering the coordinator is in it.
    (offer,) = done["messages"]
    assert offer["text"] == render_response("utter_erase_chat_done", "en", "example").text
    assert texts(conversation_id) == [offer["text"]]
    assert [b["payload"] for b in offer["buttons"]] == ["/lotsen_case_data_handoff"]
    with get_sessionmaker()() as session:
        erased = session.scalar(select(AuditEntry).where(AuditEntry.action == "erase_conversation"))
        assert erased is not None and erased.detail == f"{conversation_id} person_asked"

    # The offered handoff works: the conversation waits for the coordinator, about the data.
    handed = say(client, conversation_id, headers, payload="/lotsen_case_data_handoff")
    assert handed["state"] == "waiting"
    assert handed["messages"][0]["text"].startswith(
        render_response("utter_handoff_data_request", "en", "example").text[:40]
    )
    assert fake_rasa.received[-1]["message"] == "/affirm"  # Rasa never saw the handoff button
    with get_sessionmaker()() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        assert (conversation.state, conversation.handoff_reason) == ("waiting", "data_request")


def test_saying_no_keeps_everything(
    client: TestClient, person: tuple[str, dict[str, str], Markers]
) -> None:
    conversation_id, headers, markers = person
    say(client, conversation_id, headers, text="please delete my data")
    kept = say(client, conversation_id, headers, payload="/deny")
    assert kept["messages"][0]["text"] == render_response("utter_erase_chat_kept", "en").text
    assert markers.sentence in texts(conversation_id)
    assert found_in_database(get_settings().rasa_tracker_url, markers) != []


# --- Telegram ----------------------------------------------------------------------------


@pytest.fixture
def telegram_app(
    fake_rasa: FakeRasa,
    settings_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    from bot.app import create_app

    telegram = FakeTelegram()
    telegram.start()
    fake_rasa.reply = assistant
    telegram_env(monkeypatch, telegram, "webhook")
    with TestClient(create_app()) as client:
        yield client, telegram
    telegram.stop()


def test_telegram_delete_asks_with_a_button_then_erases_the_whole_chat(
    telegram_app: tuple[TestClient, FakeTelegram],
) -> None:
    client, telegram = telegram_app
    markers = Markers()
    post(client, message_update(1, 701, "en", text=markers.sentence))
    wait_for(lambda: telegram.sent(701), "the answer")
    conversation = conversation_of(701)
    assert conversation is not None
    plant_tracker_events(get_settings().rasa_tracker_url, conversation.id, markers)
    # The export names the Telegram chat too (it identifies the person).
    with get_sessionmaker()() as session:
        exported = export_conversation(session, get_tracker_store(), conversation.id)
    assert exported is not None and exported["conversation"]["telegram_chat_id"] == 701

    post(client, message_update(2, 701, "en", text="/delete"))
    question = wait_for(lambda: telegram.sent(701)[1:], "the question")[0]
    assert question["text"] == render_response("utter_telegram_delete_confirm", "en").text
    yes, _no = callback_data(question)

    post(client, callback_update(3, 701, yes))

    done = wait_for(lambda: telegram.sent(701)[2:], "the confirmation")[0]
    assert done["text"] == render_response("utter_telegram_deleted", "en").text
    assert conversation_of(701) is None
    assert found_in_database(None, markers) == []
    assert found_in_database(get_settings().rasa_tracker_url, markers) == []
    # Writing again starts a new conversation.
    post(client, message_update(4, 701, "en", text="hello again"))
    wait_for(lambda: telegram.sent(701)[3:], "the new answer")
    again = conversation_of(701)
    assert again is not None and again.id != conversation.id


def test_telegram_privacy_says_what_is_kept_and_how_long(
    telegram_app: tuple[TestClient, FakeTelegram], fake_rasa: FakeRasa
) -> None:
    client, telegram = telegram_app
    post(client, message_update(1, 702, "fi", text="/privacy"))
    (answer,) = wait_for(lambda: telegram.sent(702), "the answer")
    assert "90 päivää" in answer["text"] and "30 päivää" in answer["text"]
    assert "https://example.invalid/privacy" in answer["text"]
    assert fake_rasa.received == []
