"""One erasure, whatever the way in: the widget's "start over and erase" (API DELETE), the
Telegram command, the `delete_my_data` intent, the coordinator app and the CLI all call
`erase_conversation` or `erase_case`.

What it reaches, in the app database (one transaction): the conversation's messages with
their translations and originals, pending deliveries among them; its handoff history and
the coordinators' notes; the link of its identity to a case and the link attempts made
from it; its bookings: coming ones are cancelled (the slot is free at once, the calendar
says "cancelled at the person's request") and every one loses the person's name and
contact. Then Rasa's tracker events of the conversation's sender id, and the texts the
process's translation cache remembers. The audit log keeps who erased which conversation,
when and why (a reason code), never content.

The case register is not erased here: it is the municipality's official record, which the
coordinator handles (README, "Personal data").
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.cases import audit
from bot.db.models import (
    Booking,
    BookingStatus,
    ChannelIdentity,
    ClientCase,
    Conversation,
    ConversationNote,
    ConversationState,
    HandoffEvent,
    LinkAttempt,
    Message,
    MessageTranslation,
    NluReview,
    TelegramChat,
)
from bot.privacy.tracker import TrackerStore

logger = logging.getLogger(__name__)

# Booking.cancel_reason of a booking cancelled by erasure.
CANCELLED_BY_ERASURE = "erasure"


class ErasureReason(enum.StrEnum):
    """Why: the only thing the audit log keeps besides who and when."""

    PERSON_ASKED = "person_asked"  # the person, themselves or through the coordinator
    WRONG_PERSON = "wrong_person"  # written in the wrong conversation, or by someone else
    RETENTION = "retention"  # the retention period ended (the daily purge)
    OTHER = "other"


@dataclass
class ErasureReport:
    conversations: int = 0
    messages: int = 0
    tracker_events: int = 0
    bookings_cancelled: int = 0
    bookings_blanked: int = 0
    sender_ids: list[str] = field(default_factory=list)


def _aware(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _erase_bookings(
    session: Session, condition: ColumnElement[bool], now: datetime, report: ErasureReport
) -> None:
    """Coming bookings cancelled, every booking's name and contact blanked."""
    bookings = session.scalars(select(Booking).join(Booking.slot).where(condition))
    for booking in bookings:
        if booking.status == BookingStatus.BOOKED and _aware(booking.slot.ends_at) > now:
            booking.status = BookingStatus.CANCELLED
            booking.cancelled_at = now
            booking.cancel_reason = CANCELLED_BY_ERASURE
            report.bookings_cancelled += 1
        if booking.contact_name is not None or booking.contact is not None:
            report.bookings_blanked += 1
        booking.contact_name = None
        booking.contact = None
        booking.interpreter_language = None


def erase_conversation_rows(
    session: Session,
    conversation: Conversation,
    now: datetime,
    report: ErasureReport,
    *,
    keep_conversation: bool = False,
) -> None:
    """The app database's part, in the caller's transaction. `keep_conversation` empties
    the conversation but keeps it (and its Telegram chat), so the person can go on in it:
    the `delete_my_data` intent erases the chat and then offers a handoff in the same chat."""
    conversation_id = conversation.id
    message_ids = select(Message.id).where(Message.conversation_id == conversation_id)
    # Explicit, so erasure does not depend on the database enforcing foreign keys.
    session.execute(
        delete(MessageTranslation).where(MessageTranslation.message_id.in_(message_ids))
    )
    # A coordinator's review of a not-understood message goes with the message.
    session.execute(delete(NluReview).where(NluReview.message_id.in_(message_ids)))
    report.messages += (
        session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.conversation_id == conversation_id)
        )
        or 0
    )
    session.execute(delete(Message).where(Message.conversation_id == conversation_id))
    session.execute(delete(HandoffEvent).where(HandoffEvent.conversation_id == conversation_id))
    session.execute(
        delete(ConversationNote).where(ConversationNote.conversation_id == conversation_id)
    )
    session.execute(
        delete(ChannelIdentity).where(
            ChannelIdentity.channel == conversation.channel,
            ChannelIdentity.external_id == conversation_id,
        )
    )
    session.execute(
        delete(LinkAttempt).where(
            LinkAttempt.attempt_key.in_(
                [f"conversation:{conversation_id}", f"{conversation.channel}:{conversation_id}"]
            )
        )
    )
    _erase_bookings(session, Booking.conversation_id == conversation_id, now, report)
    session.execute(
        update(Booking)
        .where(Booking.conversation_id == conversation_id)
        .values(conversation_id=None)
    )
    report.conversations += 1
    report.sender_ids.append(conversation_id)
    if keep_conversation:
        conversation.state = ConversationState.BOT
        conversation.handoff_reason = None
        conversation.handoff_topic = None
        conversation.handoff_requested_at = None
        conversation.coordinator_id = None
        return
    session.execute(delete(TelegramChat).where(TelegramChat.conversation_id == conversation_id))
    session.delete(conversation)


