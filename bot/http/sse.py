"""Server-sent events: a stream of named events (with ids, so a client can resume with
Last-Event-ID), a heartbeat comment after quiet seconds so proxies keep the idle
connection open, and an end after a maximum duration: the client reconnects, so its
credentials are checked again and no connection lives forever behind a proxy."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import StreamingResponse

HEARTBEAT = ": heartbeat\n\n"
# The line ends the event-stream format knows; each line of data needs its own field.
_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Event:
    name: str
    data: str
    id: int | str | None = None

    @classmethod
    def json(cls, name: str, data: Mapping[str, Any], event_id: int | str | None = None) -> Event:
        # json.dumps never writes a newline, so one data line holds the whole event.
        return cls(name, json.dumps(data, ensure_ascii=False), event_id)

    def encode(self) -> str:
        lines = [f"event: {self.name}"]
        if self.id is not None:
            lines.append(f"id: {self.id}")
        lines.extend(f"data: {line}" for line in _LINE_END.split(self.data))
        return "\n".join(lines) + "\n\n"


async def event_stream(
    source: AsyncGenerator[Event | None, None],
    *,
    pause_seconds: float,
    heartbeat_seconds: float,
    max_seconds: float,
    retry_ms: int | None = None,
) -> AsyncIterator[str]:
    """The stream's text for the events `source` yields. `source` looks at whatever it
    watches and yields None when it has nothing more for now: the stream then sends a
    heartbeat if nothing was sent for `heartbeat_seconds`, waits `pause_seconds` and asks
    `source` again, until `max_seconds` have passed or `source` ends. Code after a yield in
    `source` runs once that event has gone to the server, so it may record the event as
    delivered. `retry_ms` tells the browser how soon to reconnect."""
    loop = asyncio.get_running_loop()
    started = last_sent = loop.time()
    # Sent at once so the browser sees the stream open before the first poll.
    yield (f"retry: {retry_ms}\n" if retry_ms is not None else "") + ": open\n\n"
    try:
        # The time is checked between rounds, never between an event and the code after it.
        while loop.time() - started < max_seconds:
            async for item in source:
                if item is None:
                    break
                yield item.encode()
                last_sent = loop.time()
            else:
                return  # the source ended the stream
            if loop.time() - last_sent >= heartbeat_seconds:
                yield HEARTBEAT
                last_sent = loop.time()
            await asyncio.sleep(pause_seconds)
    finally:
        await source.aclose()


def event_stream_response(stream: AsyncIterator[str] | AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        # X-Accel-Buffering: nginx would otherwise hold events back in its buffer.
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
