"""A Starlette app on a real local port, in a daemon thread: the fake Rasa and the fake
Telegram Bot API both run this way, so the code under test talks real HTTP."""

from __future__ import annotations

import threading
import time

import uvicorn
from starlette.applications import Starlette


def serve(app: Starlette, port: int, name: str) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} did not start")
        time.sleep(0.02)
    return server, thread


def shut_down(server: uvicorn.Server | None, thread: threading.Thread | None) -> None:
    if server is not None and thread is not None:
        server.should_exit = True
        thread.join(timeout=10)
