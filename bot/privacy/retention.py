"""Retention: how long each store keeps personal data, and the purge that enforces it.

Defaults (days), each overridable per municipality under `retention:` in
municipalities/<id>.yml (README, "Personal data"):

- conversations: 90 after the conversation's last message (or after its last coming
  meeting, whichever is later: the purge never cancels a meeting). The whole conversation goes
  (messages, translations, handoff history, notes, the case link, Rasa's tracker events),
  through the same code as erasure.
- booking_contact: 30 after the meeting: the person's name and contact on the booking.
- sign_in_attempts and link_attempts: 30 (they hold addresses and identities, kept only
  for the lockouts, which look back minutes).
- audit: 730. Who read or changed which case, when; kept longer, for oversight.

Stores without a municipality (sign-in and link attempts, the audit log) follow the
default municipality's file (LOTSEN_DEFAULT_MUNICIPALITY).

The app purges once a day by itself (`run_daily_purge`): every replica tries, a lease row
in the database lets exactly one of them run it; `lotsen data purge [--dry-run]` runs it now.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.cases import audit
from bot.db.models import (
    AppointmentSlot,
    AuditEntry,
    Booking,
    BookingStatus,
    Conversation,
    CoordinatorSession,
    LinkAttempt,
    MaintenanceLease,
    Message,
    SignInAttempt,
)
from bot.municipality import UnknownMunicipalityError, get_municipality
from bot.privacy.erasure import ErasureReport, erase_conversation_rows, forget_cached_texts
from bot.privacy.tracker import TrackerStore

logger = logging.getLogger(__name__)

PURGE_LEASE = "daily_purge"
PURGE_EVERY = timedelta(days=1)
# Longer than any purge takes: a replica that died while purging holds it no longer.
LEASE_FOR = timedelta(hours=1)


@dataclass(frozen=True)
class RetentionPeriods:
    """Days each kind of data is kept."""

    conversations: int = 90
    booking_contact: int = 30
    sign_in_attempts: int = 30
    link_attempts: int = 30
    audit: int = 730


def retention_periods(municipality_id: str | None = None) -> RetentionPeriods:
    """The municipality's periods: its file's `retention:` over the defaults."""
    try:
        configured = get_municipality(municipality_id).values.get("retention")
    except UnknownMunicipalityError:
        configured = None
    if not isinstance(configured, dict):
        return RetentionPeriods()
    known = {f.name for f in fields(RetentionPeriods)}
    days: dict[str, int] = {}
    for key, value in configured.items():
        if key not in known or not value.isdigit() or int(value) < 1:
            raise ValueError(f"municipality {municipality_id}: retention.{key} must be whole days")
        days[key] = int(value)
    return RetentionPeriods(**days)


def retention_days_for_people(municipality_id: str | None) -> tuple[int, int]:
    """What people are told (utter_privacy): days kept after the last message, and after
    the meeting."""
    periods = retention_periods(municipality_id)
    return periods.conversations, periods.booking_contact


@dataclass
class PurgeCounts:
    conversations: int = 0
    messages: int = 0
    tracker_events: int = 0
    booking_contacts: int = 0
    sign_in_attempts: int = 0
    link_attempts: int = 0
    audit_entries: int = 0
    coordinator_sessions: int = 0

    def lines(self) -> list[str]:
        return [f"{f.name}: {getattr(self, f.name)}" for f in fields(self)]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _rowcount(result: Any) -> int:
    return int(cast("CursorResult[Any]", result).rowcount or 0)


def _expired_conversations(session: Session, now: datetime) -> list[Conversation]:
    last_message = (
        select(Message.conversation_id, func.max(Message.created_at).label("last"))
        .group_by(Message.conversation_id)
        .subquery()
    )
    # A conversation with a meeting still to come stays until the meeting is past: the
    # purge never cancels a meeting (erasure, which the person asks for, does).
    coming = (
        select(Booking.conversation_id)
        .join(Booking.slot)
        .where(
            Booking.status == BookingStatus.BOOKED,
            AppointmentSlot.ends_at > now,
            Booking.conversation_id.is_not(None),
        )
    )
    rows = session.execute(
        select(Conversation, last_message.c.last)
        .outerjoin(last_message, last_message.c.conversation_id == Conversation.id)
        .where(Conversation.id.not_in(coming))
    )
    periods: dict[str, RetentionPeriods] = {}
    expired = []
    for conversation, last in rows:
        period = periods.setdefault(
            conversation.municipality, retention_periods(conversation.municipality)
        )
        active = _aware(last or conversation.created_at)
        if active < now - timedelta(days=period.conversations):
            expired.append(conversation)
    return expired


def _expired_booking_contacts(session: Session, now: datetime) -> list[Booking]:
    rows = session.scalars(
        select(Booking)
        .join(Booking.slot)
        .where(
            (Booking.contact_name.is_not(None)) | (Booking.contact.is_not(None)),
            AppointmentSlot.ends_at < now,
        )
    )
    return [
        booking
        for booking in rows
        if _aware(booking.slot.ends_at)
        < now - timedelta(days=retention_periods(booking.slot.municipality).booking_contact)
    ]


def purge(
    sessions: sessionmaker[Session],
    tracker: TrackerStore,
    now: datetime,
    *,
    dry_run: bool = False,
) -> PurgeCounts:
    """Deletes (or with `dry_run` only counts) everything past its retention period."""
    counts = PurgeCounts()
    default = retention_periods()
    with sessions.begin() as session:
        report = ErasureReport()
        conversations = _expired_conversations(session, now)
        counts.conversations = len(conversations)
        counts.messages = sum(
            session.scalar(
                select(func.count()).select_from(Message).where(Message.conversation_id == c.id)
            )
            or 0
            for c in conversations
        )
        bookings = _expired_booking_contacts(session, now)
        counts.booking_contacts = len(bookings)
        stores: list[tuple[str, Any, Any, int]] = [
            ("sign_in_attempts", SignInAttempt, SignInAttempt.at, default.sign_in_attempts),
            ("link_attempts", LinkAttempt, LinkAttempt.attempted_at, default.link_attempts),
            ("audit_entries", AuditEntry, AuditEntry.at, default.audit),
        ]
        for name, model, column, days in stores:
            condition = column < now - timedelta(days=days)
            if dry_run:
                found = session.scalar(select(func.count()).select_from(model).where(condition))
                setattr(counts, name, found or 0)
            else:
                setattr(counts, name, _rowcount(session.execute(delete(model).where(condition))))
        gone_sessions = CoordinatorSession.expires_at < now
        if dry_run:
            counts.coordinator_sessions = (
                session.scalar(
                    select(func.count()).select_from(CoordinatorSession).where(gone_sessions)
                )
                or 0
            )
            senders = [c.id for c in conversations]
            senders += _orphaned_senders(session, tracker, set(senders))
            counts.tracker_events = tracker.count_events(senders)
            return counts
        counts.coordinator_sessions = _rowcount(
            session.execute(delete(CoordinatorSession).where(gone_sessions))
        )
        for conversation in conversations:
            erase_conversation_rows(session, conversation, now, report)
        for booking in bookings:
            booking.contact_name = None
            booking.contact = None
            booking.interpreter_language = None
        if any(getattr(counts, f.name) for f in fields(counts)):
            audit.record(
                session,
                actor="purge",
                case_id=None,
                action="purge",
                detail=", ".join(counts.lines()),
            )
        session.flush()
        erased = set(report.sender_ids)
        senders = [*report.sender_ids, *_orphaned_senders(session, tracker, erased)]
    counts.tracker_events = tracker.delete_senders(senders)
    forget_cached_texts()
    return counts


def _orphaned_senders(session: Session, tracker: TrackerStore, erased: set[str]) -> list[str]:
    """Tracker senders with no conversation left (erased earlier, or made without the
    gateway): Rasa's tracker is pruned with the conversations."""
    senders = tracker.senders() - erased
    if not senders:
        return []
    existing = set(session.scalars(select(Conversation.id).where(Conversation.id.in_(senders))))
    return sorted(senders - existing)


