"""The review list of messages the assistant did not understand: the coordinator marks the
intent each should have had (bot/statistics/review.py does the work)."""

from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from bot.coordinator.auth import SignedIn
from bot.coordinator.rendering import flash, not_found, redirect, render
from bot.db import get_sessionmaker
from bot.statistics.review import ReviewItem, domain_intents, mark_intent, review_list


def _scope(who: SignedIn) -> str | None:
    """A coordinator reviews their own municipality's messages; an administrator every one."""
    return None if who.is_administrator else who.municipality


class ReviewService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def listing(self, who: SignedIn) -> list[ReviewItem]:
        with self._sessions.begin() as session:
            return review_list(session, _scope(who), f"coordinator:{who.username}")

    def mark(self, who: SignedIn, message_id: int, intent: str) -> bool:
        with self._sessions.begin() as session:
            return mark_intent(
                session,
                _scope(who),
                message_id,
                intent,
                coordinator_id=who.id,
                actor=f"coordinator:{who.username}",
            )


async def review_page(request: Request, who: SignedIn) -> Response:
    items = await asyncio.to_thread(ReviewService(get_sessionmaker()).listing, who)
    return render(
        "review.html", who, items=items, intents=domain_intents(), flash=flash(request, who)
    )


async def mark_message(request: Request, who: SignedIn) -> Response:
    value = str(request.path_params["message_id"])
    intent = str((await request.form()).get("intent") or "")
    service = ReviewService(get_sessionmaker())
    if not value.isdigit() or not await asyncio.to_thread(service.mark, who, int(value), intent):
        return not_found(who)
    return redirect("/coordinator/review?flash=review_marked")
