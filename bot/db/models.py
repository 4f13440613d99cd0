"""The database: the gateway's conversations and messages, and the case register."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ConversationState(enum.StrEnum):
    BOT = "bot"
    WAITING = "waiting"
    HUMAN = "human"
    CLOSED = "closed"


class LanguageSource(enum.StrEnum):
    """How the conversation got its language; a chosen language is never overridden."""

    DEFAULT = "default"
    DETECTED = "detected"
    CHOSEN = "chosen"


class MessageDirection(enum.StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class MessageSender(enum.StrEnum):
    USER = "user"
    BOT = "bot"
    COORDINATOR = "coordinator"
    SYSTEM = "system"


class MessageStatus(enum.StrEnum):
    RECEIVED = "received"  # stored, not yet answered
    PROCESSED = "processed"  # Rasa answered it
    FAILED = "failed"  # Rasa could not be reached; kept, the person was told
    SENT = "sent"  # an outbound message handed to the channel
    # An outbound message made outside a turn (a reminder, a coordinator's reply): a push
    # channel delivers it and marks it sent; a web conversation shows it when the person returns.
    PENDING = "pending"
    # An outbound message the channel gave up on: the person blocked the bot or the chat is
    # gone, or every attempt failed. Shown to the coordinator as not delivered.
    UNDELIVERED = "undelivered"


class Conversation(Base):
    __tablename__ = "conversation"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16), default="api")
    municipality: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    language_source: Mapped[str] = mapped_column(String(16), default=LanguageSource.DEFAULT)
    state: Mapped[str] = mapped_column(String(16), default=ConversationState.BOT)
    # The handoff: why and when the conversation was handed over, what about, and who took it.
    handoff_reason: Mapped[str | None] = mapped_column(String(32))
    handoff_topic: Mapped[str | None] = mapped_column(String(64))
    handoff_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    coordinator_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL", name="fk_conversation_coordinator_id")
    )
    # The network the person's latest message came from, as a keyed pseudonym
    # (bot/http/client_address.py; a Telegram user id for Telegram): the action server counts
    # wrong link codes and bookings against it, and it cannot be read back as an address.
    client_network: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan", passive_deletes=True
    )


class Message(Base):
    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_conversation_id_id", "conversation_id", "id"),
        # A push channel looks for outbound messages still to deliver.
        Index("ix_message_status_next_delivery_at", "status", "next_delivery_at"),
        UniqueConstraint("external_id", name="uq_message_external_id"),
    )

    # The integer id is the cursor clients page with.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(4))
    sender: Mapped[str] = mapped_column(String(16))
    # Who wrote it, as the person sees it: the coordinator's first name on their replies.
    sender_name: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str | None] = mapped_column(Text)
    buttons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The channel's own id of an inbound message (Telegram's update id): unique, so a
    # message the channel delivers twice is stored, and answered, once.
    external_id: Mapped[str | None] = mapped_column(String(64))
    # Delivery bookkeeping of a pending outbound message on a push channel. A message is
    # never dropped: a failed delivery is retried at `next_delivery_at`, which also serves
    # as the lease that keeps two senders off the same message.
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A long text goes out in several parts; a retry resumes after the last part delivered.
    delivered_parts: Mapped[int] = mapped_column(Integer, default=0)
    next_delivery_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivery_error: Mapped[str | None] = mapped_column(Text)
    # An outbound message the person received as a machine translation: `text` is what
    # they received (the translation, marked, with the original beneath), and these hold
    # the text as its author wrote it (the coordinator's Swedish, the assistant's English).
    original_text: Mapped[str | None] = mapped_column(Text)
    original_language: Mapped[str | None] = mapped_column(String(8))
    # The intent Rasa recognised in a person's message (`nlu_fallback`: not understood),
    # recorded when Rasa asks the NLG endpoint for the answer; for the statistics and the
    # review of what the assistant did not understand.
    intent: Mapped[str | None] = mapped_column(String(64))
    # An answer of the assistant: the content's response name and the variables it was
    # rendered with, so the coordinator can read the same answer in their own language
    # (re-rendered, not translated). The variables may hold personal data; they go with
    # the row when the conversation is erased.
    response_name: Mapped[str | None] = mapped_column(String(128))
    response_arguments: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # An answer from the content with its marks (a first screen and the rest behind "More",
    # official terms in their language; bot/nlg/markup.py); `text` is the plain whole.
    markup: Mapped[str | None] = mapped_column(Text)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    translations: Mapped[list[MessageTranslation]] = relationship(
        back_populates="message", cascade="all, delete-orphan", passive_deletes=True
    )


def pending_message(
    conversation_id: str,
    text: str,
    language: str,
    sender: MessageSender,
    buttons: list[dict[str, Any]] | None = None,
    sender_name: str | None = None,
    *,
    original_text: str | None = None,
    original_language: str | None = None,
    response_name: str | None = None,
    response_arguments: dict[str, Any] | None = None,
) -> Message:
    """An outbound message made outside a turn, for the caller's own transaction."""
    return Message(
        conversation_id=conversation_id,
        direction=MessageDirection.OUTBOUND,
        sender=sender,
        sender_name=sender_name,
        text=text,
        buttons=buttons or None,
        language=language,
        status=MessageStatus.PENDING,
        original_text=original_text,
        original_language=original_language,
        response_name=response_name,
        response_arguments=response_arguments or None,
    )


