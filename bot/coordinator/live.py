"""Live updates of the coordinator app's open pages: a server-sent event whenever the
state behind the page changes, read every 1.5 s in a worker thread."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from starlette.responses import Response, StreamingResponse

LIVE_INTERVAL_SECONDS = 1.5
HEARTBEAT_SECONDS = 15.0
# A stream ends after this long and the browser reconnects at once (EventSource does):
# the session is checked again, and no connection outlives a shutdown by much.
STREAM_MAX_SECONDS = 600.0


async def _changes(version: Callable[[], str]) -> AsyncIterator[bytes]:
    """A server-sent event each time `version` changes, and a comment now and then so
    proxies keep the stream open. The version is read in a worker thread. The first event
    comes at once: whatever changed between rendering the page and (re)connecting the
    stream is fetched then, never missed."""
    last = None
    quiet = elapsed = 0.0
    yield b"retry: 3000\n\n"
    while elapsed < STREAM_MAX_SECONDS:
        current = await asyncio.to_thread(version)
        if current != last:
            yield b"event: change\ndata: " + current.encode() + b"\n\n"
            last = current
            quiet = 0.0
        elif quiet >= HEARTBEAT_SECONDS:
            yield b": keep-alive\n\n"
            quiet = 0.0
        await asyncio.sleep(LIVE_INTERVAL_SECONDS)
        quiet += LIVE_INTERVAL_SECONDS
        elapsed += LIVE_INTERVAL_SECONDS


def stream(version: Callable[[], str]) -> Response:
    """The event stream of a page whose state `version` names (synchronous: it reads the
    database)."""
    return StreamingResponse(
        _changes(version),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
