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
from bot.conversations.store import pending_message
from bot.db.models import (
    AppointmentSlot,
    Booking,
    BookingStatus,
    Conversation,
    MessageSender,
    utcnow,
)

logger = logging.getLogger(__name__)

REMINDER_AHEAD = timedelta(hours=24)


def send_due_reminders(sessions: sessionmaker[Session], now: datetime) -> int:
    """Queues the reminders now due; returns how many were queued."""
    with sessions() as session:
        due_ids = list(
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
    return sum(_send_one(sessions, booking_id, now) for booking_id in due_ids)


def _send_one(sessions: sessionmaker[Session], booking_id: int, now: datetime) -> bool:
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
            sent = await asyncio.to_thread(send_due_reminders, sessions, utcnow())
            if sent:
                logger.info("queued %d booking reminders", sent)
        except Exception:
            logger.exception("booking reminders failed; retrying in %s s", interval_seconds)
        await asyncio.sleep(interval_seconds)
