"""The NLU data's own consistency: what the entity extractor finds, the synonyms map."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.language import SUPPORTED_LANGUAGES
from bot.settings import PROJECT_ROOT

NLU = PROJECT_ROOT / "data" / "nlu"


def examples(block: str) -> set[str]:
    return {line.strip()[2:].strip() for line in block.splitlines() if line.strip()}


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_language_lookup_table_and_synonyms_list_the_same_words(language: str) -> None:
    items = yaml.safe_load((NLU / language / "language.yml").read_text())["nlu"]
    lookup = set().union(*(examples(i["examples"]) for i in items if i.get("lookup") == "language"))
    synonyms = {
        word: item["synonym"]
        for item in items
        if "synonym" in item
        for word in examples(item["examples"])
    }
    assert lookup == set(synonyms)
    assert set(synonyms.values()) == set(SUPPORTED_LANGUAGES)


def test_every_language_trains_the_same_intents() -> None:
    def intents(language: str) -> set[str]:
        found: set[str] = set()
        for path in Path(NLU / language).glob("*.yml"):
            found |= {i["intent"] for i in yaml.safe_load(path.read_text())["nlu"] if "intent" in i}
        return found

    english = intents("en")
    assert "ask_integration_plan" in english
    for language in SUPPORTED_LANGUAGES:
        assert intents(language) == english, language
