"""The handoff state machine on both databases, and the gateway's silence while a person
has the conversation (a stand-in Rasa records everything that reaches it)."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from bot.conversations.store import ConversationStore
from bot.db import make_engine
from bot.db.models import (
    Conversation,
    ConversationState,
    Coordinator,
    HandoffEvent,
    LanguageSource,
    utcnow,
)
from bot.handoff.state_machine import (
    HandoffReason,
    HandoffRequest,
    close,
    hand_back,
    request_handoff,
    take,
)
from tests.support.fake_rasa import FakeRasa

RESUMED = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
HANDOFF = {"lotsen": {"handoff": {"reason": "request_human", "topic": "ask_housing"}}}


def conversation(sessions: sessionmaker[Session]) -> str:
    view, _ = ConversationStore(sessions).create(
        channel="web", municipality="example", language="uk", language_source=LanguageSource.CHOSEN
    )
    return view.id


def coordinators(sessions: sessionmaker[Session], count: int) -> list[int]:
    with sessions.begin() as session:
        rows = [
            Coordinator(municipality="example", username=f"c{n}", display_name=f"C {n}")
            for n in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def state_of(sessions: sessionmaker[Session], conversation_id: str) -> str:
    with sessions() as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None
        return found.state


def test_every_transition_and_what_is_refused(database_url: str) -> None:
    sessions = sessionmaker(make_engine(database_url), expire_on_commit=False)
    (anna,) = coordinators(sessions, 1)
    cid = conversation(sessions)
    now = utcnow()
    request = HandoffRequest(HandoffReason.REQUEST_HUMAN, "ask_housing")
    with sessions.begin() as session:
        assert not take(session, cid, anna, now)  # nothing to take yet
        assert not hand_back(session, cid, "c", now)
        assert request_handoff(session, cid, request, now, "assistant")
        assert not request_handoff(session, cid, request, now, "assistant")  # already waiting
    assert state_of(sessions, cid) == ConversationState.WAITING
    with sessions.begin() as session:
        assert take(session, cid, anna, now)
        assert not take(session, cid, anna, now)
    assert state_of(sessions, cid) == ConversationState.HUMAN
    with sessions.begin() as session:
        assert hand_back(session, cid, "coordinator:c0", now)
    assert state_of(sessions, cid) == ConversationState.BOT
    with sessions.begin() as session:
        assert request_handoff(session, cid, request, now, "assistant")
        assert close(session, cid, "coordinator:c0", now)
        assert not close(session, cid, "coordinator:c0", now)
    assert state_of(sessions, cid) == ConversationState.CLOSED
    # The person writes again: back to the assistant.
    assert ConversationStore(sessions).state_for_turn(cid) == ConversationState.BOT
    with sessions() as session:
        history = [
            (e.from_state, e.to_state)
            for e in session.scalars(select(HandoffEvent).order_by(HandoffEvent.id))
        ]
    assert history == [
        ("bot", "waiting"),
        ("waiting", "human"),
        ("human", "bot"),
        ("bot", "waiting"),
        ("waiting", "closed"),
        ("closed", "bot"),
    ]


def test_two_coordinators_take_the_same_conversation_and_one_wins(database_url: str) -> None:
    sessions = sessionmaker(make_engine(database_url), expire_on_commit=False)
    ids = coordinators(sessions, 8)
    cid = conversation(sessions)
    with sessions.begin() as session:
        request_handoff(session, cid, HandoffRequest("request_human"), utcnow(), "assistant")
    start = threading.Barrier(len(ids))
    won: list[int] = []

    def attempt(coordinator_id: int) -> None:
        start.wait()
        with sessions.begin() as session:
            if take(session, cid, coordinator_id, utcnow()):
                won.append(coordinator_id)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    with sessions() as session:
        taken = session.get(Conversation, cid)
        assert taken is not None and taken.coordinator_id == won[0]
        assert (
            len(list(session.scalars(select(HandoffEvent).where(HandoffEvent.to_state == "human"))))
            == 1
        )


def handoff_reply(body: dict[str, Any]) -> list[dict[str, Any]]:
    if body["message"] == "I want a person":
        return [
            {
                "recipient_id": body["sender"],
                "text": "A person will answer.",
                "buttons": [{"title": "Back", "payload": "/lotsen_return_to_assistant"}],
            },
            {"recipient_id": body["sender"], "custom": HANDOFF},
        ]
    return [{"recipient_id": body["sender"], "text": f"bot: {body['message']}"}]


def start(client: TestClient) -> tuple[str, dict[str, str]]:
    created = client.post("/api/v1/conversations", json={"language": "uk"}).json()
    return created["conversation_id"], {"Authorization": f"Bearer {created['token']}"}


def say(client: TestClient, cid: str, headers: dict[str, str], text: str) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": text}, headers=headers
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_the_bot_is_silent_while_a_person_has_the_conversation(
    client: TestClient, fake_rasa: FakeRasa, settings_env: str
) -> None:
    fake_rasa.reply = handoff_reply
    cid, headers = start(client)
    handed = say(client, cid, headers, "I want a person")
    assert handed["state"] == "waiting"
    assert [m["text"] for m in handed["messages"]] == ["A person will answer."]
    reached = len(fake_rasa.received)

    for text in ("hello?", "is anyone there", "/greet"):
        quiet = say(client, cid, headers, text)
        assert quiet["messages"] == [] and quiet["state"] == "waiting"
    assert len(fake_rasa.received) == reached  # Rasa got none of them
    stored = client.get(f"/api/v1/conversations/{cid}/messages", headers=headers).json()
    assert [m["text"] for m in stored["messages"] if m["sender"] == "user"][-3:] == [
        "hello?",
        "is anyone there",
        "greet",
    ]

    # A restart of the app in the middle: the state is in the database.
    sessions = sessionmaker(make_engine(settings_env), expire_on_commit=False)
    (anna,) = coordinators(sessions, 1)
    with sessions.begin() as session:
        assert take(session, cid, anna, utcnow())
    with TestClient(client.app) as restarted:
        assert say(restarted, cid, headers, "still there?")["messages"] == []
        assert len(fake_rasa.received) == reached

        # "Back to the assistant": Rasa is resumed, and the bot answers again.
        back = restarted.post(
            f"/api/v1/conversations/{cid}/messages",
            json={"payload": "/lotsen_return_to_assistant"},
            headers=headers,
        ).json()
        assert back["state"] == "bot"
        assert fake_rasa.tracker_events == [(cid, RESUMED)]
        assert say(restarted, cid, headers, "what is the plan?")["messages"][0]["text"] == (
            "bot: what is the plan?"
        )


def test_back_to_the_assistant_waits_for_rasa(
    client: TestClient, fake_rasa: FakeRasa, settings_env: str
) -> None:
    fake_rasa.reply = handoff_reply
    cid, headers = start(client)
    say(client, cid, headers, "I want a person")
    fake_rasa.stop()
    kept = client.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"payload": "/lotsen_return_to_assistant"},
        headers=headers,
    ).json()
    assert kept["state"] == "waiting"
    sessions = sessionmaker(make_engine(settings_env))
    assert state_of(sessions, cid) == ConversationState.WAITING