class MessageTranslation(Base):
    """A machine translation of a message made for reading it in another language: a
    person's message in English for the assistant to understand, or in the coordinator's
    language. Made once per message and language, then read from here."""

    __tablename__ = "message_translation"
    __table_args__ = (
        UniqueConstraint("message_id", "language", name="uq_message_translation_language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    # "en" when the text went through English (no direct package was installed).
    pivot: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    message: Mapped[Message] = relationship(back_populates="translations")


class TelegramUpdate(Base):
    """An update Telegram posted to the webhook, kept from before the webhook answers until
    it has been handled, so that a crash or a restart in between loses nothing (it is
    handled again on start-up or by another process; the message store's unique
    external id keeps it from being answered twice). Deleted once handled."""

    __tablename__ = "telegram_update"

    # '' for the default municipality's bot, else the municipality whose bot it came to.
    bot: Mapped[str] = mapped_column(String(64), primary_key=True, default="", server_default="")
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Whoever handles it again holds it until then.
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TelegramChat(Base):
    """One Telegram chat with one bot is one conversation, for as long as the conversation
    exists. The same person writing to two municipalities' bots is two chats."""

    __tablename__ = "telegram_chat"
    __table_args__ = (UniqueConstraint("bot", "chat_id", name="uq_telegram_chat_bot_chat"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # '' for the default municipality's bot, else the municipality whose bot it is.
    bot: Mapped[str] = mapped_column(String(64), default="", server_default="")
    chat_id: Mapped[int] = mapped_column(BigInteger)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- Cases: the integration client's process, and who may see it. -------------------------


class LabourMarketSituation(enum.StrEnum):
    UNEMPLOYED_JOB_SEEKER = "unemployed_job_seeker"  # registered with the employment area
    OUTSIDE_LABOUR_FORCE = "outside_labour_force"
    STUDENT = "student"
    EMPLOYED = "employed"
    UNKNOWN = "unknown"


class ResponsibleAuthority(enum.StrEnum):
    MUNICIPALITY = "municipality"
    EMPLOYMENT_AREA = "employment_area"
    MUNICIPALITY_AND_WELFARE_AREA = "municipality_and_welfare_area"  # multisectoral


class AssessmentState(enum.StrEnum):
    NOT_STARTED = "not_started"
    BOOKED = "booked"
    DONE = "done"


class PlanState(enum.StrEnum):
    NONE = "none"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class CourseState(enum.StrEnum):
    """Civic orientation and integration training both need an integration plan first."""

    NOT_ELIGIBLE_YET = "not_eligible_yet"
    CAN_START = "can_start"
    ENROLLED = "enrolled"
    COMPLETED = "completed"


class Coordinator(Base):
    __tablename__ = "coordinator"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16), default="coordinator")
    # The secret in the URL of the coordinator's calendar feed; only its hash is stored.
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    # A feed address stops working at this time; the coordinator app renews it.
    calendar_token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_hash: Mapped[str | None] = mapped_column(String(256))  # argon2id
    language: Mapped[str] = mapped_column(String(8), default="sv", server_default="sv")  # sv, fi
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ClientCase(Base):
    __tablename__ = "client_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(String(32), unique=True)
    municipality: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(200))
    preferred_language: Mapped[str] = mapped_column(String(8))
    labour_market_situation: Mapped[str] = mapped_column(
        String(32), default=LabourMarketSituation.UNKNOWN
    )
    responsible_authority: Mapped[str] = mapped_column(
        String(32), default=ResponsibleAuthority.MUNICIPALITY
    )
    assessment_state: Mapped[str] = mapped_column(String(16), default=AssessmentState.NOT_STARTED)
    assessment_date: Mapped[date | None] = mapped_column(Date)
    plan_state: Mapped[str] = mapped_column(String(16), default=PlanState.NONE)
    plan_date: Mapped[date | None] = mapped_column(Date)
    plan_multisectoral: Mapped[bool] = mapped_column(Boolean, default=False)
    orientation_state: Mapped[str] = mapped_column(String(24), default=CourseState.NOT_ELIGIBLE_YET)
    orientation_language: Mapped[str | None] = mapped_column(String(32))
    training_state: Mapped[str] = mapped_column(String(24), default=CourseState.NOT_ELIGIBLE_YET)
    training_language: Mapped[str | None] = mapped_column(String(8))  # sv or fi
    next_step: Mapped[str | None] = mapped_column(Text)
    coordinator_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class ChannelIdentity(Base):
    """A verified way to reach a person (a web conversation, a Telegram user), linked to
    their case. Actions read a case only through the identity of the current conversation."""

    __tablename__ = "channel_identity"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int] = mapped_column(ForeignKey("client_case.id", ondelete="CASCADE"))
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LinkCode(Base):
    """A one-time code the coordinator gives a person; only its keyed hash is stored."""

    __tablename__ = "link_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("client_case.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LinkAttempt(Base):
    """Every code tried, for the lockout after repeated wrong codes."""

    __tablename__ = "link_attempt"
    __table_args__ = (Index("ix_link_attempt_key_at", "attempt_key", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_key: Mapped[str] = mapped_column(String(96))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    """Who read or changed which case, when."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_case_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(96))
    case_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)


class SlotKind(enum.StrEnum):
    OFFICE = "office"
    PHONE = "phone"
    VIDEO = "video"


class AppointmentSlot(Base):
    """A time the coordinator is free to meet someone. Stored in UTC; shown in Helsinki time."""

    __tablename__ = "appointment_slot"
    __table_args__ = (
        Index("ix_appointment_slot_municipality_starts_at", "municipality", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality: Mapped[str] = mapped_column(String(64))
    coordinator_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL")
    )
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(16), default=SlotKind.OFFICE)
    location: Mapped[str | None] = mapped_column(Text)  # the address of an office meeting
    # A blocked slot stays in the calendar but cannot be booked.
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- Bookings: a person's meeting with the coordinator in one of the free slots. ----------


class BookingPurpose(enum.StrEnum):
    ASSESSMENT = "assessment"  # assessment of skills and service needs
    PLAN = "plan"  # integration plan
    GUIDANCE = "guidance"
    OTHER = "other"


class BookingStatus(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    MOVED = "moved"  # replaced by the booking whose `replaces_id` points here


ACTIVE_BOOKING = text("status = 'booked'")


class Booking(Base):
    __tablename__ = "booking"
    __table_args__ = (
        # One booking per slot, guaranteed by the database: a partial unique index, so a
        # cancelled or moved booking frees its slot while its history stays.
        Index(
            "uq_booking_active_slot",
            "slot_id",
            unique=True,
            sqlite_where=ACTIVE_BOOKING,
            postgresql_where=ACTIVE_BOOKING,
        ),
        Index("ix_booking_conversation_id", "conversation_id"),
        Index("ix_booking_case_id", "case_id"),
        Index("ix_booking_client_network", "client_network"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("appointment_slot.id", ondelete="RESTRICT"))
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversation.id", ondelete="SET NULL")
    )
    case_id: Mapped[int | None] = mapped_column(ForeignKey("client_case.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))  # of the conversation: reminders use it
    purpose: Mapped[str] = mapped_column(String(16))
    meeting_language: Mapped[str] = mapped_column(String(8))
    interpreter_language: Mapped[str | None] = mapped_column(String(64))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(200))  # phone or e-mail
    # The conversation's client network when booked (a pseudonym): kept on the booking so
    # that deleting the conversation does not reset the limit on bookings per network.
    client_network: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=BookingStatus.BOOKED)
    replaces_id: Mapped[int | None] = mapped_column(Integer)  # the booking this one moved
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Why it was cancelled, when it was not the person through the assistant: "erasure"
    # (the person had their data erased), shown in the coordinator's calendar.
    cancel_reason: Mapped[str | None] = mapped_column(String(32))
    reminder_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    slot: Mapped[AppointmentSlot] = relationship()


# --- The coordinator side: handoff history, notes, sign-in. --------------------------------


class CoordinatorRole(enum.StrEnum):
    COORDINATOR = "coordinator"  # works their own municipality
    ADMINISTRATOR = "administrator"  # every municipality


class HandoffEvent(Base):
    """Every change of a conversation's state, by whom and why."""

    __tablename__ = "handoff_event"
    __table_args__ = (Index("ix_handoff_event_conversation_id", "conversation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(96))
    reason: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConversationNote(Base):
    """The coordinator's internal note on a conversation; never shown to the person."""

    __tablename__ = "conversation_note"
    __table_args__ = (Index("ix_conversation_note_conversation_id", "conversation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    coordinator_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CoordinatorSession(Base):
    """A signed-in browser. The cookie holds a secret; only its hash is stored."""

    __tablename__ = "coordinator_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    coordinator_id: Mapped[int] = mapped_column(ForeignKey("coordinator.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SignInAttempt(Base):
    """Every sign-in try, for the lockout after repeated failures."""

    __tablename__ = "sign_in_attempt"
    __table_args__ = (
        Index("ix_sign_in_attempt_username_at", "username", "at"),
        Index("ix_sign_in_attempt_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    # A keyed hash of the client's network (`address_pseudonym`), never the address itself.
    address: Mapped[str | None] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MaintenanceLease(Base):
    """Who runs a periodic job (the daily purge) until when. Several app processes may run;
    the one that takes or renews the lease does the work, the others skip it."""

    __tablename__ = "maintenance_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When the job last finished: the next run is due a day later.
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- Statistics: daily aggregates per municipality (bot/statistics/). ---------------------
# Nothing here identifies a person, and nothing points at a personal row, so erasing a
# conversation or purging old ones never changes a past figure.


class StatisticsDay(Base):
    """The claim of one municipality's day: inserted in the same transaction as the day's
    figures, so with several app processes a day is counted exactly once."""

    __tablename__ = "statistics_day"

    municipality: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    built_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StatisticsCount(Base):
    """One figure of a day: `measure` (e.g. "conversations_by_language") and its `key`."""

    __tablename__ = "statistics_count"

    municipality: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    measure: Mapped[str] = mapped_column(String(48), primary_key=True)
    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class StatisticsWait(Base):
    """How long one handoff waited for a coordinator, without whose it was: the medians
    and 90th percentiles of any period are computed from these."""

    __tablename__ = "statistics_wait"
    __table_args__ = (Index("ix_statistics_wait_municipality_day", "municipality", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(32))
    seconds: Mapped[int] = mapped_column(Integer)


class NluReview(Base):
    """The intent a coordinator says a not-understood message should have had. Goes with
    the message: erasure and retention remove it too."""

    __tablename__ = "nlu_review"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), primary_key=True
    )
    intent: Mapped[str] = mapped_column(String(64))
    reviewed_by: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL")
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OfferedSlot(Base):
    """A slot the server offered to a conversation as a button. A booking takes only a slot
    offered to its own conversation, whatever a tracker says."""

    __tablename__ = "offered_slot"
    __table_args__ = (UniqueConstraint("conversation_id", "slot_id", name="uq_offered_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("appointment_slot.id", ondelete="CASCADE"))
    offered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
