"""Answers on a small phone: a short first screen with the rest behind "More", and the
official Finnish and Swedish terms marked with their language (bot/nlg/markup.py), from
the content through the NLG endpoint and the gateway to the API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.db import get_sessionmaker
from bot.db.models import Message
from bot.language import SUPPORTED_LANGUAGES
from bot.nlg.content import ContentCatalog, ContentError, load_catalog
from bot.nlg.markup import MORE_BREAK, MarkupError, from_assistant, parse, plain
from bot.nlg.render import render_response
from bot.settings import PROJECT_ROOT
from tests.support.fake_rasa import FakeRasa

CONTENT = PROJECT_ROOT / "data" / "content"
# What fits a phone: an answer longer than this (plain text, filled for the example
# municipality) has a first screen and the rest behind "More"; the first screen is at most
# FIRST_SCREEN_CHARS. The browser test measures that it fits the view at 360 x 740.
WHOLE_SCREEN_CHARS = 600
FIRST_SCREEN_CHARS = 540
TERM = re.compile(r"\[\[(fi|sv):")


@pytest.fixture(scope="module")
def catalog() -> ContentCatalog:
    return load_catalog(CONTENT)


def test_a_marked_text_has_a_plain_text_and_a_layout() -> None:
    marked = "The area ([[fi:työllisyysalue]]) helps.\n[[more]]\nRest ([[sv:tolk]])."
    layout = parse(marked)
    assert layout.plain_text == "The area (työllisyysalue) helps.\nRest (tolk)."
    assert layout.plain_first_screen == "The area (työllisyysalue) helps."
    assert layout.as_json() == {
        "first_screen": [
            {"text": "The area ("},
            {"text": "työllisyysalue", "language": "fi"},
            {"text": ") helps."},
        ],
        "more": [{"text": "Rest ("}, {"text": "tolk", "language": "sv"}, {"text": ")."}],
    }
    assert plain("No marks [here].") == "No marks [here]."
    assert parse("One screen.").as_json() == {
        "first_screen": [{"text": "One screen."}],
        "more": None,
    }


@pytest.mark.parametrize(
    "broken",
    [
        "[[de:Arbeitsamt]]",
        "[[fi:]]",
        "[[fi: padded ]]",
        "a [[fi:term] b",
        "a ]] b",
        "[[more]]\nonly after",
        "before\n[[more]]",
        "a\n[[more]]\nb\n[[more]]\nc",
        "[[fi:nested [[sv:x]]]]",
    ],
)
def test_a_malformed_mark_is_an_error(broken: str) -> None:
    with pytest.raises(MarkupError):
        parse(broken)


def test_content_with_a_malformed_mark_is_refused_with_its_place(tmp_path: Path) -> None:
    for language in SUPPORTED_LANGUAGES:
        (tmp_path / language).mkdir()
    (tmp_path / "en" / "broken.yml").write_text(
        "utter_x:\n  - text: the [[de:Arbeitsamt]]\n", encoding="utf-8"
    )
    with pytest.raises(ContentError, match=r"broken.yml:utter_x"):
        load_catalog(tmp_path)
    (tmp_path / "en" / "broken.yml").write_text(
        "utter_x:\n  - text: ok\n    buttons:\n      - title: '[[fi:nappi]]'\n"
        "        payload: /x\n",
        encoding="utf-8",
    )
    with pytest.raises(ContentError, match="title"):
        load_catalog(tmp_path)


def test_a_value_filled_in_never_makes_a_mark() -> None:
    message = render_response(
        "booking_contact_line",
        "en",
        "example",
        {"contact_name": "[[more]] [[fi:x]]", "contact": "a]]b"},
    )
    assert message.markup is None
    assert message.text == "Name: [more] [fi:x]. Contact: a]b."


def test_a_term_is_marked_only_in_another_language_than_its_own(
    catalog: ContentCatalog,
) -> None:
    wrong = []
    for language in SUPPORTED_LANGUAGES:
        for name in sorted(catalog.names(language)):
            for match in TERM.finditer(catalog.variants(name, language)[0].text):
                if match[1] == language:
                    wrong.append(f"{name} in {language}")
    assert not wrong, f"a term marked in its own language: {wrong}"


@pytest.mark.parametrize(
    ("language", "pattern"),
    [
        # The term in brackets after "in Finnish" or "Swedish:" is always marked.
        ("en", r"(?:in Finnish|Finnish:|Swedish:) (?!\[\[)[a-zåäö]"),
        ("sv", r"på finska (?!\[\[)[a-zåäö]"),
        # Ukrainian answers name the official term in Latin letters in brackets.
        ("uk", r"\((?!\[\[)[a-zåäö][a-zåäö ]+[,)]"),
    ],
)
def test_every_official_term_in_brackets_is_marked(
    catalog: ContentCatalog, language: str, pattern: str
) -> None:
    unmarked = []
    for name in sorted(catalog.names(language)):
        text = catalog.variants(name, language)[0].text
        unmarked += [f"{name}: {m[0]!r}" for m in re.finditer(pattern, text)]
    assert not unmarked, unmarked


def test_the_programme_terms_are_marked_in_the_answers_that_name_them(
    catalog: ContentCatalog,
) -> None:
    assert (
        "[[fi:kotoutumissuunnitelma]]" in catalog.variants("utter_integration_plan", "uk")[0].text
    )
    assert "[[fi:työllisyysalue]]" in catalog.variants("utter_integration_plan", "sv")[0].text
    assert (
        "[[sv:integrationsutbildning]]"
        in catalog.variants("utter_integration_training", "en")[0].text
    )


def _rendered(name: str, language: str) -> tuple[str, str, str]:
    message = render_response(name, language, "example", {})
    if message.markup is None:
        return message.text, message.text, ""
    layout = parse(message.markup)
    return message.text, layout.plain_first_screen, layout.plain_more


def test_every_long_answer_has_a_short_first_screen_in_every_language(
    catalog: ContentCatalog,
) -> None:
    too_long = []
    for language in SUPPORTED_LANGUAGES:
        for name in sorted(catalog.names(language)):
            whole, first, more = _rendered(name, language)
            if len(first) > FIRST_SCREEN_CHARS or (not more and len(whole) > WHOLE_SCREEN_CHARS):
                too_long.append(f"{name} in {language}: {len(first)} of {len(whole)}")
    assert not too_long, too_long


def test_an_answer_has_a_more_in_every_language_or_in_none(catalog: ContentCatalog) -> None:
    differing = {}
    for name in sorted(catalog.names("en")):
        split = {
            language
            for language in SUPPORTED_LANGUAGES
            if any(
                line.strip() == MORE_BREAK
                for line in catalog.variants(name, language)[0].text.splitlines()
            )
        }
        if split and split != set(SUPPORTED_LANGUAGES):
            differing[name] = sorted(split)
    assert not differing, differing


def test_the_integration_plan_answer_keeps_every_word_behind_more() -> None:
    for language in SUPPORTED_LANGUAGES:
        message = render_response("utter_integration_plan", language, "example")
        assert message.markup is not None
        layout = parse(message.markup)
        assert layout.more, language
        # Nothing lost: the plain text is the two parts, and what Rasa gets carries both.
        assert message.text == f"{layout.plain_first_screen}\n{layout.plain_more}"
        assert message.as_nlg_response()["text"] == message.markup
        assert "[[" not in message.text


def test_a_text_from_rasa_keeps_its_marks_only_when_they_are_valid() -> None:
    assert from_assistant("a [[fi:x]]") == ("a x", "a [[fi:x]]")
    assert from_assistant("no marks") == ("no marks", None)
    # Somebody's own brackets in a text an action wrote stay as written.
    assert from_assistant("name [[ x") == ("name [[ x", None)


def _stored(conversation_id: str) -> list[Message]:
    with get_sessionmaker()() as session:
        return list(
            session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.id)
            )
        )


def test_the_api_gives_the_whole_plain_text_and_the_layout(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    answer = render_response("utter_integration_plan", "uk", "example")

    def as_the_nlg_endpoint_answers(body: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"recipient_id": body["sender"], **answer.as_nlg_response()}]

    fake_rasa.reply = as_the_nlg_endpoint_answers
    created = client.post("/api/v1/conversations", json={"language": "uk"}).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    url = f"/api/v1/conversations/{created['conversation_id']}/messages"
    response = client.post(url, json={"text": "Що таке план інтеграції?"}, headers=headers)
    assert response.status_code == 200, response.text
    message = response.json()["messages"][0]
    # `text` is the whole answer, plain: what any client and the coordinator read.
    assert message["text"] == answer.text
    assert "[[" not in message["text"]
    layout = message["layout"]
    first = "".join(run["text"] for run in layout["first_screen"])
    rest = "".join(run["text"] for run in layout["more"])
    assert f"{first}\n{rest}" == message["text"]
    assert {"text": "kotoutumissuunnitelma", "language": "fi"} in layout["first_screen"]
    # Kept that way: the page of messages after a reload says the same.
    again = client.get(url, headers=headers).json()["messages"]
    assert [m["layout"] for m in again if m["sender"] == "bot"] == [layout]
    stored = _stored(created["conversation_id"])
    assert stored[-1].text == answer.text and stored[-1].markup == answer.markup
    # The person's own message and a text without marks have no layout.
    assert [m["layout"] for m in again if m["sender"] == "user"] == [None]
