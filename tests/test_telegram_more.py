"""A long answer in Telegram: the first screen with an inline "More" button that sends the
rest; official terms as plain text. Against the fake Bot API and a stand-in Rasa that
answers as the NLG endpoint does (the real content, marks and all)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from bot.nlg.markup import parse
from bot.nlg.render import render_response
from tests.support.fake_rasa import FakeRasa
from tests.support.fake_telegram import FakeTelegram
from tests.test_telegram import (  # noqa: F401 - the fixtures
    app,
    callback_data,
    callback_update,
    fake_telegram,
    message_update,
    messages_of,
    post,
    wait_for,
)


def test_a_long_answer_shows_its_first_screen_and_more_sends_the_rest(
    app: TestClient,  # noqa: F811
    fake_telegram: FakeTelegram,  # noqa: F811
    fake_rasa: FakeRasa,
) -> None:
    answer = render_response("utter_integration_plan", "sv", "example")
    assert answer.markup is not None
    layout = parse(answer.markup)

    def as_the_nlg_endpoint_answers(body: dict[str, Any]) -> list[dict[str, Any]]:
        return [answer.as_nlg_response()]

    fake_rasa.reply = as_the_nlg_endpoint_answers
    post(app, message_update(900, 950, "sv", text="Vad är en integrationsplan?"))
    (first,) = wait_for(lambda: fake_telegram.sent(950), "the answer")
    # The first screen, as plain text: the Finnish term without its mark.
    assert first["text"] == layout.plain_first_screen
    assert "työllisyysalue" in answer.text and "[[" not in first["text"]
    data = callback_data(first)
    more_title = render_response("utter_telegram_more", "sv").text
    assert first["reply_markup"]["inline_keyboard"][0][0]["text"] == more_title
    assert data[0].startswith("m:") and len(data) == 1 + len(answer.buttons)
    # The whole answer is stored as one message (the coordinator reads all of it).
    wait_for(lambda: messages_of(950)[-1].status == "sent", "the answer marked sent")
    assert messages_of(950)[-1].text == answer.text

    received = len(fake_rasa.received)
    post(app, callback_update(901, 950, data[0], "sv"))
    rest = wait_for(lambda: fake_telegram.sent(950)[1:], "the rest")
    assert [part["text"] for part in rest] == [layout.plain_more]
    assert "[[" not in rest[0]["text"]
    # No turn: Rasa is not asked, nothing new is stored.
    assert len(fake_rasa.received) == received
    assert len(messages_of(950)) == 2


def test_more_of_another_chats_answer_sends_nothing(
    app: TestClient,  # noqa: F811
    fake_telegram: FakeTelegram,  # noqa: F811
    fake_rasa: FakeRasa,
) -> None:
    answer = render_response("utter_integration_plan", "en", "example")
    fake_rasa.reply = lambda body: [answer.as_nlg_response()]
    post(app, message_update(910, 951, "en", text="What is the integration plan?"))
    (first,) = wait_for(lambda: fake_telegram.sent(951), "the answer")
    theirs = callback_data(first)[0]
    post(app, message_update(911, 952, "sv", text="hej"))
    wait_for(lambda: fake_telegram.sent(952), "the other chat's answer")
    post(app, callback_update(912, 952, theirs, "sv"))
    (acknowledged,) = wait_for(lambda: fake_telegram.made("answerCallbackQuery"), "the answer")
    assert "knappen" in acknowledged["text"]
    assert len(fake_telegram.sent(952)) == 1
