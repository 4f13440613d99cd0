"""Live updates of the coordinator app's open pages: a server-sent event whenever the
state behind the page changes, read every 1.5 s in a worker thread (the stream itself is
bot/http/sse.py's, shared with the widget)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable

from starlette.responses import Response

from bot.http.sse import Event, event_stream, event_stream_response

LIVE_INTERVAL_SECONDS = 1.5
HEARTBEAT_SECONDS = 15.0
# A stream ends after this long and the browser reconnects at once (EventSource does):
# the session is checked again, and no connection outlives a shutdown by much.
STREAM_MAX_SECONDS = 600.0
RECONNECT_MILLISECONDS = 3000


async def _versions(version: Callable[[], str]) -> AsyncGenerator[Event | None, None]:
    """A `change` event whenever the version differs from the one sent before. The first
    comes at once: whatever changed between rendering the page and (re)connecting the
    stream is fetched then, never missed."""
    last = None
    while True:
        current = await asyncio.to_thread(version)
        if current != last:
            last = current
            yield Event("change", current)
        yield None


async def _changes(version: Callable[[], str]) -> AsyncIterator[bytes]:
    stream = event_stream(
        _versions(version),
        pause_seconds=LIVE_INTERVAL_SECONDS,
        heartbeat_seconds=HEARTBEAT_SECONDS,
        max_seconds=STREAM_MAX_SECONDS,
        retry_ms=RECONNECT_MILLISECONDS,
    )
    async for chunk in stream:
        yield chunk.encode()


def stream(version: Callable[[], str]) -> Response:
    """The event stream of a page whose state `version` names (synchronous: it reads the
    database)."""
    return event_stream_response(_changes(version))
