"""One conversation in the coordinator app: what the view shows (transcript, notes, the
linked case), and taking, replying, noting and ending a handoff. The functions on a session
hold the queries; `ConversationService` does the work, one short session per call, and
never shows a coordinator a conversation of a municipality they may not see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.bookings.service import BookingView
from bot.bookings.times import as_utc
from bot.cases import audit
from bot.cases.linking import link_directly
from bot.conversations.store import Reply
from bot.coordinator.auth import SignedIn
from bot.coordinator.translation import stored_readings
from bot.db.models import (
    Booking,
    ChannelIdentity,
    ClientCase,
    Conversation,
    ConversationNote,
    ConversationState,
    Coordinator,
    Message,
    MessageSender,
    pending_message,
    utcnow,
)
from bot.handoff.state_machine import close, hand_back, take


def conversation_of(session: Session, conversation_id: str, who: SignedIn) -> Conversation | None:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or not who.may_see(conversation.municipality):
        return None
    return conversation


def conversation_version(session: Session, conversation_id: str) -> str:
    conversation = session.get(Conversation, conversation_id)
    last = session.scalar(
        select(func.max(Message.id)).where(Message.conversation_id == conversation_id)
    )
    notes = session.scalar(
        select(func.count())
        .select_from(ConversationNote)
        .where(ConversationNote.conversation_id == conversation_id)
    )
    state = conversation.state if conversation else "gone"
    owner = conversation.coordinator_id if conversation else None
    return f"{state}:{owner}:{last}:{notes}"


def transcript(session: Session, conversation_id: str) -> list[Message]:
    return list(
        session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
        )
    )


def notes(session: Session, conversation_id: str) -> list[tuple[ConversationNote, str | None]]:
    return list(
        session.execute(
            select(ConversationNote, Coordinator.display_name)
            .outerjoin(Coordinator, Coordinator.id == ConversationNote.coordinator_id)
            .where(ConversationNote.conversation_id == conversation_id)
            .order_by(ConversationNote.id)
        ).all()
    )


def linked_case_of(session: Session, conversation_id: str) -> ClientCase | None:
    return session.scalar(
        select(ClientCase)
        .join(ChannelIdentity, ChannelIdentity.case_id == ClientCase.id)
        .where(ChannelIdentity.external_id == conversation_id)
    )


@dataclass(frozen=True)
class Summary:
    """What the person already did, for the panel beside the transcript: the topics the
    assistant recognised in their messages, their answers to the responsibility triage
    (question and answer message), their bookings and the interpreter languages asked for.
    The linked case is the view's `case`."""

    topics: list[str] = field(default_factory=list)
    triage: list[tuple[Message, Message | None]] = field(default_factory=list)
    bookings: list[BookingView] = field(default_factory=list)
    interpreters: list[str] = field(default_factory=list)
    handoff_requested_at: datetime | None = None


# The assistant's triage questions (data/content/*/triage.yml).
TRIAGE_QUESTIONS = frozenset({"utter_ask_triage_job_seeker", "utter_ask_triage_health_social"})
TRIAGE_ANSWERS = frozenset({"affirm", "deny"})
# Intents that say nothing about what the person wanted.
NOT_A_TOPIC = frozenset(
    {"greet", "goodbye", "thank", "affirm", "deny", "inform", "nlu_fallback", "bot_challenge"}
)


def summary(session: Session, conversation: Conversation, messages: list[Message]) -> Summary:
    topics: list[str] = []
    for message in messages:
        if message.intent and message.intent not in NOT_A_TOPIC and message.intent not in topics:
            topics.append(message.intent)
    triage: list[tuple[Message, Message | None]] = []
    for index, message in enumerate(messages):
        if message.response_name in TRIAGE_QUESTIONS:
            following = next(
                (m for m in messages[index + 1 :] if m.sender == MessageSender.USER), None
            )
            # An answer is one of the question's buttons, or a yes or no in words; anything
            # else (another question, asking for a person) left the question unanswered.
            offered = {button.get("payload") for button in message.buttons or []}
            answered = following is not None and (
                following.payload in offered or following.intent in TRIAGE_ANSWERS
            )
            triage.append((message, following if answered else None))
    bookings = [
        BookingView.of(booking)
        for booking in session.scalars(
            select(Booking).where(Booking.conversation_id == conversation.id).order_by(Booking.id)
        )
    ]
    interpreters = sorted(
        {b.details.interpreter_language for b in bookings if b.details.interpreter_language}
    )
    return Summary(
        topics=topics,
        triage=triage,
        bookings=bookings,
        interpreters=interpreters,
        handoff_requested_at=as_utc(conversation.handoff_requested_at)
        if conversation.handoff_requested_at
        else None,
    )


def last_question_unanswered(messages: list[Message]) -> bool:
    """The person wrote after the coordinator last answered (or no coordinator answered at
    all): handing back or closing now would leave that unanswered."""
    last_person = max((m.id for m in messages if m.sender == MessageSender.USER), default=None)
    if last_person is None:
        return False
    last_reply = max(
        (m.id for m in messages if m.sender == MessageSender.COORDINATOR), default=None
    )
    return last_reply is None or last_reply < last_person


def may_reply(conversation: Conversation, who: SignedIn) -> bool:
    return conversation.state == ConversationState.HUMAN and (
        conversation.coordinator_id == who.id or who.is_administrator
    )


