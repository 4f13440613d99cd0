"""The NLU data's own consistency: what the entity extractor finds, the synonyms map."""

from __future__ import annotations

import re
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


HELD_OUT = PROJECT_ROOT / "tests" / "nlu_heldout"


def training_examples() -> dict[str, set[str]]:
    """Every training example, normalised, with the intents it is an example of."""
    found: dict[str, set[str]] = {}
    for path in NLU.glob("*/*.yml"):
        for item in yaml.safe_load(path.read_text())["nlu"]:
            if "intent" in item:
                for text in examples(item["examples"]):
                    found.setdefault(normalised(text), set()).add(item["intent"])
    return found


def held_out_examples() -> list[tuple[str, str]]:
    found = []
    for path in sorted(HELD_OUT.glob("*.yml")):
        for item in yaml.safe_load(path.read_text())["nlu"]:
            found += [(item["intent"], normalised(text)) for text in examples(item["examples"])]
    return found


def normalised(text: str) -> str:
    without_annotations = re.sub(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})", r"\1", text)
    return " ".join(re.findall(r"\w+", without_annotations.lower()))


def test_the_held_out_set_is_never_trained_on() -> None:
    training = training_examples()
    held_out = held_out_examples()
    assert len(held_out) >= 4 * 60
    # Counted, never printed: the held-out sentences stay out of sight of whoever writes
    # training data. One or two words ("hi", "kiitos", "no thanks") are what everybody
    # writes, and the model needs them; a sentence of three words or more is never trained on.
    sentences = [text for _, text in held_out if len(text.split()) >= 3]
    assert sum(1 for text in sentences if text in training) == 0


def test_the_held_out_set_asks_for_every_intent_of_the_domain() -> None:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    # inform answers the booking form's questions, which mean nothing outside it.
    intents = set(domain["intents"]) - {"inform"}
    for path in sorted(HELD_OUT.glob("*.yml")):
        labels = {item["intent"] for item in yaml.safe_load(path.read_text())["nlu"]}
        assert labels == intents, path.name
