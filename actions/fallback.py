"""Not understood: ask to rephrase once; the second time in a row, hand the conversation
to the coordinator."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import hand_over
from bot.handoff.state_machine import HandoffReason

FALLBACK_INTENT = "nlu_fallback"


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


class ActionHandleFallback(Action):
    def name(self) -> str:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if previous_user_intent(tracker) == FALLBACK_INTENT:
            return hand_over(dispatcher, tracker, HandoffReason.FALLBACK)
        else:
            dispatcher.utter_message(response="utter_default")
        return []
