"""A small stand-in for Telegram's Bot API on a real local port.

The real python-telegram-bot client talks to it through `base_url`. It records every
call, serves `getUpdates` from a queue, and can answer the next sendMessage calls with
429 (flood control, `retry_after`) or every call with 502, as Telegram does when it is
overloaded.

It refuses what Telegram refuses, with Telegram's answers: a method it does not know
(404), a message text that is empty or longer than 4096 characters (counted in UTF-16
code units, as Telegram does), callback data over 64 bytes, a keyboard that is not one,
an unknown parse mode. Refused calls are kept in `rejected`; the tests' fixture fails a
test whose app sent Telegram anything it would refuse.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.local_server import serve, shut_down
from tests.support.system import free_port

BOT_USER = {
    "id": 4242,
    "is_bot": True,
    "first_name": "Lotsen",
    "username": "lotsen_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    # The bot token the call came with (one fake serves several bots).
    token: str = ""


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-fake-token"
    # More bots this fake answers for (one installation, a bot per municipality).
    other_tokens: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    calls: list[Call] = field(default_factory=list)
    # Calls answered with an error instead of being served (outage, flood control).
    refused: list[Call] = field(default_factory=list)
    # Calls Telegram would refuse as malformed (400/404), with the reason.
    rejected: list[tuple[Call, str]] = field(default_factory=list)
    down: bool = False
    # Chats whose person blocked the bot: Telegram answers 403 to every message to them.
    blocked_chats: set[int] = field(default_factory=set)
    # Messages whose text contains the key fail with a 500 that many more times.
    failing_texts: dict[str, int] = field(default_factory=dict)
    flood_waits: int = 0
    retry_after: int = 1
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _message_ids: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def push_update(self, update: dict[str, Any]) -> None:
        with self._lock:
            self._updates.append(update)

    def made(self, method: str) -> list[dict[str, Any]]:
        return [call.params for call in list(self.calls) if call.method == method]

    def sent(self, chat_id: int, token: str | None = None) -> list[dict[str, Any]]:
        """Messages sent into the chat (by the bot with `token`, if given)."""
        return [
            call.params
            for call in list(self.calls)
            if call.method == "sendMessage"
            and str(call.params.get("chat_id")) == str(chat_id)
            and (token is None or call.token == token)
        ]

    def _app(self) -> Starlette:
        async def method(request: Request) -> JSONResponse:
            token = request.path_params["token"]
            if token != self.token and token not in self.other_tokens:
                return _error(401, "Unauthorized")
            name = request.path_params["method"]
            params = await _params(request)
            call = Call(name, params, token)
            problem = _problem(name, params)
            if problem is not None:
                status, description = problem
                self.rejected.append((call, description))
                return _error(status, description)
            if self.down:
                self.refused.append(call)
                return _error(502, "Bad Gateway")
            if name == "sendMessage" and _int(params.get("chat_id")) in self.blocked_chats:
                self.refused.append(call)
                return _error(403, "Forbidden: bot was blocked by the user")
            if name == "sendMessage":
                for key, times in self.failing_texts.items():
                    if times > 0 and key in str(params.get("text", "")):
                        self.failing_texts[key] = times - 1
                        self.refused.append(call)
                        return _error(500, "Internal Server Error")
            if name == "sendMessage" and self.flood_waits > 0:
                self.flood_waits -= 1
                self.refused.append(call)
                return _error(
                    429,
                    f"Too Many Requests: retry after {self.retry_after}",
                    parameters={"retry_after": self.retry_after},
                )
            if name != "getUpdates":
                self.calls.append(call)
            return JSONResponse({"ok": True, "result": await self._result(name, params)})

        return Starlette(routes=[Route("/bot{token}/{method}", method, methods=["GET", "POST"])])

    async def _result(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return BOT_USER
        if name == "sendMessage":
            self._message_ids += 1
            return {
                "message_id": self._message_ids,
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
        if name == "getUpdates":
            return await self._updates_after(int(params.get("offset") or 0))
        return True

    async def _updates_after(self, offset: int) -> list[dict[str, Any]]:
        # Long polling, shortened: hold the call a moment while there is nothing to serve.
        deadline = time.monotonic() + 0.5
        while True:
            with self._lock:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                if self._updates or time.monotonic() > deadline:
                    return list(self._updates)
            await asyncio.sleep(0.02)

    def start(self) -> None:
        self._server, self._thread = serve(self._app(), self.port, "fake Telegram")

    def stop(self) -> None:
        shut_down(self._server, self._thread)
        self._server = None
        self._thread = None


# The Bot API methods Lotsen uses, and the ones a python-telegram-bot Application calls
# on its own; any other name gets Telegram's 404.
KNOWN_METHODS = frozenset(
    {
        "getMe",
        "getUpdates",
        "setWebhook",
        "deleteWebhook",
        "getWebhookInfo",
        "sendMessage",
        "sendChatAction",
        "answerCallbackQuery",
        "editMessageReplyMarkup",
        "editMessageText",
        "setMyCommands",
        "deleteMyCommands",
        "close",
        "logOut",
    }
)
MAX_TEXT_UTF16 = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_CHARS = 200
PARSE_MODES = frozenset({"HTML", "Markdown", "MarkdownV2"})
CHAT_ACTIONS = frozenset({"typing", "upload_photo", "record_voice", "upload_document"})
BAD_MARKUP = "Bad Request: can't parse reply keyboard markup JSON object"


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _problem(name: str, params: dict[str, Any]) -> tuple[int, str] | None:
    """What Telegram would answer instead of serving the call, if anything."""
    if name not in KNOWN_METHODS:
        return 404, "Not Found"
    if (
        name in ("sendMessage", "sendChatAction", "editMessageText")
        and not str(params.get("chat_id", "")).lstrip("-").isdigit()
    ):
        if name != "editMessageText" or "inline_message_id" not in params:
            return 400, "Bad Request: chat not found"
    if name in ("sendMessage", "editMessageText"):
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            return 400, "Bad Request: message text is empty"
        if utf16_length(text) > MAX_TEXT_UTF16:
            return 400, "Bad Request: message is too long"
    if "parse_mode" in params and params["parse_mode"] not in PARSE_MODES:
        return 400, f"Bad Request: unsupported parse_mode: {params['parse_mode']}"
    if name == "sendChatAction" and params.get("action") not in CHAT_ACTIONS:
        return 400, "Bad Request: wrong parameter action in request"
    if name == "answerCallbackQuery":
        if not params.get("callback_query_id"):
            return (
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if len(str(params.get("text", ""))) > MAX_CALLBACK_ANSWER_CHARS:
            return 400, "Bad Request: MESSAGE_TOO_LONG"
    if "reply_markup" in params:
        return _markup_problem(params["reply_markup"])
    return None


def _markup_problem(markup: Any) -> tuple[int, str] | None:
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            return 400, BAD_MARKUP
    if not isinstance(markup, dict):
        return 400, BAD_MARKUP
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            return (
                400,
                'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be '
                "an Array of Arrays",
            )
        for button in (button for row in rows for button in row):
            if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                return 400, "Bad Request: text buttons are unallowed in the inline keyboard"
            actions = [key for key in ("callback_data", "url") if key in button]
            if len(actions) != 1:
                return 400, 'Bad Request: can\'t find field "callback_data"'
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                return 400, "Bad Request: BUTTON_DATA_INVALID"
        return None
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) and row for row in rows):
            return 400, BAD_MARKUP
        return None
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return None
    return 400, BAD_MARKUP


def _error(status: int, description: str, **extra: Any) -> JSONResponse:
    body = {"ok": False, "error_code": status, "description": description, **extra}
    return JSONResponse(body, status_code=status)


async def _params(request: Request) -> dict[str, Any]:
    """python-telegram-bot posts form fields whose values are JSON (or plain strings)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.json()
        return dict(body) if isinstance(body, dict) else {}
    # Form-encoded (no python-multipart here: parsed by hand).
    fields = parse_qsl((await request.body()).decode(), keep_blank_values=True)
    return {key: json.loads(value) if value[:1] in ("{", "[") else value for key, value in fields}
