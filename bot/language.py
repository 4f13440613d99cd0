"""The conversation's language: the four the assistant speaks, the languages it can reach
through machine translation, and offline detection."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from lingua import LanguageDetector

# The languages the assistant has content (and NLU training data) for.
SUPPORTED_LANGUAGES: Final = ("sv", "fi", "uk", "en")
# Languages many newcomers write in that the assistant reaches only through offline machine
# translation (bot/translation/), and only where Argos packages to and from English are
# installed. Persian covers Dari: Argos and lingua know them as one language.
TRANSLATED_LANGUAGES: Final = ("ru", "ar", "fa", "so", "tr", "zh")
# The language the assistant understands and answers in for a translated language.
TRANSLATION_HUB: Final = "en"

# Each language by its own name, as a person looks for it in a menu.
LANGUAGE_NAMES: Final = {
    "sv": "Svenska",
    "fi": "Suomi",
    "uk": "Українська",
    "en": "English",
    "ru": "Русский",
    "ar": "العربية",
    "fa": "فارسی / دری",
    "so": "Soomaali",
    "tr": "Türkçe",
    "zh": "中文",
}
# Written right to left: the widget and the coordinator view set `dir` for them.
RIGHT_TO_LEFT: Final = frozenset({"ar", "fa"})

# lingua's names of the languages above.
_LINGUA_NAMES: Final = {
    "sv": "SWEDISH",
    "fi": "FINNISH",
    "uk": "UKRAINIAN",
    "en": "ENGLISH",
    "ru": "RUSSIAN",
    "ar": "ARABIC",
    "fa": "PERSIAN",
    "so": "SOMALI",
    "tr": "TURKISH",
    "zh": "CHINESE",
}

# Short messages ("ok", "hej", "kiitos!") say too little to switch a conversation's language.
MIN_LETTERS_TO_DETECT: Final = 12
# Chinese says a lot in few characters.
MIN_HAN_TO_DETECT: Final = 4
MIN_CONFIDENCE: Final = 0.6
# A translated language needs a clearer signal: a name typed into a form ("Mehmet Yılmaz",
# "Abdi Warsame") looks Turkish or Somali, and switching a conversation to machine
# translation on it would garble the rest of the form.
MIN_WORDS_FOR_TRANSLATED: Final = 3
MIN_CONFIDENCE_FOR_TRANSLATED: Final = 0.9

_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
_HAN = re.compile(r"[\u4e00-\u9fff]")


def is_supported(language: str | None) -> bool:
    """A language the assistant has its own content for."""
    return language in SUPPORTED_LANGUAGES


def is_translated(language: str | None) -> bool:
    """A language the assistant can only reach through machine translation."""
    return language in TRANSLATED_LANGUAGES


def is_known(language: str | None) -> bool:
    return is_supported(language) or is_translated(language)


def content_language(language: str | None) -> str | None:
    """The language to write an answer in before any translation: the language itself
    when there is content for it, English for a translated language."""
    if is_translated(language):
        return TRANSLATION_HUB
    return language


def language_name(language: str) -> str:
    return LANGUAGE_NAMES.get(language, language)


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    # Built on first use: lingua loads its language models lazily, offline, from the wheel.
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(
        *(getattr(Language, name) for name in _LINGUA_NAMES.values())
    ).build()


def detect_language(text: str) -> str | None:
    """The language the text is written in (one of the supported or translated languages),
    or None when unsure. The caller decides what a translated language leads to."""
    if len(_LETTERS.findall(text)) < MIN_LETTERS_TO_DETECT and (
        len(_HAN.findall(text)) < MIN_HAN_TO_DETECT
    ):
        return None
    confidences = _detector().compute_language_confidence_values(text)
    if not confidences:
        return None
    best = confidences[0]
    if best.value < MIN_CONFIDENCE:
        return None
    code = best.language.iso_code_639_1.name.lower()
    if is_translated(code) and (
        best.value < MIN_CONFIDENCE_FOR_TRANSLATED
        or (
            len(text.split()) < MIN_WORDS_FOR_TRANSLATED
            and len(_HAN.findall(text)) < 2 * MIN_HAN_TO_DETECT
        )
    ):
        return None
    return code if is_known(code) else None