# --- One purge a day, in one process. --------------------------------------------------------


def claim_daily_purge(sessions: sessionmaker[Session], holder: str, now: datetime) -> bool:
    """True for exactly one caller once a day, whatever the number of app processes: a
    conditional UPDATE of the lease row, atomic on SQLite and PostgreSQL alike."""
    with sessions.begin() as session:
        if session.get(MaintenanceLease, PURGE_LEASE) is None:
            try:
                with session.begin_nested():
                    session.add(
                        MaintenanceLease(
                            name=PURGE_LEASE,
                            holder="",
                            expires_at=now - LEASE_FOR,
                            last_run_at=None,
                        )
                    )
            except IntegrityError:
                pass  # another process made it a moment ago
        claimed = session.execute(
            update(MaintenanceLease)
            .where(
                MaintenanceLease.name == PURGE_LEASE,
                MaintenanceLease.expires_at < now,
                (MaintenanceLease.last_run_at.is_(None))
                | (MaintenanceLease.last_run_at <= now - PURGE_EVERY),
            )
            .values(holder=holder, expires_at=now + LEASE_FOR)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(claimed) == 1


def finish_daily_purge(sessions: sessionmaker[Session], holder: str, now: datetime) -> None:
    with sessions.begin() as session:
        session.execute(
            update(MaintenanceLease)
            .where(MaintenanceLease.name == PURGE_LEASE, MaintenanceLease.holder == holder)
            .values(last_run_at=now, expires_at=now)
            .execution_options(synchronize_session=False)
        )


def purge_if_due(
    sessions: sessionmaker[Session], tracker: TrackerStore, holder: str, now: datetime
) -> PurgeCounts | None:
    """The purge, when this process holds today's lease; None otherwise."""
    if not claim_daily_purge(sessions, holder, now):
        return None
    counts = purge(sessions, tracker, now)
    finish_daily_purge(sessions, holder, now)
    return counts


async def run_daily_purge(
    sessions: sessionmaker[Session], tracker: TrackerStore, interval_seconds: float
) -> None:
    """The app's purge loop: looks every `interval_seconds` whether today's purge is due,
    the first time after one interval (a restart does not purge at once)."""
    from bot.db.models import utcnow

    holder = secrets.token_hex(8)
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            counts = await asyncio.to_thread(purge_if_due, sessions, tracker, holder, utcnow())
            if counts is not None:
                logger.info("daily purge done: %s", "; ".join(counts.lines()))
        except Exception:
            logger.exception("the daily purge failed; retrying in %s s", interval_seconds)
