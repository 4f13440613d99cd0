"""Building the daily aggregates: per municipality and closed Helsinki day, counted once.

A day is built only once it is over (up to yesterday), from what the database holds then.
Each figure is taken from a moment stored with the row it counts (a conversation's start,
a message, a state change, a booking, its cancellation, a link), so a closed day's
figures do not change with time; the case register's counts are a snapshot, taken only
when the day built is yesterday (a day built later could not know how the register
stood then).

Counted once with several app processes: the claim row (`statistics_day`, primary key
municipality and day) is inserted first in the same transaction as the figures; a second
builder waits on it and gets a unique violation, and its transaction is rolled back.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.bookings.times import HELSINKI, as_utc, local
from bot.db.models import (
    AppointmentSlot,
    Booking,
    ChannelIdentity,
    ClientCase,
    Conversation,
    ConversationState,
    HandoffEvent,
    Message,
    MessageDirection,
    MessageSender,
    StatisticsCount,
    StatisticsDay,
    StatisticsWait,
    utcnow,
)
from bot.language import is_translated

logger = logging.getLogger(__name__)

NOT_UNDERSTOOD = "nlu_fallback"
# A first build on an installation with a long history goes back at most this far.
MAX_BACKFILL_DAYS = 400
# The case register's steps: the column of each and the measure it is counted under.
CASE_STEPS = (
    ("assessment", "assessment_state"),
    ("plan", "plan_state"),
    ("orientation", "orientation_state"),
    ("training", "training_state"),
)


@dataclass(frozen=True)
class DayBounds:
    start: datetime  # UTC
    end: datetime  # UTC, exclusive


def bounds(day: date) -> DayBounds:
    """The UTC instants a Helsinki day starts and ends at (23 or 25 hours at the change
    of summer time)."""
    start = datetime.combine(day, time(0), tzinfo=HELSINKI)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=HELSINKI)
    return DayBounds(as_utc(start), as_utc(end))


def last_closed_day(now: datetime) -> date:
    return local(now).date() - timedelta(days=1)


def _within(column: Any, day: DayBounds) -> ColumnElement[bool]:
    within: ColumnElement[bool] = and_(column >= day.start, column < day.end)
    return within


def _count_rows(session: Session, query: Select[str | None, int]) -> Counter[str]:
    found: Counter[str] = Counter()
    for key, n in session.execute(query):
        found[key if key is not None else "none"] += n
    return found


def day_counts(
    session: Session, municipality: str, day: date, snapshot: bool
) -> Counter[tuple[str, str]]:
    """Every figure of one municipality's day, as (measure, key) → count."""
    span = bounds(day)
    counts: Counter[tuple[str, str]] = Counter()

    def add(measure: str, found: Counter[str]) -> None:
        for key, n in found.items():
            counts[(measure, key)] += n

    conversations = session.execute(
        select(Conversation.language, Conversation.channel).where(
            Conversation.municipality == municipality, _within(Conversation.created_at, span)
        )
    ).all()
    for language, channel in conversations:
        counts[("conversations", "all")] += 1
        counts[("conversations_by_language", language)] += 1
        counts[("conversations_by_channel", channel)] += 1
        translated = "translated" if is_translated(language) else "not_translated"
        counts[("conversations_translated", translated)] += 1

    understood = session.execute(
        select(Message.language, Message.intent).where(
            Message.conversation_id.in_(
                select(Conversation.id).where(Conversation.municipality == municipality)
            ),
            Message.direction == MessageDirection.INBOUND,
            Message.sender == MessageSender.USER,
            Message.intent.is_not(None),
            _within(Message.created_at, span),
        )
    ).all()
    for language, intent in understood:
        counts[("topics", str(intent))] += 1
        counts[("messages_by_language", language)] += 1
        if intent == NOT_UNDERSTOOD:
            counts[("not_understood_by_language", language)] += 1

    add(
        "handoffs_by_reason",
        _count_rows(
            session,
            select(HandoffEvent.reason, func.count())
            .join(Conversation, Conversation.id == HandoffEvent.conversation_id)
            .where(
                Conversation.municipality == municipality,
                HandoffEvent.to_state == ConversationState.WAITING,
                _within(HandoffEvent.at, span),
            )
            .group_by(HandoffEvent.reason),
        ),
    )

    new_bookings = (
        select(Booking)
        .join(AppointmentSlot, AppointmentSlot.id == Booking.slot_id)
        .where(AppointmentSlot.municipality == municipality, _within(Booking.created_at, span))
    )
    for booking in session.scalars(new_bookings):
        if booking.replaces_id is not None:
            counts[("bookings", "moved")] += 1
            continue
        counts[("bookings", "booked")] += 1
        counts[("bookings_by_purpose", booking.purpose)] += 1
        counts[("bookings_by_meeting_language", booking.meeting_language)] += 1
        interpreter = (booking.interpreter_language or "none").strip().lower()[:96] or "none"
        counts[("bookings_by_interpreter", interpreter)] += 1
    cancelled: int | None = session.scalar(
        select(func.count())
        .select_from(Booking)
        .join(AppointmentSlot, AppointmentSlot.id == Booking.slot_id)
        .where(AppointmentSlot.municipality == municipality, _within(Booking.cancelled_at, span))
    )
    if cancelled:
        counts[("bookings", "cancelled")] += cancelled

    links: int | None = session.scalar(
        select(func.count())
        .select_from(ChannelIdentity)
        .join(ClientCase, ClientCase.id == ChannelIdentity.case_id)
        .where(ClientCase.municipality == municipality, _within(ChannelIdentity.linked_at, span))
    )
    if links:
        counts[("case_links", "linked")] += links

    if snapshot:
        for step, column in CASE_STEPS:
            state = getattr(ClientCase, column)
            for authority, value, n in session.execute(
                select(ClientCase.responsible_authority, state, func.count())
                .where(ClientCase.municipality == municipality)
                .group_by(ClientCase.responsible_authority, state)
            ):
                counts[(f"cases_{step}", f"{authority}:{value}")] += n
    return counts


