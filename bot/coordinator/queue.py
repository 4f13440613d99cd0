"""The queue view: handed-over conversations, waiting ones first, updating live."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bot.cases.linking import Budgets
from bot.coordinator import translation
from bot.coordinator.auth import SignedIn
from bot.coordinator.case_service import linking_paused
from bot.coordinator.live import stream
from bot.coordinator.queue_service import QueueFilter, QueueService, QueueView
from bot.coordinator.rendering import coordinator_language, flash, render
from bot.db import get_sessionmaker
from bot.runtime import get_settings


async def _queue_context(
    who: SignedIn, view: QueueView, *, audited: bool = False
) -> dict[str, Any]:
    """The queue as the view asks, each person's latest message also in the coordinator's
    language (made once and stored, as in the conversation view), and everyone waiting
    (for the tab title and the notice of a new arrival)."""
    language = coordinator_language(who)
    sessions = get_sessionmaker()
    entries, stored, waiting = await asyncio.to_thread(
        partial(QueueService(sessions).entries, who, language, view, audited=audited)
    )
    latest = [e.last_message for e in entries if e.last_message is not None]
    readings = await translation.readings(latest, stored, language, who.municipality, sessions)
    return {
        "entries": entries,
        "readings": readings,
        "view": view,
        "filters": list(QueueFilter),
        "waiting": waiting,
    }


async def queue_page(request: Request, who: SignedIn) -> Response:
    paused = await asyncio.to_thread(linking_paused, get_sessionmaker(), Budgets.of(get_settings()))
    return render(
        "queue.html",
        who,
        flash=flash(request, who),
        linking_paused=paused,
        **await _queue_context(who, QueueView.of(request.query_params), audited=True),
    )


async def queue_fragment(request: Request, who: SignedIn) -> Response:
    return render(
        "_queue.html", who, **await _queue_context(who, QueueView.of(request.query_params))
    )


async def queue_events(request: Request, who: SignedIn) -> Response:
    return stream(partial(QueueService(get_sessionmaker()).version, who))
