"""The queue view: handed-over conversations, waiting ones first, updating live."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bot.coordinator import translation
from bot.coordinator.auth import SignedIn
from bot.coordinator.live import stream
from bot.coordinator.queue_service import QueueService
from bot.coordinator.rendering import coordinator_language, flash, render
from bot.db import get_sessionmaker


async def _queue_context(who: SignedIn) -> dict[str, Any]:
    """The queue, each person's latest message also in the coordinator's language (made
    once and stored, as in the conversation view)."""
    language = coordinator_language(who)
    sessions = get_sessionmaker()
    entries, stored = await asyncio.to_thread(QueueService(sessions).entries, who, language)
    latest = [e.last_message for e in entries if e.last_message is not None]
    readings = await translation.readings(latest, stored, language, who.municipality, sessions)
    return {"entries": entries, "readings": readings}


async def queue_page(request: Request, who: SignedIn) -> Response:
    return render("queue.html", who, flash=flash(request, who), **await _queue_context(who))


async def queue_fragment(request: Request, who: SignedIn) -> Response:
    return render("_queue.html", who, **await _queue_context(who))


async def queue_events(request: Request, who: SignedIn) -> Response:
    return stream(partial(QueueService(get_sessionmaker()).version, who))
