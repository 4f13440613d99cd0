"""Not understood: offer the topics the model hesitated between, or ask to rephrase; the
second time in a row, hand the conversation to the coordinator."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import hand_over
from bot.handoff.state_machine import HandoffReason
from bot.nlg.render import message_context, render_response

FALLBACK_INTENT = "nlu_fallback"
# Its buttons name every topic worth offering, in the person's language; the last one, a
# person, is always offered.
SUGGESTIONS_RESPONSE = "utter_did_you_mean"
PERSON_INTENT = "request_human"
MOST_SUGGESTIONS = 3
# Under this the model is guessing: gibberish spreads about 0.05 over every intent, and
# offering topics for it would look like the assistant understood something.
LEAST_CONFIDENCE = 0.1


def previous_user_intent(tracker: Tracker) -> str | None:
    """The intent of the person's message before the current one, since the conversation
    last came back from the coordinator (a `resume` starts the count again)."""
    user_events: list[dict[str, Any]] = []
    for event in tracker.events:
        if event.get("event") == "resume":
            user_events = []
        elif event.get("event") == "user":
            user_events.append(event)
    if len(user_events) < 2:
        return None
    intent = (user_events[-2].get("parse_data") or {}).get("intent") or {}
    name = intent.get("name")
    return name if isinstance(name, str) else None


def likely_topics(latest_message: Mapping[str, Any] | None, offered: list[str]) -> list[str]:
    """The offered topics the model ranked highest for the message it did not understand,
    best first. Everything without a button (nlu_fallback, out_of_scope, greetings, yes
    and no) is left out, and so is a guess under LEAST_CONFIDENCE."""
    ranking = (latest_message or {}).get("intent_ranking") or []
    likely: list[str] = []
    for entry in ranking:
        name, confidence = entry.get("name"), entry.get("confidence")
        if (
            name in offered
            and name not in likely
            and isinstance(confidence, int | float)
            and confidence >= LEAST_CONFIDENCE
        ):
            likely.append(name)
    return likely[:MOST_SUGGESTIONS]


def intent_of(payload: str) -> str:
    return payload.removeprefix("/")


class ActionHandleFallback(Action):
    def name(self) -> str:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if previous_user_intent(tracker) == FALLBACK_INTENT:
            return hand_over(dispatcher, tracker, HandoffReason.FALLBACK)
        language, municipality = message_context(tracker.latest_message)
        message = await asyncio.to_thread(
            render_response, SUGGESTIONS_RESPONSE, language, municipality
        )
        buttons = {intent_of(button["payload"]): button for button in message.buttons}
        topics = [intent for intent in buttons if intent != PERSON_INTENT]
        likely = likely_topics(tracker.latest_message, topics)
        if not likely:
            dispatcher.utter_message(response="utter_default")
            return []
        dispatcher.utter_message(
            text=message.text,
            buttons=[buttons[intent] for intent in likely] + [buttons[PERSON_INTENT]],
        )
        return []
