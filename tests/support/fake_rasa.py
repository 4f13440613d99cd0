"""A stand-in for Rasa's REST channel on a real local port, for the gateway's own tests.

It records what reached it, and what the gateway had stored at that moment, so a test
can prove the store-before-forward order. It can be switched down (connection refused)
and up again. The integration tests use the real Rasa.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.local_server import serve, shut_down
from tests.support.system import free_port

Reply = Callable[[dict[str, Any]], list[dict[str, Any]]]


def echo(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "recipient_id": body["sender"],
            "text": f"echo ({body['metadata']['language']}): {body['message']}",
            "buttons": [{"title": "Plan", "payload": "/ask_integration_plan"}],
        }
    ]


@dataclass
class FakeRasa:
    on_receive: Callable[[dict[str, Any]], None] | None = None
    reply: Reply = echo
    port: int = field(default_factory=free_port)
    received: list[dict[str, Any]] = field(default_factory=list)
    # Events appended to trackers through Rasa's HTTP API (the handoff's `resume`).
    tracker_events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _app(self) -> Starlette:
        async def webhook(request: Request) -> JSONResponse:
            body = await request.json()
            self.received.append(body)
            if self.on_receive is not None:
                self.on_receive(body)
            return JSONResponse(self.reply(body))

        async def status(_request: Request) -> JSONResponse:
            return JSONResponse({"model_file": "fake.tar.gz"})

        async def tracker_events(request: Request) -> JSONResponse:
            self.tracker_events.append((request.path_params["sender"], await request.json()))
            return JSONResponse({"sender_id": request.path_params["sender"]})

        return Starlette(
            routes=[
                Route("/webhooks/rest/webhook", webhook, methods=["POST"]),
                Route("/status", status),
                Route("/conversations/{sender}/tracker/events", tracker_events, methods=["POST"]),
            ]
        )

    def start(self) -> None:
        self._server, self._thread = serve(self._app(), self.port, "fake Rasa")

    def stop(self) -> None:
        shut_down(self._server, self._thread)
        self._server = None
        self._thread = None
