"""Every answer exists in every language, with the same placeholders and buttons."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.language import SUPPORTED_LANGUAGES
from bot.municipality import load_municipality_file
from bot.nlg.content import ContentError, load_catalog, placeholders
from bot.nlg.domain_sync import responses_in_dialogue_data, synced_domain_text
from bot.settings import PROJECT_ROOT

DATA = PROJECT_ROOT / "data"
CONTENT = DATA / "content"
DOMAIN = PROJECT_ROOT / "domain.yml"
# Values an NLG call brings itself rather than the municipality file.
# Values the code passes when it renders a response (bot/bookings/messages.py and others).
ARGUMENT_PLACEHOLDERS = {
    "limit",
    "seconds",  # utter_rate_limited: how long to wait
    "case_number",
    "date",
    "next_step",
    "time",
    "place",
    "location",
    "purpose",
    "meeting_language",
    "interpreter",
    "interpreter_language",
    "reference",
    "meetings",
    "message",
    "name",
    # bot/conversations/translation.py and actions/language.py
    "source",
    "languages",
    "language_name",
}


# Names in the code that look like responses but are slots, entities and forms.
SLOT_AND_ENTITY_NAMES = {
    *yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))["slots"],
    "booking_choice",
    "booking_form",
    "booking_id",  # a route parameter
    # audit log actions
    "booking_made",
    "booking_moved",
    "booking_cancelled",
}


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog(CONTENT)


def test_every_language_has_the_same_responses(catalog) -> None:  # type: ignore[no-untyped-def]
    english = catalog.names("en")
    assert english
    for language in SUPPORTED_LANGUAGES:
        assert catalog.names(language) == english, language


def test_same_placeholders_and_payloads_in_every_language(catalog) -> None:  # type: ignore[no-untyped-def]
    for name in catalog.names("en"):
        reference = catalog.variants(name, "en")[0]
        for language in SUPPORTED_LANGUAGES:
            variant = catalog.variants(name, language)[0]
            where = f"{name} in {language}"
            assert placeholders(variant.text) == placeholders(reference.text), where
            assert [b.payload for b in variant.buttons] == [b.payload for b in reference.buttons], (
                where
            )
            assert [placeholders(b.title) for b in variant.buttons] == [
                placeholders(b.title) for b in reference.buttons
            ], where
            assert all(b.title.strip() for b in variant.buttons), where


def test_every_placeholder_has_a_value(catalog) -> None:  # type: ignore[no-untyped-def]
    municipality = load_municipality_file(PROJECT_ROOT / "municipalities" / "example.yml")
    for language in SUPPORTED_LANGUAGES:
        known = set(municipality.variables(language)) | ARGUMENT_PLACEHOLDERS
        for name in catalog.names(language):
            for variant in catalog.variants(name, language):
                assert placeholders(variant.text) <= known, f"{name} in {language}"
                for button in variant.buttons:
                    assert placeholders(button.title) <= known, f"{name} in {language}"


def test_example_municipality_is_visibly_an_example() -> None:
    municipality = load_municipality_file(PROJECT_ROOT / "municipalities" / "example.yml")
    for language in SUPPORTED_LANGUAGES:
        for key, value in municipality.variables(language).items():
            if key == "coordinator_title":  # a job title, the same everywhere
                continue
            if key.endswith("_url") or key.endswith("_email"):
                assert "example.invalid" in value, key
            else:
                assert any(
                    mark in value.lower() for mark in ("example", "exempel", "esimerk", "приклад")
                ), (key, language)


def test_domain_responses_are_in_sync_with_english_content(catalog) -> None:  # type: ignore[no-untyped-def]
    assert DOMAIN.read_text(encoding="utf-8") == synced_domain_text(DOMAIN, catalog, DATA), (
        "run `make domain`"
    )


def test_every_utterance_of_rules_stories_and_gateway_has_content(catalog) -> None:  # type: ignore[no-untyped-def]
    used = responses_in_dialogue_data(DATA)
    assert "utter_greet" in used
    gateway = {"utter_service_unavailable", "utter_message_too_long", "utter_empty_message"}
    # Every response name the actions and the app's code render or ask Rasa to utter.
    code = [*(PROJECT_ROOT / "actions").glob("*.py"), *(PROJECT_ROOT / "bot").rglob("*.py")]
    named = {
        name
        for path in code
        for name in re.findall(r"[\"'](utter_[a-z_]+|booking_[a-z_]+)[\"']", path.read_text())
        if name not in SLOT_AND_ENTITY_NAMES
    }
    assert "utter_booking_slot_taken" in named
    for language in SUPPORTED_LANGUAGES:
        missing = (used | gateway | named) - catalog.names(language)
        assert not missing, f"{language}: {sorted(missing)}"


def test_broken_content_is_reported_with_its_place(tmp_path: Path) -> None:
    for language in SUPPORTED_LANGUAGES:
        (tmp_path / language).mkdir()
    (tmp_path / "sv" / "x.yml").write_text("utter_x:\n  - buttons: []\n")
    with pytest.raises(ContentError, match=r"x\.yml:utter_x"):
        load_catalog(tmp_path)
    (tmp_path / "sv" / "x.yml").write_text("utter_x:\n  - text: 'open {brace'\n")
    with pytest.raises(ContentError, match="utter_x"):
        load_catalog(tmp_path)
