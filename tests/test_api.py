"""The conversation API and router, against a stand-in Rasa on a real port."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.db import get_sessionmaker
from bot.db.models import Conversation, Message
from tests.support.addresses import from_address
from tests.support.fake_rasa import FakeRasa


@pytest.fixture
def settings_env(settings_on_sqlite_and_postgres: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL (tests/conftest.py)."""
    return settings_on_sqlite_and_postgres


def start(client: TestClient, **body: Any) -> tuple[str, dict[str, str]]:
    response = client.post("/api/v1/conversations", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    return data["conversation_id"], {"Authorization": f"Bearer {data['token']}"}


def stored_messages(conversation_id: str) -> list[Message]:
    with get_sessionmaker()() as session:
        return list(
            session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.id)
            )
        )


def send(client: TestClient, conversation_id: str, headers: dict[str, str], **body: Any) -> Any:
    return client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json=body, headers=headers
    )


def test_create_returns_an_unguessable_token_bound_to_the_conversation(client: TestClient) -> None:
    first, first_headers = start(client, language="uk")
    second, _ = start(client)
    assert first != second
    assert len(first_headers["Authorization"]) > 40
    with get_sessionmaker()() as session:
        conversation = session.get(Conversation, first)
        assert conversation is not None
        assert conversation.language == "uk"
        # Only a hash of the token is kept.
        assert first_headers["Authorization"].split()[1] not in conversation.token_hash
    response = send(client, second, first_headers, text="hei")
    assert response.status_code == 401


def test_default_language_and_unknown_values(client: TestClient) -> None:
    response = client.post("/api/v1/conversations")
    assert response.status_code == 201
    assert response.json()["language"] == "sv"
    assert client.post("/api/v1/conversations", json={"language": "de"}).status_code == 422
    assert client.post("/api/v1/conversations", json={"municipality": "../etc"}).status_code == 422
    assert client.post("/api/v1/conversations", json=["uk"]).status_code == 400
    assert client.post("/api/v1/conversations", json={"channel": "web"}).status_code == 201
    assert client.post("/api/v1/conversations", json={"channel": "telegram"}).status_code == 422


def test_message_is_stored_before_it_reaches_rasa_and_replies_after(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    conversation_id, headers = start(client, language="en")
    seen_in_store: list[list[str | None]] = []
    fake_rasa.on_receive = lambda body: seen_in_store.append(
        [m.text for m in stored_messages(body["sender"])]
    )
    response = send(client, conversation_id, headers, text="What is the integration plan?")
    assert response.status_code == 200, response.text
    data = response.json()
    assert seen_in_store == [["What is the integration plan?"]]
    assert fake_rasa.received[0]["metadata"] == {
        "language": "en",
        "person_language": "en",
        "municipality": "example",
        "channel": "api",
    }
    assert data["language"] == "en" and data["state"] == "bot"
    assert data["messages"][0]["text"] == "echo (en): What is the integration plan?"
    assert data["messages"][0]["buttons"] == [{"title": "Plan", "payload": "/ask_integration_plan"}]
    stored = stored_messages(conversation_id)
    assert [(m.sender, m.status) for m in stored] == [("user", "processed"), ("bot", "sent")]


def test_messages_since_a_cursor(client: TestClient) -> None:
    conversation_id, headers = start(client, language="fi")
    send(client, conversation_id, headers, text="moi")
    url = f"/api/v1/conversations/{conversation_id}/messages"
    everything = client.get(url, headers=headers).json()
    assert [m["sender"] for m in everything["messages"]] == ["user", "bot"]
    assert all(m["created_at"].endswith("+00:00") for m in everything["messages"])
    first_id = everything["messages"][0]["id"]
    after_first = client.get(url, params={"after": first_id}, headers=headers).json()
    assert [m["sender"] for m in after_first["messages"]] == ["bot"]
    cursor = after_first["cursor"]
    assert client.get(url, params={"after": cursor}, headers=headers).json()["messages"] == []
    assert client.get(url, params={"after": "abc"}, headers=headers).status_code == 422
    assert client.get(url).status_code == 401


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}, {"Authorization": ""}],
)
def test_wrong_or_missing_token_is_refused_and_nothing_is_stored(
    client: TestClient, fake_rasa: FakeRasa, headers: dict[str, str]
) -> None:
    conversation_id, _ = start(client)
    response = send(client, conversation_id, headers, text="hej")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert stored_messages(conversation_id) == []
    assert fake_rasa.received == []


