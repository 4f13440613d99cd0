"""Delivery bookkeeping of outbound messages: a message made outside a turn (a reminder, a
coordinator's reply) is `pending` until its channel has delivered it. Telegram records
its attempts and failures message by message; the widget, which fetches messages, marks
everything up to the cursor it was given. Synchronous; called through
`asyncio.to_thread`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import Message, MessageStatus, utcnow

# A pending message someone is delivering is left alone by every other sender this long.
# Longer than the slowest delivery with its retries; a sender that crashed midway only
# delays the message by this much.
DELIVERY_LEASE = timedelta(minutes=5)
# The longest wait between two attempts to deliver a message that keeps failing.
MAX_DELIVERY_BACKOFF = timedelta(hours=1)


class MessageDelivery:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    def record_parts_delivered(self, message_id: int, parts: int) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(Message).where(Message.id == message_id).values(delivered_parts=parts)
            )

    def mark_delivered(self, message_id: int) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(status=MessageStatus.SENT, next_delivery_at=None, delivery_error=None)
            )

    def mark_delivered_up_to(self, conversation_id: str, up_to: int) -> None:
        """The person's browser has every message up to the cursor: pending ones (reminders,
        coordinator replies) are delivered."""
        with self._sessions.begin() as session:
            session.execute(
                update(Message)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.id <= up_to,
                    Message.status == MessageStatus.PENDING,
                )
                .values(status=MessageStatus.SENT, next_delivery_at=None, delivery_error=None)
            )

    def record_delivery_failure(
        self,
        message_id: int,
        *,
        error: str,
        base_delay: timedelta,
        not_before: datetime | None = None,
    ) -> datetime | None:
        """Keeps the message pending and sets its next attempt, further away after each
        failure (capped); returns that time, or None if the message is gone."""
        with self._sessions.begin() as session:
            message = session.get(Message, message_id)
            if message is None:
                return None
            message.delivery_attempts += 1
            delay = min(
                base_delay * int(2 ** min(message.delivery_attempts - 1, 20)), MAX_DELIVERY_BACKOFF
            )
            retry_at = utcnow() + delay
            if not_before is not None and not_before > retry_at:
                retry_at = not_before
            message.next_delivery_at = retry_at
            message.delivery_error = error[:1000]
            return retry_at

    def postpone_delivery(self, message_ids: list[int], retry_at: datetime) -> None:
        """Holds back the messages after one that failed, so a chat gets them in order."""
        if not message_ids:
            return
        with self._sessions.begin() as session:
            session.execute(
                update(Message)
                .where(Message.id.in_(message_ids), Message.status == MessageStatus.PENDING)
                .values(next_delivery_at=retry_at)
            )
