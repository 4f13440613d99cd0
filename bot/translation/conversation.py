"""Until bot/coordinator/ and bot/bookings/ import these from their new modules (issue 19,
merged with their refactoring), their old import path keeps working. Remove then:
conversation translation is bot/conversations/translation.py, the languages the packages
reach bot/translation/languages.py."""

from bot.conversations.translation import (
    for_person_from_assistant,
    for_person_from_coordinator,
    translate,
)
from bot.translation.languages import can_translate

__all__ = [
    "can_translate",
    "for_person_from_assistant",
    "for_person_from_coordinator",
    "translate",
]
