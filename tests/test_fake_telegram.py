"""The fake Telegram Bot API refuses what Telegram refuses, so a test cannot pass on a call
the real Telegram would reject."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.fake_telegram import FakeTelegram


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    fake.start()
    yield fake
    fake.stop()


def call(telegram: FakeTelegram, method: str, **params: Any) -> httpx.Response:
    fields = {k: json.dumps(v) if isinstance(v, dict | list) else str(v) for k, v in params.items()}
    return httpx.post(f"{telegram.url}/bot{telegram.token}/{method}", data=fields, timeout=5)


def button(data: str) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": "Ja", "callback_data": data}]]}


def test_what_telegram_accepts_is_served(telegram: FakeTelegram) -> None:
    assert call(telegram, "sendMessage", chat_id=1, text="x" * 4096).json()["ok"]
    # 2048 emoji are 4096 UTF-16 code units: the most Telegram takes.
    assert call(telegram, "sendMessage", chat_id=1, text="🙂" * 2048).json()["ok"]
    assert call(
        telegram, "sendMessage", chat_id=1, text="Hej", reply_markup=button("b" * 64)
    ).json()["ok"]
    assert call(telegram, "sendChatAction", chat_id=1, action="typing").json()["ok"]
    assert call(telegram, "answerCallbackQuery", callback_query_id="7").json()["ok"]


@pytest.mark.parametrize(
    ("method", "params", "status", "description"),
    [
        ("sendMesage", {"chat_id": 1, "text": "typo in the method"}, 404, "Not Found"),
        ("sendMessage", {"chat_id": 1, "text": "x" * 4097}, 400, "message is too long"),
        ("sendMessage", {"chat_id": 1, "text": "🙂" * 2049}, 400, "message is too long"),
        ("sendMessage", {"chat_id": 1, "text": "  "}, 400, "message text is empty"),
        ("sendMessage", {"text": "no chat"}, 400, "chat not found"),
        ("sendMessage", {"chat_id": 1, "text": "x", "parse_mode": "html5"}, 400, "parse_mode"),
        (
            "sendMessage",
            {"chat_id": 1, "text": "x", "reply_markup": button("b" * 65)},
            400,
            "BUTTON_DATA_INVALID",
        ),
        (
            "sendMessage",
            {"chat_id": 1, "text": "x", "reply_markup": button("ä" * 33)},
            400,
            "BUTTON_DATA_INVALID",
        ),
        (
            "sendMessage",
            {"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": [{"text": "a"}]}},
            400,
            "Array of Arrays",
        ),
        (
            "sendMessage",
            {"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": [[{"text": "a"}]]}},
            400,
            "callback_data",
        ),
        (
            "sendMessage",
            {"chat_id": 1, "text": "x", "reply_markup": {"buttons": []}},
            400,
            "markup",
        ),
        ("sendChatAction", {"chat_id": 1, "action": "dancing"}, 400, "action"),
        ("answerCallbackQuery", {"callback_query_id": "7", "text": "x" * 201}, 400, "TOO_LONG"),
    ],
)
def test_what_telegram_refuses_is_refused(
    telegram: FakeTelegram, method: str, params: dict[str, Any], status: int, description: str
) -> None:
    before = len(telegram.calls)
    response = call(telegram, method, **params)
    assert response.status_code == status
    assert response.json()["ok"] is False
    assert description in response.json()["description"]
    assert len(telegram.calls) == before
    assert telegram.rejected[-1][1] == response.json()["description"]
    telegram.rejected.clear()
