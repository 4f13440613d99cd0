"""Liveness and readiness: is this process alive, and can it reach what it needs."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.db import get_engine
from bot.runtime import get_settings

CHECK_TIMEOUT_SECONDS = 3.0


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _check_rasa(http: httpx.AsyncClient) -> str:
    settings = get_settings()
    try:
        response = await http.get(
            settings.rasa_url.rstrip("/") + "/status",
            params={"token": settings.rasa_api_token},
            timeout=CHECK_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError:
        return "unreachable"
    if response.status_code != httpx.codes.OK:
        return f"error {response.status_code}"
    return "ok" if response.json().get("model_file") else "no model loaded"


async def _check_action_server(http: httpx.AsyncClient) -> str:
    try:
        response = await http.get(
            get_settings().action_server_url.rstrip("/") + "/health",
            timeout=CHECK_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError:
        return "unreachable"
    return "ok" if response.status_code == httpx.codes.OK else f"error {response.status_code}"


def _ping_database() -> str:
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        return f"error {type(error).__name__}"
    return "ok"


async def readyz(request: Request) -> JSONResponse:
    http: httpx.AsyncClient = request.app.state.http
    rasa, actions, database = await asyncio.gather(
        _check_rasa(http),
        _check_action_server(http),
        asyncio.wait_for(asyncio.to_thread(_ping_database), CHECK_TIMEOUT_SECONDS * 2),
    )
    checks = {"rasa": rasa, "action_server": actions, "database": database}
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
