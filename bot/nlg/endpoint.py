"""Rasa's NLG endpoint (endpoints.yml `nlg:`): Rasa posts every `utter_*` here."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.db import get_sessionmaker
from bot.db.models import utcnow
from bot.http.shared_secret import bearer_token, secret_matches
from bot.language import SUPPORTED_LANGUAGES, language_name
from bot.nlg.content import RenderedMessage, get_catalog
from bot.nlg.intents import recognised_intent, record_intent
from bot.nlg.origin import RESPONSE_KEY, Origin, renderable
from bot.nlg.render import MISSING_RESPONSE_FALLBACK, message_context, render_response
from bot.runtime import get_settings
from bot.translation.languages import reachable_translated_languages

# The language menu: besides the four written languages (its buttons in the content), the
# translated languages whose packages are installed, each by its own name.
LANGUAGE_MENU = "utter_choose_language"

logger = logging.getLogger(__name__)


def language_button(code: str) -> dict[str, str]:
    """The menu's button for a language: the same intent and entity as the content's."""
    return {
        "title": language_name(code),
        "payload": f"/choose_language{json.dumps({'language': code})}",
    }


def _render(
    name: str, language: str | None, municipality: str | None, arguments: dict[str, Any]
) -> tuple[RenderedMessage, str]:
    """The message, and the name of the content it was rendered from (the fallback answer's
    for a name the content does not have)."""
    message = render_response(name, language, municipality, arguments)
    if name == LANGUAGE_MENU:
        message.buttons.extend(language_button(code) for code in reachable_translated_languages())
    catalog = get_catalog()
    known = any(name in catalog.names(code) for code in SUPPORTED_LANGUAGES)
    return message, name if known else MISSING_RESPONSE_FALLBACK


def _latest_message(body: dict[str, Any]) -> dict[str, Any] | None:
    tracker = body.get("tracker")
    latest = tracker.get("latest_message") if isinstance(tracker, dict) else None
    return latest if isinstance(latest, dict) else None


async def nlg_endpoint(request: Request) -> JSONResponse:
    settings = get_settings()
    token = bearer_token(request.headers.get("authorization"))
    if not secret_matches(settings.nlg_token, token):
        return JSONResponse({"error": {"code": "unauthorized"}}, status_code=401)
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"error": {"code": "invalid_json"}}, status_code=400)
    name = body.get("response") if isinstance(body, dict) else None
    if not isinstance(name, str):
        return JSONResponse({"error": {"code": "missing_response_name"}}, status_code=400)
    recognised = recognised_intent(body)
    language, municipality = message_context(_latest_message(body))
    arguments = body.get("arguments") or {}
    # An action that changes the language passes it as an argument, because the gateway's
    # metadata still carries the old one for the rest of this turn.
    if isinstance(arguments, dict) and isinstance(arguments.get("language"), str):
        language = arguments["language"]
    # Content and package metadata are read from disk on first use: off the event loop.
    message, rendered_from = await asyncio.to_thread(
        _render, name, language, municipality, arguments
    )
    # Which content this is, for the coordinator's reading of it (bot/nlg/origin.py).
    origin = Origin(rendered_from, renderable(arguments if isinstance(arguments, dict) else None))
    # The intent is for the statistics: it is written after the answer has gone, so Rasa
    # (and the person waiting for this turn) never waits for that database write.
    background = (
        None if recognised is None else BackgroundTask(_record_intent, *recognised, utcnow())
    )
    return JSONResponse(
        {**message.as_nlg_response(), RESPONSE_KEY: origin.as_json()}, background=background
    )


async def _record_intent(conversation_id: str, intent: str, asked_at: datetime) -> None:
    try:
        await asyncio.to_thread(
            record_intent, get_sessionmaker(), conversation_id, intent, asked_at
        )
    except Exception:
        # The statistics must never cost the person their answer.
        logger.exception("could not record the recognised intent")
