"""A small stand-in for Telegram's Bot API on a real local port.

The real python-telegram-bot client talks to it through `base_url`. It records every
call, serves `getUpdates` from a queue, and can answer the next sendMessage calls with
429 (flood control, `retry_after`) or every call with 502, as Telegram does when it is
overloaded.
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


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-fake-token"
    port: int = field(default_factory=free_port)
    calls: list[Call] = field(default_factory=list)
    # Calls answered with an error instead of being served.
    refused: list[Call] = field(default_factory=list)
    down: bool = False
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

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        return [p for p in self.made("sendMessage") if str(p.get("chat_id")) == str(chat_id)]

    def _app(self) -> Starlette:
        async def method(request: Request) -> JSONResponse:
            if request.path_params["token"] != self.token:
                return _error(401, "Unauthorized")
            name = request.path_params["method"]
            params = await _params(request)
            call = Call(name, params)
            if self.down:
                self.refused.append(call)
                return _error(502, "Bad Gateway")
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
