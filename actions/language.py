"""Choosing or changing the conversation's language."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.conversations.control import set_language_message
from bot.language import is_known, is_translated, language_name


def language_code(value: Any) -> str | None:
    """The entity's value as a language code. The NLU's synonyms map every language name
    of its lookup tables to a code (tests/test_nlu_data.py keeps the two lists equal); the
    translated languages come only from the menu's buttons, which the gateway offers when
    their packages are installed (and checks again when it applies the choice)."""
    if not isinstance(value, str):
        return None
    code = value.strip().lower()
    return code if is_known(code) else None


class ActionChooseLanguage(Action):
    def name(self) -> str:
        return "action_choose_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        chosen = next(
            (
                code
                for value in tracker.get_latest_entity_values("language")
                if (code := language_code(value)) is not None
            ),
            None,
        )
        if chosen is None:
            dispatcher.utter_message(response="utter_choose_language")
            return []
        dispatcher.utter_message(json_message=set_language_message(chosen))
        if is_translated(chosen):
            dispatcher.utter_message(
                response="utter_language_changed_translated",
                language=chosen,
                language_name=language_name(chosen),
            )
        else:
            dispatcher.utter_message(response="utter_language_changed", language=chosen)
        return []