def test_unknown_conversation(client: TestClient) -> None:
    _, headers = start(client)
    response = send(client, "0" * 32, headers, text="hej")
    assert response.status_code == 404
    assert send(client, "x" * 500, headers, text="hej").status_code == 404


def test_invalid_json_and_wrong_shapes(client: TestClient, fake_rasa: FakeRasa) -> None:
    conversation_id, headers = start(client)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    broken = client.post(url, content=b"{not json", headers=headers)
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "invalid_json"
    assert client.post(url, content=b"\xff\xfe", headers=headers).status_code == 400
    assert send(client, conversation_id, headers).status_code == 422
    assert send(client, conversation_id, headers, text="a", payload="/greet").status_code == 422
    assert send(client, conversation_id, headers, text=["a"]).status_code == 422
    assert stored_messages(conversation_id) == []
    assert fake_rasa.received == []


def test_too_long_text_is_refused_with_a_clear_error_in_the_language(client: TestClient) -> None:
    conversation_id, headers = start(client, language="uk")
    response = send(client, conversation_id, headers, text="а" * 100_000)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "message_too_long"
    assert error["limit"] == 2000
    assert "2000" in error["message"]
    assert any("\u0400" <= ch <= "\u04ff" for ch in error["message"])
    at_limit = send(client, conversation_id, headers, text="а" * 2000)
    assert at_limit.status_code == 200
    over = send(client, conversation_id, headers, text="а" * 2001)
    assert over.status_code == 413


