from __future__ import annotations

import re

import pytest
import yaml

from bot.language import TRANSLATED_LANGUAGES, detect_language
from bot.settings import PROJECT_ROOT
from tests.test_nlu_data import examples


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


@pytest.mark.parametrize("text", ["ok", "hej", "👍👍", "12345 678", "你好"])
def test_unsure_gives_none(text: str) -> None:
    assert detect_language(text) is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Здравствуйте, как получить план интеграции?", "ru"),
        ("مرحبا، كيف أحصل على خطة الاندماج؟", "ar"),
        ("سلام، چگونه می‌توانم برنامه ادغام بگیرم؟", "fa"),
        ("Sidee baan u heli karaa qorshaha is-dhexgalka?", "so"),
        ("Merhaba, entegrasyon planını nasıl alabilirim?", "tr"),
        ("你好，我怎样才能得到融入计划？", "zh"),
    ],
)
def test_detects_the_translated_languages(text: str, language: str) -> None:
    # Russian among the candidates also keeps Russian from being taken for Ukrainian.
    assert detect_language(text) == language


@pytest.mark.parametrize(
    "text", ["Mehmet Yılmaz", "it's Abdi Warsame", "name: Svitlana Petrenko", "спасибо большое"]
)
def test_a_name_or_a_few_words_do_not_switch_to_a_translated_language(text: str) -> None:
    # A name typed into the booking form must not send the conversation into translation.
    assert detect_language(text) not in TRANSLATED_LANGUAGES


def test_no_training_example_of_the_four_languages_is_taken_for_a_translated_one() -> None:
    """Every example the NLU is trained on (names typed into forms among them) stays in the
    four languages: none would send a conversation into machine translation."""
    annotation = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")
    wrong = []
    for path in sorted((PROJECT_ROOT / "data" / "nlu").glob("*/*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            for text in examples(item.get("examples") or ""):
                found = detect_language(annotation.sub(r"\1", text))
                if found in TRANSLATED_LANGUAGES:
                    wrong.append((path.name, text, found))
    assert wrong == []
