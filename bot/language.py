"""The conversation's language: the four the assistant speaks, and offline detection."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from lingua import LanguageDetector

SUPPORTED_LANGUAGES: Final = ("sv", "fi", "uk", "en")

# Short messages ("ok", "hej", "kiitos!") say too little to switch a conversation's language.
MIN_LETTERS_TO_DETECT: Final = 12
MIN_CONFIDENCE: Final = 0.6

_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


def is_supported(language: str | None) -> bool:
    return language in SUPPORTED_LANGUAGES


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    # Built on first use: lingua loads its language models lazily, offline, from the wheel.
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(
        Language.SWEDISH,
        Language.FINNISH,
        Language.UKRAINIAN,
        Language.ENGLISH,
        Language.RUSSIAN,
    ).build()


def detect_language(text: str) -> str | None:
    """The supported language the text is written in, or None when unsure.

    Russian is among the candidates so that Russian text is not mistaken for Ukrainian;
    it is reported as None until the assistant can answer in Russian.
    """
    if len(_LETTERS.findall(text)) < MIN_LETTERS_TO_DETECT:
        return None
    confidences = _detector().compute_language_confidence_values(text)
    if not confidences:
        return None
    best = confidences[0]
    if best.value < MIN_CONFIDENCE:
        return None
    code = best.language.iso_code_639_1.name.lower()
    return code if code in SUPPORTED_LANGUAGES else None
