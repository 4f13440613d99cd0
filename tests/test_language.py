from __future__ import annotations

import pytest

from bot.language import detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hej, jag undrar hur man får en integrationsplan", "sv"),
        ("Moi, miten mä saan kotoutumissuunnitelman?", "fi"),
        ("Добрий день, як отримати план інтеграції?", "uk"),
        ("Hello, how do I get an integration plan?", "en"),
    ],
)
def test_detects_the_four_languages(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize(
    "text", ["ok", "hej", "👍👍", "12345 678", "Здравствуйте, как получить план интеграции?"]
)
def test_unsure_or_unsupported_gives_none(text: str) -> None:
    assert detect_language(text) is None
