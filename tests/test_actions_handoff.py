"""Handing over outside service hours: the person is told when an answer can come at the
earliest, in their language, and what they can do meanwhile."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff
from actions.handoff import ActionRequestHuman
from bot.handoff.hours import FINLAND, ServiceHours
from bot.municipality import load_municipality_file
from bot.settings import PROJECT_ROOT


def request_human(language: str) -> Tracker:
    message = {
        "text": "I want to talk to a person",
        "intent": {"name": "request_human"},
        "entities": [],
        "metadata": {"language": language, "municipality": "example", "channel": "web"},
    }
    return Tracker("c-outside-hours", {}, message, [], False, None, {}, "")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=FINLAND)


@pytest.mark.parametrize(
    ("language", "weekday"),
    [("sv", "måndag"), ("fi", "maanantai"), ("uk", "понеділок"), ("en", "Monday")],
)
async def test_a_handoff_on_saturday_says_nobody_answers_before_monday(
    settings_env: str, monkeypatch: pytest.MonkeyPatch, language: str, weekday: str
) -> None:
    monkeypatch.setattr(handoff, "utcnow", lambda: at("2026-12-12 11:00"))
    dispatcher = CollectingDispatcher()
    await ActionRequestHuman().run(dispatcher, request_human(language), {})
    responses = [m.get("response") for m in dispatcher.messages]
    assert responses[:2] == ["utter_handoff_waiting", "utter_handoff_outside_hours"]
    opening = dispatcher.messages[1]["next_opening"]
    assert weekday.lower() in opening.lower() and "9" in opening


async def test_a_handoff_in_service_hours_says_nothing_more(
    settings_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handoff, "utcnow", lambda: at("2026-12-07 10:00"))
    dispatcher = CollectingDispatcher()
    await ActionRequestHuman().run(dispatcher, request_human("en"), {})
    assert "utter_handoff_outside_hours" not in [m.get("response") for m in dispatcher.messages]


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "municipalities").glob("*.yml")))
def test_every_municipality_file_states_readable_service_hours(path: Path) -> None:
    written = load_municipality_file(path).values.get("service_hours")
    assert isinstance(written, str)
    ServiceHours.parse(written)
