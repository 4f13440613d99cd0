"""The intent Rasa recognised in a person's message, taken from the NLG callback.

Rasa tells the gateway only the answers; the NLG request that asks for each of them
carries the tracker, with the conversation's id (`sender_id`) and the intent of the
latest message. It is written on the conversation's latest message from the person, once
(a turn asks for several answers; the first one records it), for the statistics and the
review of what the assistant did not understand.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import Message, MessageDirection, MessageSender

# Rasa's intent names; anything else in the callback is not stored.
_INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def recognised_intent(body: dict[str, Any]) -> tuple[str, str] | None:
    """(conversation id, intent) from an NLG request body, or None."""
    tracker = body.get("tracker")
    if not isinstance(tracker, dict):
        return None
    sender_id = tracker.get("sender_id")
    latest = tracker.get("latest_message")
    intent = latest.get("intent") if isinstance(latest, dict) else None
    name = intent.get("name") if isinstance(intent, dict) else None
    if not isinstance(sender_id, str) or not sender_id or len(sender_id) > 32:
        return None
    if not isinstance(name, str) or not _INTENT_NAME.match(name):
        return None
    return sender_id, name


def record_intent(
    sessions: sessionmaker[Session],
    conversation_id: str,
    intent: str,
    asked_at: datetime | None = None,
) -> bool:
    """Writes the intent on the conversation's latest message from the person (the latest
    stored by `asked_at`, when Rasa asked for the answer: the write may come later, after a
    newer message), unless it has one already. True when a message was changed."""
    conditions = [
        Message.conversation_id == conversation_id,
        Message.direction == MessageDirection.INBOUND,
        Message.sender == MessageSender.USER,
    ]
    if asked_at is not None:
        conditions.append(Message.created_at <= asked_at)
    latest = select(func.max(Message.id)).where(*conditions).scalar_subquery()
    with sessions.begin() as session:
        result = session.execute(
            update(Message)
            .where(Message.id == latest, Message.intent.is_(None))
            .values(intent=intent)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
