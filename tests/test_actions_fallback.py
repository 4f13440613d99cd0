from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff
from actions.fallback import ActionHandleFallback


def user(intent: str) -> dict[str, Any]:
    return {"event": "user", "text": "…", "parse_data": {"intent": {"name": intent}}}


def bot_action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


async def responses(events: list[dict[str, Any]]) -> list[str]:
    tracker = Tracker("abc", {}, events[-1]["parse_data"], events, False, None, {}, "")
    dispatcher = CollectingDispatcher()
    await ActionHandleFallback().run(dispatcher, tracker, {})
    return [message["response"] for message in dispatcher.messages]


async def test_first_time_asks_to_rephrase() -> None:
    assert await responses([user("nlu_fallback")]) == ["utter_default"]
    events = [user("greet"), bot_action("utter_greet"), user("nlu_fallback")]
    assert await responses(events) == ["utter_default"]


async def test_second_time_in_a_row_hands_over_to_the_coordinator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In service hours (a Monday morning): nothing is said about when the office opens.
    monkeypatch.setattr(handoff, "utcnow", lambda: datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    events = [user("nlu_fallback"), bot_action("action_handle_fallback"), user("nlu_fallback")]
    tracker = Tracker("abc", {}, events[-1]["parse_data"], events, False, None, {}, "")
    dispatcher = CollectingDispatcher()
    returned = await ActionHandleFallback().run(dispatcher, tracker, {})
    said, control = dispatcher.messages
    assert said["response"] == "utter_handoff_after_fallback"
    assert control["custom"] == {"lotsen": {"handoff": {"reason": "fallback", "topic": None}}}
    assert returned == [{"event": "pause", "timestamp": None}]


async def test_understood_message_in_between_starts_over() -> None:
    events = [
        user("nlu_fallback"),
        bot_action("action_handle_fallback"),
        user("ask_school"),
        bot_action("utter_school"),
        user("nlu_fallback"),
    ]
    assert await responses(events) == ["utter_default"]


async def test_after_coming_back_from_the_coordinator_the_count_starts_again() -> None:
    events = [
        user("nlu_fallback"),
        bot_action("action_handle_fallback"),
        user("nlu_fallback"),
        bot_action("action_handle_fallback"),
        {"event": "pause"},
        {"event": "resume"},
        user("nlu_fallback"),
    ]
    assert await responses(events) == ["utter_default"]
