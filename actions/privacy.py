"""Erasing the chat when the person asks and confirms (rules in data/rules/person.yml).

The action only says so and asks the gateway, in a control message, to erase the chat: the
gateway does it once Rasa has finished the turn and saved its tracker, so the tracker's
events of this turn are erased too (bot/privacy/erasure.py). The reply offers the
coordinator, who handles the case register, the municipality's official record."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.conversations.control import erase_chat_message


class ActionEraseChat(Action):
    def name(self) -> str:
        return "action_erase_chat"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_erase_chat_done")
        dispatcher.utter_message(json_message=erase_chat_message())
        return []
