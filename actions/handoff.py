"""Handing the conversation to the coordinator. The action tells the person what happens
and asks the gateway, in a control message, to put the conversation in the queue; Rasa
pauses the conversation until the coordinator hands it back (the gateway resumes it)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher

from bot.conversations.control import handoff_message
from bot.handoff.state_machine import HandoffReason

HANDOFF_RESPONSES = {
    HandoffReason.REQUEST_HUMAN: "utter_handoff_waiting",
    HandoffReason.FALLBACK: "utter_handoff_after_fallback",
    HandoffReason.DATA_REQUEST: "utter_handoff_data_request",
}


def previous_topic(tracker: Tracker) -> str | None:
    """The last topic the assistant recognised before this request, for the queue."""
    skip = {"request_human", "nlu_fallback", "delete_my_data", "affirm", "deny", "greet"}
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if isinstance(name, str) and name not in skip:
            return name
    return None


def hand_over(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: str
) -> list[dict[str, Any]]:
    dispatcher.utter_message(response=HANDOFF_RESPONSES[reason])
    topic = "delete_my_data" if reason == HandoffReason.DATA_REQUEST else previous_topic(tracker)
    dispatcher.utter_message(json_message=handoff_message(reason, topic))
    return [ConversationPaused()]


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        reason = (
            HandoffReason.DATA_REQUEST
            if intent == "delete_my_data"
            else HandoffReason.REQUEST_HUMAN
        )
        return hand_over(dispatcher, tracker, reason)
