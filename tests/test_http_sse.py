"""The server-sent-events helper (bot/http/sse.py) over HTTP, with what the coordinator
app's streams need beyond the widget's (tests/test_widget_api.py covers that one): a
reconnection delay, events without ids, data over several lines, and its own end."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bot.http.sse import Event, event_stream, event_stream_response

Source = Callable[[], AsyncGenerator[Event | None, None]]


def streamed(source: Source, **timing: float) -> tuple[dict[str, str], str]:
    """The headers and the whole text of one stream from a small app serving `source`."""

    async def events(_request: Request) -> StreamingResponse:
        stream = event_stream(
            source(),
            pause_seconds=timing.get("pause", 0.01),
            heartbeat_seconds=timing.get("heartbeat", 60.0),
            max_seconds=timing.get("max", 30.0),
            retry_ms=3000,
        )
        return event_stream_response(stream)

    with TestClient(Starlette(routes=[Route("/events", events)])) as client:
        with client.stream("GET", "/events") as response:
            return dict(response.headers), "".join(response.iter_text())


def test_named_events_with_and_without_ids_and_a_reconnection_delay() -> None:
    async def source() -> AsyncGenerator[Event | None, None]:
        yield Event("change", "3:17")
        yield Event.json("messages", {"text": "Привіт"}, 42)
        yield Event("note", "first line\nsecond line")

    headers, text = streamed(source)
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["cache-control"] == "no-store"
    assert headers["x-accel-buffering"] == "no"
    # The source ended: so does the stream, with nothing after its last event.
    assert text == (
        "retry: 3000\n: open\n\n"
        "event: change\ndata: 3:17\n\n"
        'event: messages\nid: 42\ndata: {"text": "Привіт"}\n\n'
        "event: note\ndata: first line\ndata: second line\n\n"
    )


def test_a_quiet_stream_sends_heartbeats_and_ends_after_its_maximum_duration() -> None:
    looks: list[int] = []
    closed: list[bool] = []

    async def source() -> AsyncGenerator[Event | None, None]:
        try:
            # Bounded, so a stream that never ended would fail the test rather than hang it.
            for look in range(2000):
                looks.append(look)
                yield None
        finally:
            closed.append(True)

    started = time.monotonic()
    _, text = streamed(source, pause=0.01, heartbeat=0.05, max=0.5)
    assert time.monotonic() - started < 10
    assert text.startswith("retry: 3000\n: open\n\n")
    assert "event:" not in text
    assert text.count(": heartbeat\n\n") >= 2
    # Polled again after each pause, and closed when the stream ended.
    assert len(looks) > text.count(": heartbeat")
    assert closed == [True]


def test_code_after_an_event_runs_before_the_next_look() -> None:
    """The widget marks messages delivered right after their event has gone out."""
    order: list[str] = []

    async def source() -> AsyncGenerator[Event | None, None]:
        for version in ("1", "2"):
            order.append(f"look {version}")
            yield Event("change", version)
            order.append(f"sent {version}")
            yield None

    _, text = streamed(source)
    assert order == ["look 1", "sent 1", "look 2", "sent 2"]
    assert text.count("event: change") == 2
