"""The widget's event stream: coordinator replies, reminders and state changes reach the
open page as server-sent events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from bot.channels.api import (
    authorised,
    client_address_key,
    enforce_limit,
    rate_limits,
)
from bot.channels.widget.store import WidgetStore
from bot.conversations.store import ConversationStore
from bot.http.errors import ApiError
from bot.http.sse import Event, event_stream, event_stream_response
from bot.runtime import get_settings
from bot.shared_state import StreamSlot, StreamSlots

MAX_PAGE = 200
# Open streams one conversation may hold (a few tabs); each one polls the database.
MAX_STREAMS_PER_CONVERSATION = 3
# A stream ends after this long and the widget reconnects with its cursor, so the token is
# checked again now and then and no connection lives forever behind a proxy.
STREAM_MAX_SECONDS = 600.0


async def conversation_events(request: Request) -> StreamingResponse:
    """Server-sent events: `state` ({state, language}) first and on every change,
    `messages` ({messages, cursor}) for every message after the cursor, `gone` when the
    conversation was deleted, and a comment line as heartbeat. The token comes in the
    Authorization header, never in the URL: the widget reads the stream with fetch(), since
    EventSource cannot send headers. The cursor: `?after=` or the Last-Event-ID header."""
    limits = rate_limits(request)
    # Per address before anything is read; per conversation once its token is checked.
    await enforce_limit(limits.address_streams, client_address_key(request), None)
    conversation = await authorised(request)
    await enforce_limit(limits.conversation_streams, conversation.id, conversation.language)
    raw_cursor = request.query_params.get("after") or request.headers.get("last-event-id") or "0"
    if not raw_cursor.isdigit():
        raise ApiError(422, "invalid_cursor", "after must be a cursor from this API.")
    # Counted across every app process when they share Redis (bot/shared_state.py).
    slots: StreamSlots = request.app.state.shared.stream_slots
    slot = await slots.acquire(conversation.id, MAX_STREAMS_PER_CONVERSATION)
    if slot is None:
        raise ApiError(429, "too_many_streams", "Too many open event streams.")
    settings = get_settings()
    changes = _changes(
        request.app.state.widget_store, request.app.state.store, conversation.id, int(raw_cursor)
    )
    stream = event_stream(
        changes,
        pause_seconds=settings.widget_events_poll_seconds,
        heartbeat_seconds=settings.widget_events_heartbeat_seconds,
        max_seconds=STREAM_MAX_SECONDS,
    )
    return event_stream_response(_counted(slots, slot, stream))


async def _counted(
    slots: StreamSlots, slot: StreamSlot, stream: AsyncIterator[str]
) -> AsyncIterator[str]:
    """The stream, holding its slot while it is open (renewed with every chunk: the
    heartbeat comes at least every WIDGET_EVENTS_HEARTBEAT_SECONDS)."""
    try:
        async for chunk in stream:
            await slots.renew(slot)
            yield chunk
    finally:
        await slots.release(slot)


async def _changes(
    store: WidgetStore, conversations: ConversationStore, conversation_id: str, cursor: int
) -> AsyncGenerator[Event | None, None]:
    """What changed in the conversation since the last look; None after each look that
    found everything sent (the stream pauses then)."""
    shown: tuple[str, str] | None = None
    while True:
        poll = await asyncio.to_thread(store.poll, conversation_id, cursor, MAX_PAGE)
        if poll is None:
            yield Event.json("gone", {})
            return
        if (poll.state, poll.language) != shown:
            shown = (poll.state, poll.language)
            yield Event.json("state", {"state": poll.state, "language": poll.language})
        if poll.messages:
            cursor = poll.messages[-1].id
            messages = [message.as_json() for message in poll.messages]
            yield Event.json("messages", {"messages": messages, "cursor": cursor}, cursor)
            if poll.has_pending:
                await asyncio.to_thread(conversations.mark_delivered_up_to, conversation_id, cursor)
            if len(poll.messages) == MAX_PAGE:
                continue  # more are waiting: no pause
        yield None


routes = [
    Route("/api/v1/conversations/{conversation_id}/events", conversation_events, methods=["GET"]),
]
