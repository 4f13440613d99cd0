"""Choosing or changing the conversation's language."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.language import SUPPORTED_LANGUAGES

# What people type for a language when the NLU synonyms did not already map it to a code.
LANGUAGE_NAMES = {
    "sv": ("sv", "svenska", "swedish", "ruotsi", "ruotsiksi", "шведська", "шведською"),
    "fi": ("fi", "suomi", "suomeksi", "finnish", "finska", "фінська", "фінською"),
    "uk": ("uk", "українська", "українською", "ukrainian", "ukrainska", "ukraina", "ukrainaksi"),
    "en": ("en", "english", "engelska", "englanti", "englanniksi", "англійська", "англійською"),
}


def language_code(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    wanted = value.strip().lower()
    for code, names in LANGUAGE_NAMES.items():
        if wanted in names:
            return code
    return None


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
                if (code := language_code(value)) in SUPPORTED_LANGUAGES
            ),
            None,
        )
        if chosen is None:
            dispatcher.utter_message(response="utter_choose_language")
            return []
        # The gateway owns the conversation's language: this control message tells it.
        dispatcher.utter_message(json_message={"lotsen": {"set_language": chosen}})
        dispatcher.utter_message(response="utter_language_changed", language=chosen)
        return []
