from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.language import ActionChooseLanguage, language_code


def tracker_with_entities(*values: str) -> Tracker:
    message = {
        "intent": {"name": "choose_language"},
        "entities": [{"entity": "language", "value": value} for value in values],
        "text": "…",
    }
    return Tracker("abc", {}, message, [], False, None, {}, "action_listen")


async def run(tracker: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    await ActionChooseLanguage().run(dispatcher, tracker, {})
    return dispatcher.messages


async def test_a_named_language_is_chosen_and_the_gateway_told() -> None:
    messages = await run(tracker_with_entities("uk"))
    assert messages[0]["custom"] == {"lotsen": {"set_language": "uk"}}
    assert messages[1]["response"] == "utter_language_changed"
    assert messages[1]["language"] == "uk"


async def test_a_translated_language_is_announced_as_machine_translated() -> None:
    messages = await run(tracker_with_entities("ru"))
    assert messages[0]["custom"] == {"lotsen": {"set_language": "ru"}}
    assert messages[1]["response"] == "utter_language_changed_translated"
    assert messages[1]["language"] == "ru"
    assert messages[1]["language_name"] == "Русский"


async def test_without_a_language_the_menu_is_offered() -> None:
    messages = await run(tracker_with_entities())
    assert [m["response"] for m in messages] == ["utter_choose_language"]
    assert "custom" not in messages[0] or not messages[0]["custom"]


async def test_an_unsupported_language_offers_the_menu() -> None:
    messages = await run(tracker_with_entities("klingon"))
    assert [m["response"] for m in messages] == ["utter_choose_language"]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("sv", "sv"),
        (" FI ", "fi"),
        ("uk", "uk"),
        ("en", "en"),
        ("ru", "ru"),
        ("ar", "ar"),
        ("de", None),
        ("svenska", None),  # a name the synonyms did not map is not guessed at
    ],
)
def test_language_code(value: str, code: str | None) -> None:
    assert language_code(value) == code