def day_waits(session: Session, municipality: str, day: date) -> list[tuple[str, int]]:
    """(reason, seconds) of each handoff a coordinator took on this day: from the moment
    the conversation entered the queue until it was taken, counted on the day it was taken
    so that a wait across midnight is not lost."""
    span = bounds(day)
    taken = session.execute(
        select(HandoffEvent.conversation_id, HandoffEvent.at, HandoffEvent.id)
        .join(Conversation, Conversation.id == HandoffEvent.conversation_id)
        .where(
            Conversation.municipality == municipality,
            HandoffEvent.to_state == ConversationState.HUMAN,
            HandoffEvent.from_state == ConversationState.WAITING,
            _within(HandoffEvent.at, span),
        )
    ).all()
    waits = []
    for conversation_id, taken_at, taken_id in taken:
        queued = session.execute(
            select(HandoffEvent.reason, HandoffEvent.at)
            .where(
                HandoffEvent.conversation_id == conversation_id,
                HandoffEvent.to_state == ConversationState.WAITING,
                HandoffEvent.id < taken_id,
            )
            .order_by(HandoffEvent.id.desc())
            .limit(1)
        ).first()
        if queued is None:
            continue
        reason, queued_at = queued
        seconds = int((as_utc(taken_at) - as_utc(queued_at)).total_seconds())
        waits.append((reason or "none", max(0, seconds)))
    return waits


def build_day(sessions: sessionmaker[Session], municipality: str, day: date, now: datetime) -> bool:
    """Builds one municipality's day; False when another builder has (or had) built it."""
    snapshot = day == last_closed_day(now)
    try:
        with sessions.begin() as session:
            # The claim first: a concurrent builder of the same day waits on this row and
            # then fails, before it has read anything.
            session.add(StatisticsDay(municipality=municipality, day=day, built_at=now))
            session.flush()
            for (measure, key), n in day_counts(session, municipality, day, snapshot).items():
                session.add(
                    StatisticsCount(
                        municipality=municipality, day=day, measure=measure, key=key, count=n
                    )
                )
            for reason, seconds in day_waits(session, municipality, day):
                session.add(
                    StatisticsWait(
                        municipality=municipality, day=day, reason=reason, seconds=seconds
                    )
                )
    except IntegrityError:
        return False
    return True


def municipalities_with_data(session: Session, configured: list[str]) -> list[str]:
    found = set(configured)
    for column in (
        Conversation.municipality,
        ClientCase.municipality,
        AppointmentSlot.municipality,
    ):
        found.update(session.scalars(select(column).distinct()))
    return sorted(found)


def _first_day(session: Session, last: date) -> date:
    earliest = [
        session.scalar(select(func.min(column)))
        for column in (Conversation.created_at, Booking.created_at, HandoffEvent.at)
    ]
    days = [local(moment).date() for moment in earliest if moment is not None]
    first = min([*days, last])
    return max(first, last - timedelta(days=MAX_BACKFILL_DAYS))


def pending_days(
    sessions: sessionmaker[Session], configured: list[str], now: datetime
) -> list[tuple[str, date]]:
    """(municipality, day) of every closed day not built yet."""
    last = last_closed_day(now)
    with sessions() as session:
        first = _first_day(session, last)
        built = {
            (name, day)
            for name, day in session.execute(
                select(StatisticsDay.municipality, StatisticsDay.day).where(
                    StatisticsDay.day >= first
                )
            )
        }
        names = municipalities_with_data(session, configured)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [(name, day) for name in names for day in days if (name, day) not in built]


def build_pending(
    sessions: sessionmaker[Session], configured: list[str], now: datetime | None = None
) -> int:
    """Builds every closed day not built yet; returns how many this process built."""
    now = now or utcnow()
    return sum(
        build_day(sessions, name, day, now) for name, day in pending_days(sessions, configured, now)
    )


def configured_municipalities(directory: Path) -> list[str]:
    return sorted(path.stem for path in directory.glob("*.yml"))


async def run_statistics(
    sessions: sessionmaker[Session], configured: list[str], interval_seconds: float
) -> None:
    """The app's statistics loop: every interval, the days not built yet."""
    while True:
        try:
            built = await asyncio.to_thread(build_pending, sessions, configured)
            if built:
                logger.info("built the statistics of %d municipality days", built)
        except Exception:
            logger.exception("building statistics failed; retrying in %s s", interval_seconds)
        await asyncio.sleep(interval_seconds)