def assistant_row(
    conversation_id: str,
    language: str,
    message: Reply,
    sender: MessageSender = MessageSender.SYSTEM,
    sender_name: str | None = None,
) -> Message:
    """One of the assistant's texts sent on a transition, as the person receives it; for a
    translated language also the English it was translated from."""
    return pending_message(
        conversation_id,
        message.text,
        language,
        sender,
        message.buttons,
        sender_name=sender_name,
        original_text=message.original_text,
        original_language=message.original_language,
        response_name=message.response_name,
        response_arguments=message.response_arguments,
    )


def may_end(conversation: Conversation, who: SignedIn) -> bool:
    return conversation.state == ConversationState.HUMAN and conversation.coordinator_id == who.id


class ConversationService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def context(
        self, conversation_id: str, who: SignedIn, language: str, *, audited: bool = True
    ) -> dict[str, Any] | None:
        """The conversation view's data, with the translations into `language` of the
        person's messages made before. Opening the view is audited; the live refreshes of
        an open view are not (they would write an entry for every message that arrives)."""
        with self._sessions.begin() as session:
            conversation = conversation_of(session, conversation_id, who)
            if conversation is None:
                return None
            case = linked_case_of(session, conversation_id)
            if audited:
                audit.record(
                    session,
                    actor=f"coordinator:{who.username}",
                    case_id=case.id if case else None,
                    action="read_conversation",
                    detail=conversation_id,
                )
            session.flush()  # the audit entry is written before the rows are detached
            messages = transcript(session, conversation_id)
            described = summary(session, conversation, messages)
            session.expunge_all()
            return {
                "conversation": conversation,
                "messages": messages,
                "summary": described,
                "unanswered": last_question_unanswered(messages),
                "stored_readings": stored_readings(session, messages, language),
                "notes": notes(session, conversation_id),
                "case": case,
            }

    def visible(self, conversation_id: str, who: SignedIn) -> Conversation | None:
        with self._sessions() as session:
            return conversation_of(session, conversation_id, who)

    def version(self, conversation_id: str) -> str:
        with self._sessions() as session:
            return conversation_version(session, conversation_id)

    def tell_person(self, conversation_id: str, language: str, message: Reply) -> None:
        with self._sessions.begin() as session:
            session.add(assistant_row(conversation_id, language, message))

    def take(self, conversation_id: str, who: SignedIn, language: str, message: Reply) -> bool:
        """Takes the conversation and tells the person, in one transaction."""
        with self._sessions.begin() as session:
            conversation = conversation_of(session, conversation_id, who)
            if conversation is None or not take(session, conversation_id, who.id, utcnow()):
                return False
            session.add(assistant_row(conversation_id, language, message))
            return True

    def reply_target(self, conversation_id: str, who: SignedIn) -> Conversation | None:
        """The conversation, if the coordinator may answer in it now."""
        with self._sessions() as session:
            conversation = conversation_of(session, conversation_id, who)
            if conversation is not None and may_reply(conversation, who):
                return conversation
            return None

    def reply(self, conversation_id: str, who: SignedIn, language: str, message: Reply) -> bool:
        """Stores the reply as the person receives it (`language`: the one it was composed
        for) and, when that is a translation, what the coordinator wrote."""
        with self._sessions.begin() as session:
            conversation = conversation_of(session, conversation_id, who)
            if conversation is None or not may_reply(conversation, who):
                return False
            session.add(
                pending_message(
                    conversation_id,
                    message.text,
                    language,
                    MessageSender.COORDINATOR,
                    sender_name=who.first_name,
                    original_text=message.original_text,
                    original_language=message.original_language,
                )
            )
            return True

    def note(self, conversation_id: str, who: SignedIn, text: str) -> None:
        with self._sessions.begin() as session:
            if conversation_of(session, conversation_id, who) is not None:
                session.add(
                    ConversationNote(
                        conversation_id=conversation_id, coordinator_id=who.id, text=text
                    )
                )

    def may_end(self, conversation_id: str, who: SignedIn) -> bool:
        """Only the coordinator who took a conversation hands it back or closes it."""
        with self._sessions() as session:
            conversation = conversation_of(session, conversation_id, who)
            return conversation is not None and may_end(conversation, who)

    def unanswered(self, conversation_id: str) -> bool:
        with self._sessions() as session:
            return last_question_unanswered(transcript(session, conversation_id))

    def end(self, conversation_id: str, who: SignedIn, *, closing: bool) -> bool:
        """Hands the conversation back to the assistant, or closes it."""
        with self._sessions.begin() as session:
            change = close if closing else hand_back
            return change(session, conversation_id, f"coordinator:{who.username}", utcnow())

    def link_to_case(self, conversation_id: str, who: SignedIn, case_number: str) -> str:
        """Links the conversation to the case with that number, after the coordinator
        checked who the person is. Both must be of one municipality the coordinator works:
        "linked", "not_found" (no such case there) or "already_linked"."""
        with self._sessions.begin() as session:
            conversation = conversation_of(session, conversation_id, who)
            if conversation is None:
                return "not_found"
            case = session.scalar(
                select(ClientCase).where(ClientCase.case_number == case_number.strip()[:32])
            )
            if (
                case is None
                or not who.may_see(case.municipality)
                or case.municipality != conversation.municipality
            ):
                return "not_found"
            linked = link_directly(
                session, conversation_id, case.id, f"coordinator:{who.username}", utcnow()
            )
            return "linked" if linked else "already_linked"
