"""Planting unique markers of a person's data in every store, and finding them again."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, create_engine, inspect
from sqlalchemy import select as sa_select

from bot.bookings.service import BookingDetails, book
from bot.db import get_engine, get_sessionmaker
from bot.db.models import (
    AppointmentSlot,
    BookingPurpose,
    ChannelIdentity,
    ConversationNote,
    HandoffEvent,
    LinkAttempt,
    Message,
    MessageSender,
    MessageTranslation,
    pending_message,
    utcnow,
)
from tests.support.factories import new_case


def _letters() -> str:
    # Letters only: the booking form refuses a name with digits in it.
    return uuid.uuid4().hex[:10].translate(str.maketrans("0123456789", "ghijklmnop"))


def _digits() -> str:
    return f"{uuid.uuid4().int % 10**7:07d}"


@dataclass(frozen=True)
class Markers:
    tag: str = field(default_factory=_letters)
    number: str = field(default_factory=_digits)

    @property
    def name(self) -> str:
        return f"Zorya Markerova{self.tag}"

    @property
    def phone(self) -> str:
        return f"+358 40 {self.number}"

    @property
    def email(self) -> str:
        return f"zorya.{self.tag}@example.invalid"

    @property
    def sentence(self) -> str:
        return f"My residence permit story {self.tag} is complicated"

    def all(self) -> list[str]:
        # The tag alone is in all but the phone number: finding it anywhere finds any of them.
        return [self.name, self.phone, self.email, self.sentence, self.tag, self.number]


def rasa_events_table(metadata: MetaData) -> Table:
    """Rasa 3.6's `events` table (SQLTrackerStore.SQLEvent), as the Rasa server makes it."""
    return Table(
        "events",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("sender_id", String(255), nullable=False, index=True),
        Column("type_name", String(255), nullable=False),
        Column("timestamp", Integer),
        Column("intent_name", String(255)),
        Column("action_name", String(255)),
        Column("data", Text),
    )


def plant_tracker_events(tracker_url: str, sender_id: str, markers: Markers) -> None:
    engine = create_engine(tracker_url)
    metadata = MetaData()
    events = rasa_events_table(metadata)
    metadata.create_all(engine)
    with engine.begin() as connection:
        for text in (markers.sentence, markers.name, markers.phone, markers.email):
            connection.execute(
                events.insert().values(
                    sender_id=sender_id,
                    type_name="user",
                    timestamp=1,
                    intent_name="inform",
                    data=json.dumps({"event": "user", "text": text}),
                )
            )
        connection.execute(
            events.insert().values(
                sender_id="someone-else", type_name="user", timestamp=1, data="{}"
            )
        )
    engine.dispose()


def plant_in_app_database(conversation_id: str, markers: Markers, channel: str = "web") -> int:
    """What a conversation with a booking, a handoff, a coordinator reply and a translation
    leaves behind (beyond what the API stored); the id of the coming booking's slot."""
    now = utcnow()
    sessions = get_sessionmaker()
    with sessions.begin() as session:
        case = new_case(session, full_name="Case Register Name")
        case_id = case.id
        session.add(ChannelIdentity(channel=channel, external_id=conversation_id, case_id=case.id))
        for key in (f"conversation:{conversation_id}", f"{channel}:{conversation_id}"):
            session.add(LinkAttempt(attempt_key=key, succeeded=False, attempted_at=now))
        inbound = Message(
            conversation_id=conversation_id,
            direction="in",
            sender="user",
            text=f"Minun tarinani {markers.tag}",
            language="fi",
            status="processed",
        )
        session.add(inbound)
        session.flush()
        session.add(MessageTranslation(message_id=inbound.id, language="en", text=markers.sentence))
        reply = pending_message(
            conversation_id,
            f"Hei {markers.name}",
            "fi",
            MessageSender.COORDINATOR,
            sender_name="Anna",
            original_text=f"Hej {markers.name}, ring {markers.phone}",
            original_language="sv",
        )
        session.add(reply)
        session.add(
            HandoffEvent(
                conversation_id=conversation_id, from_state="bot", to_state="waiting", actor="x"
            )
        )
        session.add(ConversationNote(conversation_id=conversation_id, text=markers.email))
        coming = AppointmentSlot(
            municipality="example",
            starts_at=now + timedelta(days=3),
            ends_at=now + timedelta(days=3, minutes=45),
        )
        past = AppointmentSlot(
            municipality="example",
            starts_at=now - timedelta(days=3),
            ends_at=now - timedelta(days=3) + timedelta(minutes=45),
        )
        session.add_all([coming, past])
        session.flush()
        coming_id, past_id = coming.id, past.id
    for slot_id, contact, when in (
        (coming_id, markers.phone, now),
        (past_id, markers.email, now - timedelta(days=4)),
    ):
        book(
            sessions,
            slot_id=slot_id,
            municipality="example",
            conversation_id=conversation_id,
            case_id=case_id,
            channel=channel,
            language="fi",
            details=BookingDetails(
                purpose=BookingPurpose.GUIDANCE,
                meeting_language="fi",
                interpreter_language="uk",
                contact_name=markers.name,
                contact=contact,
            ),
            now=when,
            actor=f"conversation:{conversation_id}",
        )
    return coming_id


def found_in_database(url: str | None, markers: Markers) -> list[str]:
    """Every table.column of the database (the app's when `url` is None) holding a marker."""
    engine = get_engine() if url is None else create_engine(url)
    found = []
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                for row in connection.execute(sa_select(table)):
                    for column, value in row._mapping.items():
                        text = str(value)
                        if any(marker in text for marker in markers.all()):
                            found.append(f"{table.name}.{column}")
        assert inspect(engine).get_table_names()
    finally:
        if url is not None:
            engine.dispose()
    return found
