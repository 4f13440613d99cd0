"""Rasa's NLG endpoint (endpoints.yml `nlg:`): Rasa posts every `utter_*` here."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.nlg.render import render_response
from bot.settings import get_settings


def language_of_turn(body: dict[str, Any]) -> str | None:
    """The language this answer is for.

    An action that changes the language passes it as an argument, because the gateway's
    metadata still carries the old one for the rest of this turn.
    """
    arguments = body.get("arguments") or {}
    if isinstance(arguments.get("language"), str):
        return str(arguments["language"])
    metadata = _latest_metadata(body)
    language = metadata.get("language")
    return language if isinstance(language, str) else None


def _latest_metadata(body: dict[str, Any]) -> dict[str, Any]:
    tracker = body.get("tracker") or {}
    latest = tracker.get("latest_message") or {}
    metadata = latest.get("metadata") or {}
    return metadata if isinstance(metadata, dict) else {}


async def nlg_endpoint(request: Request) -> JSONResponse:
    settings = get_settings()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), settings.nlg_token.encode()
    ):
        return JSONResponse({"error": {"code": "unauthorized"}}, status_code=401)
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"error": {"code": "invalid_json"}}, status_code=400)
    name = body.get("response") if isinstance(body, dict) else None
    if not isinstance(name, str):
        return JSONResponse({"error": {"code": "missing_response_name"}}, status_code=400)
    language = language_of_turn(body) or settings.lotsen_default_language
    municipality = _latest_metadata(body).get("municipality")
    arguments = body.get("arguments") or {}
    # Content is read from disk on first use; keep that off the event loop.
    message = await asyncio.to_thread(
        render_response,
        name,
        language,
        municipality if isinstance(municipality, str) else None,
        arguments,
    )
    return JSONResponse(message.as_nlg_response())
