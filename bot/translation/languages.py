"""Which languages the installed packages reach: what the gateway, the channels, the NLG
endpoint's language menu and the coordinator app ask before they offer or use a
translated language. Blocking on the first call (the packages' metadata is read then):
call these off the event loop."""

from __future__ import annotations

import logging

from bot.language import (
    SUPPORTED_LANGUAGES,
    TRANSLATED_LANGUAGES,
    TRANSLATION_HUB,
    is_supported,
    is_translated,
)
from bot.translation.service import get_translator

logger = logging.getLogger(__name__)


def can_translate(source: str, target: str) -> bool:
    """Whether an installed package leads from `source` to `target`."""
    try:
        return get_translator().available(source, target)
    except Exception:  # a broken package directory must not break a conversation
        logger.exception("could not read the translation packages")
        return False


def reachable(language: str) -> bool:
    """Whether the assistant can hold a conversation in `language`: its own content, or
    packages to and from English."""
    if is_supported(language):
        return True
    return (
        is_translated(language)
        and can_translate(language, TRANSLATION_HUB)
        and can_translate(TRANSLATION_HUB, language)
    )


def reachable_translated_languages() -> list[str]:
    """The translated languages a person can choose now, in menu order."""
    return [language for language in TRANSLATED_LANGUAGES if reachable(language)]


def conversation_languages() -> list[str]:
    """Every language a person can choose now: the four, then the translated ones."""
    return [*SUPPORTED_LANGUAGES, *reachable_translated_languages()]
