from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff
from actions.fallback import ActionHandleFallback
from bot.language import SUPPORTED_LANGUAGES
from bot.nlg.render import render_response


def user(
    intent: str, ranking: list[tuple[str, float]] | None = None, language: str = "en"
) -> dict[str, Any]:
    parse_data: dict[str, Any] = {"intent": {"name": intent}}
    if ranking is not None:
        parse_data["intent_ranking"] = [{"name": n, "confidence": c} for n, c in ranking]
    return {
        "event": "user",
        "text": "…",
        "parse_data": parse_data,
        "metadata": {"language": language, "municipality": "example"},
    }


def bot_action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


async def said(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    latest = {**events[-1]["parse_data"], "metadata": events[-1]["metadata"]}
    tracker = Tracker("abc", {}, latest, events, False, None, {}, "")
    dispatcher = CollectingDispatcher()
    await ActionHandleFallback().run(dispatcher, tracker, {})
    return dispatcher.messages


async def responses(events: list[dict[str, Any]]) -> list[str]:
    return [message["response"] for message in await said(events)]


def payloads(message: dict[str, Any]) -> list[str]:
    return [button["payload"] for button in message["buttons"]]


# What the FallbackClassifier leaves: nlu_fallback first, then the classifier's own ranking.
HESITATING = [
    ("nlu_fallback", 0.5),
    ("ask_school", 0.31),
    ("greet", 0.2),
    ("ask_early_education", 0.18),
    ("out_of_scope", 0.12),
    ("ask_language_courses", 0.11),
    ("ask_leisure", 0.1),
    ("ask_housing", 0.04),
]


async def test_a_hesitation_offers_the_likeliest_topics_and_a_person_in_the_persons_language() -> (
    None
):
    (message,) = await said([user("nlu_fallback", HESITATING, language="uk")])
    ukrainian = render_response("utter_did_you_mean", "uk", "example")
    assert message["text"] == ukrainian.text
    # greet and out_of_scope are no topics; only three are offered, best first.
    assert payloads(message) == [
        "/ask_school",
        "/ask_early_education",
        "/ask_language_courses",
        "/request_human",
    ]
    titles = {button["payload"]: button["title"] for button in ukrainian.buttons}
    assert [button["title"] for button in message["buttons"]] == [
        titles[payload] for payload in payloads(message)
    ]
    assert titles["/ask_school"] == "Школа"


async def test_a_guess_under_the_least_confidence_is_not_offered() -> None:
    ranking = [("nlu_fallback", 0.5), ("ask_housing", 0.2), ("ask_school", 0.06)]
    (message,) = await said([user("nlu_fallback", ranking, language="fi")])
    assert payloads(message) == ["/ask_housing", "/request_human"]
    assert message["buttons"][0]["title"] == "Asuminen"


async def test_a_person_asked_for_among_the_likeliest_is_offered_once_at_the_end() -> None:
    ranking = [("nlu_fallback", 0.5), ("request_human", 0.4), ("bot_challenge", 0.3)]
    ranking += [("ask_contact", 0.2)]
    (message,) = await said([user("nlu_fallback", ranking)])
    assert payloads(message) == ["/ask_contact", "/request_human"]


async def test_without_a_useful_ranking_the_fixed_topics_are_offered() -> None:
    assert await responses([user("nlu_fallback")]) == ["utter_default"]
    gibberish = [("nlu_fallback", 0.5), ("greet", 0.09), ("ask_school", 0.05)]
    assert await responses([user("nlu_fallback", gibberish)]) == ["utter_default"]
    chit_chat = [("nlu_fallback", 0.5), ("greet", 0.4), ("affirm", 0.3), ("out_of_scope", 0.2)]
    assert await responses([user("nlu_fallback", chit_chat)]) == ["utter_default"]
    events = [user("greet"), bot_action("utter_greet"), user("nlu_fallback")]
    assert await responses(events) == ["utter_default"]


async def test_second_time_in_a_row_hands_over_to_the_coordinator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In service hours (a Monday morning): nothing is said about when the office opens.
    monkeypatch.setattr(handoff, "utcnow", lambda: datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    events = [
        user("nlu_fallback", HESITATING),
        bot_action("action_handle_fallback"),
        user("nlu_fallback", HESITATING),
    ]
    latest = {**events[-1]["parse_data"], "metadata": events[-1]["metadata"]}
    tracker = Tracker("abc", {}, latest, events, False, None, {}, "")
    dispatcher = CollectingDispatcher()
    returned = await ActionHandleFallback().run(dispatcher, tracker, {})
    handed_over, control = dispatcher.messages
    assert handed_over["response"] == "utter_handoff_after_fallback"
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


async def test_a_pressed_suggestion_counts_as_understood() -> None:
    events = [
        user("nlu_fallback", HESITATING),
        bot_action("action_handle_fallback"),
        user("ask_school", [("ask_school", 1.0)]),
        bot_action("utter_school"),
        user("nlu_fallback", HESITATING),
    ]
    (message,) = await said(events)
    assert payloads(message)[0] == "/ask_school"


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


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_language_offers_the_same_topics_and_never_chit_chat(language: str) -> None:
    english = payloads({"buttons": render_response("utter_did_you_mean", "en", "example").buttons})
    offered = payloads(
        {"buttons": render_response("utter_did_you_mean", language, "example").buttons}
    )
    assert offered == english
    assert offered[-1] == "/request_human"
    never = {"/nlu_fallback", "/out_of_scope", "/greet", "/goodbye", "/affirm", "/deny"}
    assert not never & set(offered)


async def test_yes_and_no_in_the_ranking_are_passed_over() -> None:
    ranking = [("nlu_fallback", 0.5), ("deny", 0.3), ("affirm", 0.25), ("ask_housing", 0.2)]
    ranking += [("ask_contact", 0.15)]
    (message,) = await said([user("nlu_fallback", ranking, language="sv")])
    assert payloads(message) == ["/ask_housing", "/ask_contact", "/request_human"]