def _linked_case_id(session: Session, conversation: Conversation) -> int | None:
    return session.scalar(
        select(ChannelIdentity.case_id).where(
            ChannelIdentity.channel == conversation.channel,
            ChannelIdentity.external_id == conversation.id,
        )
    )


def forget_cached_texts() -> None:
    """The process's translation cache holds texts people wrote; it starts empty again."""
    from bot.runtime import current
    from bot.translation.service import TRANSLATOR

    runtime = current()
    if runtime.is_built(TRANSLATOR):
        runtime.get(TRANSLATOR).forget_texts()


def _finish(tracker: TrackerStore, report: ErasureReport) -> ErasureReport:
    report.tracker_events = tracker.delete_senders(report.sender_ids)
    forget_cached_texts()
    return report


def erase_conversation(
    sessions: sessionmaker[Session],
    tracker: TrackerStore,
    conversation_id: str,
    *,
    actor: str,
    reason: ErasureReason,
    now: datetime,
    keep_conversation: bool = False,
) -> ErasureReport | None:
    """Erases one conversation everywhere; None when there is no such conversation."""
    report = ErasureReport()
    with sessions.begin() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return None
        case_id = _linked_case_id(session, conversation)
        erase_conversation_rows(
            session, conversation, now, report, keep_conversation=keep_conversation
        )
        audit.record(
            session,
            actor=actor,
            case_id=case_id,
            action="erase_conversation",
            detail=f"{conversation_id} {reason.value}",
        )
    logger.info("conversation %s erased (%s) by %s", conversation_id, reason.value, actor)
    return _finish(tracker, report)


def conversations_of_case(session: Session, case_id: int) -> list[Conversation]:
    linked = select(ChannelIdentity.external_id).where(ChannelIdentity.case_id == case_id)
    return list(session.scalars(select(Conversation).where(Conversation.id.in_(linked))))


def erase_case(
    sessions: sessionmaker[Session],
    tracker: TrackerStore,
    case_number: str,
    *,
    actor: str,
    reason: ErasureReason,
    now: datetime,
) -> ErasureReport | None:
    """Erases every conversation linked to the case and the person's name and contact on
    every booking of the case. The case itself stays: it is the municipality's record."""
    report = ErasureReport()
    with sessions.begin() as session:
        case = session.scalar(select(ClientCase).where(ClientCase.case_number == case_number))
        if case is None:
            return None
        for conversation in conversations_of_case(session, case.id):
            erase_conversation_rows(session, conversation, now, report)
        _erase_bookings(session, Booking.case_id == case.id, now, report)
        session.execute(delete(ChannelIdentity).where(ChannelIdentity.case_id == case.id))
        audit.record(
            session,
            actor=actor,
            case_id=case.id,
            action="erase_case",
            detail=f"{report.conversations} conversations {reason.value}",
        )
    logger.info("case %s: conversations erased (%s) by %s", case.id, reason.value, actor)
    return _finish(tracker, report)
