"""Handing the conversation to the coordinator. The action tells the person what happens
and asks the gateway, in a control message, to put the conversation in the queue; Rasa
pauses the conversation until the coordinator hands it back (the gateway resumes it)."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher

from actions.common import context_of
from bot.bookings.times import format_time
from bot.conversations.control import handoff_message
from bot.db.models import utcnow
from bot.handoff.hours import ServiceHours
from bot.handoff.state_machine import HandoffReason
from bot.municipality import UnknownMunicipalityError, get_municipality

logger = logging.getLogger(__name__)

HANDOFF_RESPONSES = {
    HandoffReason.REQUEST_HUMAN: "utter_handoff_waiting",
    HandoffReason.FALLBACK: "utter_handoff_after_fallback",
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


def next_opening_if_closed(municipality: str, language: str) -> str | None:
    """When a person can answer next, written for the person, if nobody can now; None in
    service hours or when the municipality has not said its hours."""
    try:
        written = get_municipality(municipality).values.get("service_hours")
    except UnknownMunicipalityError:
        return None
    if not isinstance(written, str):
        return None
    try:
        hours = ServiceHours.parse(written)
    except ValueError:
        # A mistake in the settings file must not stop the handoff itself.
        logger.exception("municipality %s: service_hours cannot be read", municipality)
        return None
    now = utcnow()
    if hours.is_open(now):
        return None
    return format_time(hours.next_opening(now), language)


def hand_over(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: str
) -> list[dict[str, Any]]:
    dispatcher.utter_message(response=HANDOFF_RESPONSES[reason])
    language, municipality = context_of(tracker)
    opening = next_opening_if_closed(municipality, language)
    if opening is not None:
        # Nobody answers for hours, perhaps days: said plainly, with what the person can do.
        dispatcher.utter_message(response="utter_handoff_outside_hours", next_opening=opening)
    dispatcher.utter_message(json_message=handoff_message(reason, previous_topic(tracker)))
    return [ConversationPaused()]


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        # A request to erase data never comes here: the gateway erases the chat and offers
        # the coordinator itself (bot/privacy/, README "Personal data").
        return hand_over(dispatcher, tracker, HandoffReason.REQUEST_HUMAN)
