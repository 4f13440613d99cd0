"""Database work of the widget's event stream. Synchronous; called through
`asyncio.to_thread` so it never blocks the event loop. Marking the messages delivered is
the conversation store's (MessageDelivery.mark_delivered_up_to)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations.store import MessageView
from bot.db.models import Conversation, Message, MessageStatus


@dataclass(frozen=True)
class Poll:
    state: str
    language: str
    messages: list[MessageView]
    # Some of the messages were made outside a turn and wait to be delivered.
    has_pending: bool


class WidgetStore:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    def poll(self, conversation_id: str, after: int, limit: int) -> Poll | None:
        """The conversation's state and its messages after the cursor, in one query on the
        primary key and the (conversation_id, id) index: an open stream runs it every few
        seconds. None when the conversation no longer exists (deleted)."""
        with self._sessions() as session:
            rows = session.execute(
                select(Conversation.state, Conversation.language, Message)
                .outerjoin(
                    Message,
                    and_(Message.conversation_id == Conversation.id, Message.id > after),
                )
                .where(Conversation.id == conversation_id)
                .order_by(Message.id)
                .limit(limit)
            ).all()
            if not rows:
                return None
            messages = [row[2] for row in rows if row[2] is not None]
            return Poll(
                state=rows[0][0],
                language=rows[0][1],
                messages=[MessageView.of(message) for message in messages],
                has_pending=any(m.status == MessageStatus.PENDING for m in messages),
            )
