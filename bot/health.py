"""Liveness and readiness for a load balancer, and the components' status for operators.

`/healthz`: the process answers. `/readyz`: this replica can serve, which needs only its
database: with Rasa or the action server down it still stores every message, answers with
the polite "try again shortly" and serves the coordinator app, so a load balancer must keep
it in rotation. Whether Rasa (with a model) and the action server answer is shown only to
the host itself (loopback: its monitoring, an operator's curl), in `checks` with
`degraded`; callers from elsewhere learn ready or not and nothing more."""

from __future__ import annotations

import asyncio
import ipaddress

import httpx
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.db import get_engine
from bot.http.client_address import client_ip, network_key
from bot.http.ratelimit import RateLimits, retry_after_header
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


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


async def readyz(request: Request) -> JSONResponse:
    """200 while the database answers, else 503. The host itself also gets every
    component's status (`checks`, and `degraded` when Rasa or the action server is down);
    callers other than the host are limited per address and never make this process call
    Rasa or the action server."""
    address = client_ip(request)
    local = _is_loopback(address)
    if not local:
        limits: RateLimits = request.app.state.rate_limits
        wait = await limits.address_readiness.hit(network_key(address))
        if wait is not None:
            return JSONResponse(
                {"error": {"code": "rate_limited", "message": "Too many readiness checks."}},
                status_code=429,
                headers={"Retry-After": retry_after_header(wait)},
            )
    database_check = asyncio.wait_for(asyncio.to_thread(_ping_database), CHECK_TIMEOUT_SECONDS * 2)
    if not local:
        try:
            database = await database_check
        except TimeoutError:
            database = "timeout"
        ready = database == "ok"
        return JSONResponse(
            {"status": "ready" if ready else "not ready"}, status_code=200 if ready else 503
        )
    http: httpx.AsyncClient = request.app.state.http
    rasa, actions, database_result = await asyncio.gather(
        _check_rasa(http), _check_action_server(http), database_check, return_exceptions=True
    )
    database = database_result if isinstance(database_result, str) else "timeout"
    checks = {
        "rasa": rasa if isinstance(rasa, str) else "error",
        "action_server": actions if isinstance(actions, str) else "error",
        "database": database,
    }
    ready = database == "ok"
    body: dict[str, object] = {
        "status": "ready" if ready else "not ready",
        "degraded": ready and any(value != "ok" for value in checks.values()),
        "checks": checks,
    }
    return JSONResponse(body, status_code=200 if ready else 503)
