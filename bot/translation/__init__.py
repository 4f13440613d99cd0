"""Offline machine translation with installed Argos packages (optional extra `translation`).

    translator = get_translator()
    translator.available("uk", "sv")                 # bool, direct or through English
    result = await translator.translate(text, "uk", "sv", protected_terms=["Exempelby"])
    result.text, result.pivot                        # None when no package leads there
    translator.status()                              # pairs, coverage of sv/fi/en, problems

Importing this package loads nothing: packages are read on first use.
"""

from bot.translation.service import (
    HUB_LANGUAGES,
    LanguageCoverage,
    Translation,
    TranslationStatus,
    Translator,
    get_translator,
)

__all__ = [
    "HUB_LANGUAGES",
    "LanguageCoverage",
    "Translation",
    "TranslationStatus",
    "Translator",
    "get_translator",
]
