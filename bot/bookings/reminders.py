"""Reminders the day before a meeting, each sent exactly once.

Claiming a reminder (setting `reminder_sent_at` where it is still empty) and storing the
message for the person happen in one transaction, so a crash or restart either did both
or neither, and two app processes never both send one. The message goes into the
conversation the booking came from, as pending: a push channel (Telegram) delivers it,
a web conversation shows it when the person returns.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.bookings.messages import reminder_message
from bot.bookings.service import BookingView
from bot.bookings.times import as_utc
from bot.conversations.store import Reply, pending_message
from bot.conversations.translation import for_person_from_assistant
from bot.db.models import (
    AppointmentSlot,
    Booking,
    BookingStatus,
    Conversation,
    MessageSender,
    utcnow,
)
from bot.language import is_translated
from bot.nlg.content import RenderedMessage

logger = logging.getLogger(__name__)

REMINDER_AHEAD = timedelta(hours=24)


def _due(sessions: sessionmaker[Session], now: datetime) -> list[int]:
    with sessions() as session:
        return list(
            session.scalars(
                select(Booking.id)
                .join(Booking.slot)
                .where(
                    Booking.status == BookingStatus.BOOKED,
                    Booking.reminder_sent_at.is_(None),
                    AppointmentSlot.starts_at > now,
                    AppointmentSlot.starts_at <= now + REMINDER_AHEAD,
                )
                .order_by(AppointmentSlot.starts_at)
            )
        )


def send_due_reminders(sessions: sessionmaker[Session], now: datetime) -> int:
    """Queues the reminders now due; returns how many were queued."""
    return sum(_send_one(sessions, booking_id, now) for booking_id in _due(sessions, now))


async def queue_due_reminders(sessions: sessionmaker[Session], now: datetime) -> int:
    """The reminder loop's round: as send_due_reminders, but a reminder for a person whose
    conversation is in a translated language is translated first, outside the transaction
    that claims it (a translation that is then not needed costs only time)."""
    sent = 0
    for booking_id in await asyncio.to_thread(_due, sessions, now):
        translated = await _translated_reminder(sessions, booking_id)
        sent += await asyncio.to_thread(_send_one, sessions, booking_id, now, translated)
    return sent


async def _translated_reminder(sessions: sessionmaker[Session], booking_id: int) -> Reply | None:
    def read() -> tuple[str, str, RenderedMessage] | None:
        with sessions() as session:
            booking = session.get(Booking, booking_id)
            if booking is None or booking.conversation_id is None:
                return None
            conversation = session.get(Conversation, booking.conversation_id)
            if conversation is None or not is_translated(conversation.language):
                return None
            message = reminder_message(BookingView.of(booking), conversation.municipality)
            return conversation.language, conversation.municipality, message

    found = await asyncio.to_thread(read)
    if found is None:
        return None
    language, municipality, message = found
    (reply,) = await for_person_from_assistant(
        [Reply(message.text, message.buttons)], language, municipality=municipality
    )
    return reply


def _send_one(
    sessions: sessionmaker[Session], booking_id: int, now: datetime, translated: Reply | None = None
) -> bool:
    with sessions.begin() as session:
        claimed = session.execute(
            update(Booking)
            .where(Booking.id == booking_id, Booking.reminder_sent_at.is_(None))
            .values(reminder_sent_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return False  # another process claimed it first
        booking = session.get(Booking, booking_id)
        if booking is None or booking.conversation_id is None:
            return False
        # A booking made less than a day ahead needs no reminder: the person just made it.
        if (
            booking.created_at is not None
            and as_utc(booking.created_at) > as_utc(booking.slot.starts_at) - REMINDER_AHEAD
        ):
            return False
        conversation = session.get(Conversation, booking.conversation_id)
        if conversation is None:
            return False
        if translated is not None:
            session.add(
                pending_message(
                    conversation.id,
                    translated.text,
                    conversation.language,
                    MessageSender.SYSTEM,
                    translated.buttons,
                    original_text=translated.original_text,
                    original_language=translated.original_language,
                )
            )
            return True
        message = reminder_message(BookingView.of(booking), conversation.municipality)
        session.add(
            pending_message(
                conversation.id,
                message.text,
                booking.language,
                MessageSender.SYSTEM,
                message.buttons,
            )
        )
        return True


async def run_reminders(sessions: sessionmaker[Session], interval_seconds: float) -> None:
    """The app's reminder loop; a failed round is logged and the next one tries again."""
    while True:
        try:
            sent = await queue_due_reminders(sessions, utcnow())
            if sent:
                logger.info("queued %d booking reminders", sent)
        except Exception:
            logger.exception("booking reminders failed; retrying in %s s", interval_seconds)
        await asyncio.sleep(interval_seconds)
