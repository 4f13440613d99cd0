"""The web widget's own endpoints: its settings for a municipality, and the event stream
that brings coordinator replies, reminders and state changes to the open page."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from bot.channels.web_store import WebStore
from bot.conversations.api import authorised
from bot.http.errors import ApiError
from bot.language import SUPPORTED_LANGUAGES, is_supported, language_name
from bot.municipality import UnknownMunicipalityError, get_municipality
from bot.settings import get_settings
from bot.translation.languages import reachable_translated_languages

MAX_PAGE = 200
# Open streams one conversation may hold (a few tabs); each one polls the database.
MAX_STREAMS_PER_CONVERSATION = 3
# A stream ends after this long and the widget reconnects with its cursor, so the token is
# checked again now and then and no connection lives forever behind a proxy.
STREAM_MAX_SECONDS = 600.0
# Municipality settings the widget may show; the rest (phone numbers and so on) reach the
# person only through the assistant's answers.
PUBLIC_MUNICIPALITY_KEYS = ("municipality_name", "privacy_url")


async def widget_config(request: Request) -> JSONResponse:
    settings = get_settings()
    translated = await asyncio.to_thread(reachable_translated_languages)
    language = request.query_params.get("language", settings.lotsen_default_language)
    if not is_supported(language) and language not in translated:
        language = settings.lotsen_default_language
    try:
        municipality = get_municipality(request.query_params.get("municipality") or None)
    except UnknownMunicipalityError as error:
        raise ApiError(404, "unknown_municipality", "No such municipality.") from error
    variables = municipality.variables(language)
    return JSONResponse(
        {
            "municipality": municipality.id,
            "language": language,
            "languages": list(SUPPORTED_LANGUAGES),
            # Reached through machine translation: the packages installed on the server.
            "translated_languages": [
                {"code": code, "name": language_name(code)} for code in translated
            ],
            "max_message_chars": settings.lotsen_max_message_chars,
            **{key: variables.get(key) for key in PUBLIC_MUNICIPALITY_KEYS},
        },
        headers={"Cache-Control": "public, max-age=300"},
    )


def _event(name: str, data: dict[str, Any], event_id: int | None = None) -> str:
    lines = [f"event: {name}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    # json.dumps never writes a newline, so one data line holds the whole event.
    lines.append(f"data: {json.dumps(data, ensure_ascii=False)}")
    return "\n".join(lines) + "\n\n"


async def conversation_events(request: Request) -> StreamingResponse:
    """Server-sent events: `state` ({state, language}) first and on every change,
    `messages` ({messages, cursor}) for every message after the cursor, `gone` when the
    conversation was deleted, and a comment line as heartbeat. The token comes in the
    Authorization header, never in the URL: the widget reads the stream with fetch(), since
    EventSource cannot send headers. The cursor: `?after=` or the Last-Event-ID header."""
    conversation = await authorised(request)
    raw_cursor = request.query_params.get("after") or request.headers.get("last-event-id") or "0"
    if not raw_cursor.isdigit():
        raise ApiError(422, "invalid_cursor", "after must be a cursor from this API.")
    store: WebStore = request.app.state.web_store
    open_streams: Counter[str] = request.app.state.open_streams
    if open_streams[conversation.id] >= MAX_STREAMS_PER_CONVERSATION:
        raise ApiError(429, "too_many_streams", "Too many open event streams.")
    settings = get_settings()
    stream = _counted(
        open_streams,
        conversation.id,
        _stream(
            store,
            conversation.id,
            int(raw_cursor),
            settings.widget_events_poll_seconds,
            settings.widget_events_heartbeat_seconds,
        ),
    )
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        # X-Accel-Buffering: nginx would otherwise hold events back in its buffer.
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _counted(
    open_streams: Counter[str], conversation_id: str, stream: AsyncIterator[str]
) -> AsyncIterator[str]:
    open_streams[conversation_id] += 1
    try:
        async for chunk in stream:
            yield chunk
    finally:
        open_streams[conversation_id] -= 1
        if open_streams[conversation_id] <= 0:
            del open_streams[conversation_id]


async def _stream(
    store: WebStore, conversation_id: str, cursor: int, interval: float, heartbeat: float
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    started = last_written = loop.time()
    shown: tuple[str, str] | None = None
    # Sent at once so the browser sees the stream open before the first poll.
    yield ": open\n\n"
    while loop.time() - started < STREAM_MAX_SECONDS:
        poll = await asyncio.to_thread(store.poll, conversation_id, cursor, MAX_PAGE)
        if poll is None:
            yield _event("gone", {})
            return
        if (poll.state, poll.language) != shown:
            shown = (poll.state, poll.language)
            yield _event("state", {"state": poll.state, "language": poll.language})
            last_written = loop.time()
        if poll.messages:
            cursor = poll.messages[-1].id
            messages = [message.as_json() for message in poll.messages]
            yield _event("messages", {"messages": messages, "cursor": cursor}, cursor)
            last_written = loop.time()
            if poll.has_pending:
                await asyncio.to_thread(store.mark_delivered, conversation_id, cursor)
            if len(poll.messages) == MAX_PAGE:
                continue  # more are waiting: no pause
        elif loop.time() - last_written >= heartbeat:
            yield ": heartbeat\n\n"
            last_written = loop.time()
        await asyncio.sleep(interval)


routes = [
    Route("/api/v1/widget/config", widget_config, methods=["GET"]),
    Route("/api/v1/conversations/{conversation_id}/events", conversation_events, methods=["GET"]),
]