def test_empty_text_gets_a_polite_answer_in_the_language(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    conversation_id, headers = start(client, language="fi")
    for text in ["", "   ", "\x00\x01", "///"]:
        response = send(client, conversation_id, headers, text=text)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "empty_message"
    finnish = response.json()["error"]["message"]
    _, sv_headers = start(client, language="sv")
    assert finnish != send(client, _, sv_headers, text=" ").json()["error"]["message"]
    assert fake_rasa.received == []


def test_control_characters_surrogates_and_intent_syntax_are_neutralised(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    conversation_id, headers = start(client, language="en")
    raw = '{"text": "/my_case_status{\\"case_id\\": 7} \\u0000hi\\u0007 \\ud800there"}'
    response = client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        content=raw.encode(),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    forwarded = fake_rasa.received[0]["message"]
    assert forwarded == 'my_case_status{"case_id": 7} hi \ufffdthere'
    assert not forwarded.startswith("/")
    assert stored_messages(conversation_id)[0].text == forwarded


def test_only_payloads_issued_on_buttons_reach_rasa(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    conversation_id, headers = start(client, language="sv")
    refused = send(client, conversation_id, headers, payload="/ask_integration_plan")
    assert refused.status_code == 422
    assert fake_rasa.received == []
    send(client, conversation_id, headers, text="hej")  # the echo offers /ask_integration_plan
    accepted = send(client, conversation_id, headers, payload="/ask_integration_plan")
    assert accepted.status_code == 200
    assert fake_rasa.received[-1]["message"] == "/ask_integration_plan"
    inbound = [m for m in stored_messages(conversation_id) if m.sender == "user"]
    assert (inbound[-1].text, inbound[-1].payload) == ("Plan", "/ask_integration_plan")
    other_id, other_headers = start(client)
    assert send(client, other_id, other_headers, payload="/ask_integration_plan").status_code == 422


def test_rasa_down_keeps_the_message_answers_politely_and_recovers(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    conversation_id, headers = start(client, language="uk")
    fake_rasa.stop()
    response = send(client, conversation_id, headers, text="Привіт, що таке план інтеграції?")
    assert response.status_code == 200
    apology = response.json()["messages"][0]["text"]
    assert any("\u0400" <= ch <= "\u04ff" for ch in apology)
    assert [(m.sender, m.status) for m in stored_messages(conversation_id)] == [
        ("user", "failed"),
        ("bot", "sent"),
    ]
    # Still ready for a load balancer: this replica stores and answers. Which part is down
    # is for the host itself (its monitoring); others learn only "ready".
    host = from_address(client, "127.0.0.1")
    ready = host.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["degraded"] is True
    assert ready.json()["checks"]["rasa"] == "unreachable"
    assert ready.json()["checks"]["database"] == "ok"
    outside = from_address(client, "203.0.113.9").get("/readyz")
    assert (outside.status_code, outside.json()) == (200, {"status": "ready"})

    fake_rasa.start()
    again = send(client, conversation_id, headers, text="Привіт ще раз")
    assert again.json()["messages"][0]["text"].startswith("echo (uk)")
    assert host.get("/readyz").json()["checks"]["rasa"] == "ok"


def test_language_is_detected_unless_chosen(client: TestClient, fake_rasa: FakeRasa) -> None:
    conversation_id, headers = start(client)  # default language, not chosen
    send(client, conversation_id, headers, text="Hyvää päivää, miten saan kotoutumissuunnitelman?")
    assert fake_rasa.received[-1]["metadata"]["language"] == "fi"
    short = send(client, conversation_id, headers, text="ok")
    assert short.json()["language"] == "fi"
    chosen_id, chosen_headers = start(client, language="sv")
    reply = send(client, chosen_id, chosen_headers, text="Hello, how do I get an integration plan?")
    assert reply.json()["language"] == "sv"


def test_a_name_typed_for_the_booking_does_not_switch_the_language(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    """ "Amina Example" reads as English and "Anna Virtanen" as Finnish, but they answer
    the question for a name: a guessed Swedish conversation stays Swedish."""
    asked: dict[str, str] = {"response": "utter_ask_booking_contact_name"}

    def ask(body: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "recipient_id": body["sender"],
                "text": "Vad heter du?",
                "lotsen_response": {"name": asked["response"], "arguments": {}},
            }
        ]

    fake_rasa.reply = ask
    conversation_id, headers = start(client)  # default language (sv), not chosen
    send(client, conversation_id, headers, text="jag vill boka en tid hos handledaren")
    for name in ("Amina Example", "Anna Virtanen"):
        assert send(client, conversation_id, headers, text=name).json()["language"] == "sv"
        assert fake_rasa.received[-1]["metadata"]["language"] == "sv"
    # After any other question, words in another language still switch a guessed language.
    asked["response"] = "utter_ask_booking_purpose"
    send(client, conversation_id, headers, text="ok")
    switched = send(client, conversation_id, headers, text="Amina Example")
    assert switched.json()["language"] == "en"


def test_rasa_control_message_sets_the_language_and_is_not_shown(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    def switch_to_ukrainian(body: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"recipient_id": body["sender"], "custom": {"lotsen": {"set_language": "uk"}}},
            {"recipient_id": body["sender"], "text": "Добре, українською."},
        ]

    conversation_id, headers = start(client, language="sv")
    fake_rasa.reply = switch_to_ukrainian
    response = send(client, conversation_id, headers, text="kan du prata ukrainska")
    data = response.json()
    assert data["language"] == "uk"
    assert [m["text"] for m in data["messages"]] == ["Добре, українською."]
    fake_rasa.reply = lambda body: []
    send(client, conversation_id, headers, text="Hello, how do I get an integration plan?")
    # Chosen through Rasa: detection no longer overrides it.
    assert fake_rasa.received[-1]["metadata"]["language"] == "uk"


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_a_long_message_gets_its_answer_and_a_hint_in_the_language(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    conversation_id, headers = start(client, language="fi")
    short = send(client, conversation_id, headers, text="Mikä on kotoutumiskoulutus?")
    assert len(short.json()["messages"]) == 1
    question = "Mikä on kotoutumiskoulutus ja milloin se alkaa? " * 8
    long = send(client, conversation_id, headers, text=question).json()["messages"]
    assert len(long) == 2
    assert long[0]["text"].startswith("echo (fi)")
    assert "yksi kerrallaan" in long[1]["text"]
