"""The handoff between the assistant and the coordinator: one state machine.

    bot ──request──▶ waiting ──take──▶ human ──hand back──▶ bot
                        │                 │
                        └──────close──────┴──▶ closed ──the person writes──▶ bot

Every transition is one conditional UPDATE (`... WHERE state IN (allowed)`) plus a
`handoff_event` row, in the caller's transaction: of two coordinators taking the same
conversation at once exactly one changes the row, and a restart of any process finds the
state where the last committed transition left it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.db.models import Conversation, ConversationState, HandoffEvent

WAITING_OR_HUMAN = (ConversationState.WAITING, ConversationState.HUMAN)


class HandoffReason:
    REQUEST_HUMAN = "request_human"  # the person asked (text, button, /human)
    FALLBACK = "fallback"  # the assistant did not understand twice in a row
    DATA_REQUEST = "data_request"  # erasure of personal data: a person must handle it
    URGENT = "urgent"  # someone may be in danger: violence, thoughts of suicide


@dataclass(frozen=True)
class HandoffRequest:
    reason: str
    topic: str | None = None


def _transition(
    session: Session,
    conversation_id: str,
    *,
    allowed_from: tuple[str, ...],
    to_state: str,
    actor: str,
    reason: str | None,
    now: datetime,
    coordinator_id: int | None = None,
    extra: dict[str, object] | None = None,
) -> str | None:
    """The state the conversation left, or None when it was in none of `allowed_from`."""
    current = session.get(Conversation, conversation_id, populate_existing=True)
    if current is None or current.state not in allowed_from:
        return None
    from_state = current.state
    statement = (
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.state == from_state)
        .values(state=to_state, updated_at=now, **(extra or {}))
    )
    if coordinator_id is not None:
        statement = statement.values(coordinator_id=coordinator_id)
    if session.execute(statement).rowcount != 1:  # type: ignore[attr-defined]
        return None  # someone else changed it first
    session.add(
        HandoffEvent(
            conversation_id=conversation_id,
            from_state=from_state,
            to_state=to_state,
            actor=actor,
            reason=reason,
            at=now,
        )
    )
    session.expire(current)
    return from_state


def request_handoff(
    session: Session, conversation_id: str, request: HandoffRequest, now: datetime, actor: str
) -> bool:
    """bot or closed → waiting. Already waiting or with a person: nothing changes."""
    return (
        _transition(
            session,
            conversation_id,
            allowed_from=(ConversationState.BOT, ConversationState.CLOSED),
            to_state=ConversationState.WAITING,
            actor=actor,
            reason=request.reason,
            now=now,
            extra={
                "handoff_reason": request.reason,
                "handoff_topic": request.topic,
                "handoff_requested_at": now,
                "coordinator_id": None,
            },
        )
        is not None
    )


def take(session: Session, conversation_id: str, coordinator_id: int, now: datetime) -> bool:
    """waiting → human, for exactly one coordinator."""
    return (
        _transition(
            session,
            conversation_id,
            allowed_from=(ConversationState.WAITING,),
            to_state=ConversationState.HUMAN,
            actor=f"coordinator:{coordinator_id}",
            reason=None,
            now=now,
            coordinator_id=coordinator_id,
        )
        is not None
    )


def hand_back(session: Session, conversation_id: str, actor: str, now: datetime) -> bool:
    """waiting or human → bot, by the coordinator or by the person ("back to the
    assistant"); who may do it is the caller's decision."""
    return (
        _transition(
            session,
            conversation_id,
            allowed_from=WAITING_OR_HUMAN,
            to_state=ConversationState.BOT,
            actor=actor,
            reason="handed_back",
            now=now,
        )
        is not None
    )


def close(session: Session, conversation_id: str, actor: str, now: datetime) -> bool:
    """waiting or human → closed."""
    return (
        _transition(
            session,
            conversation_id,
            allowed_from=WAITING_OR_HUMAN,
            to_state=ConversationState.CLOSED,
            actor=actor,
            reason="closed",
            now=now,
        )
        is not None
    )


def reopen(session: Session, conversation_id: str, now: datetime) -> bool:
    """closed → bot, when the person writes again after the coordinator closed it."""
    return (
        _transition(
            session,
            conversation_id,
            allowed_from=(ConversationState.CLOSED,),
            to_state=ConversationState.BOT,
            actor="person",
            reason="wrote_again",
            now=now,
        )
        is not None
    )
