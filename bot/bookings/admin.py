"""Availability and calendars: `lotsen slots ...`, `lotsen bookings list`, `lotsen
calendar-url` for administrators, and a coordinator's week of slots with their bookings for
the coordinator app's calendar."""

from __future__ import annotations

import csv
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.bookings.service import BookingView
from bot.bookings.times import as_utc, helsinki_to_utc
from bot.db.models import (
    AppointmentSlot,
    Booking,
    BookingStatus,
    ClientCase,
    Coordinator,
    SlotKind,
)


class SlotInputError(ValueError):
    """A slot that cannot be created; the message says why, for the administrator."""


@dataclass(frozen=True)
class SlotInput:
    coordinator: str
    day: date
    start: time
    minutes: int
    kind: SlotKind
    location: str | None


def coordinator_named(session: Session, username: str) -> Coordinator:
    coordinator = session.scalar(select(Coordinator).where(Coordinator.username == username))
    if coordinator is None:
        raise SlotInputError(f"no coordinator {username!r}")
    return coordinator


def add_slots(session: Session, inputs: Iterable[SlotInput], now: datetime) -> tuple[int, int]:
    """Creates the slots; returns (created, already there). A slot at the same time for
    the same coordinator is not created twice, so an import can be run again."""
    created = skipped = 0
    for item in inputs:
        coordinator = coordinator_named(session, item.coordinator)
        if item.minutes <= 0 or item.minutes > 8 * 60:
            raise SlotInputError(f"{item.day} {item.start}: length must be 1-480 minutes")
        if item.kind == SlotKind.OFFICE and not item.location:
            raise SlotInputError(f"{item.day} {item.start}: an office meeting needs an address")
        try:
            starts_at = helsinki_to_utc(item.day, item.start)
        except ValueError as error:
            raise SlotInputError(f"{item.day} {item.start}: {error}") from error
        if starts_at <= now:
            raise SlotInputError(f"{item.day} {item.start}: that time has passed")
        exists = session.scalar(
            select(AppointmentSlot.id).where(
                AppointmentSlot.coordinator_id == coordinator.id,
                AppointmentSlot.starts_at == starts_at,
            )
        )
        if exists is not None:
            skipped += 1
            continue
        session.add(
            AppointmentSlot(
                municipality=coordinator.municipality,
                coordinator_id=coordinator.id,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=item.minutes),
                kind=item.kind,
                location=item.location if item.kind == SlotKind.OFFICE else None,
            )
        )
        created += 1
    session.flush()
    return created, skipped


def weekly(item: SlotInput, weeks: int) -> list[SlotInput]:
    """The same Helsinki wall-clock time on `weeks` consecutive weeks, across summer time."""
    return [
        SlotInput(
            item.coordinator,
            item.day + timedelta(weeks=week),
            item.start,
            item.minutes,
            item.kind,
            item.location,
        )
        for week in range(weeks)
    ]


CSV_COLUMNS = ("coordinator", "date", "start", "minutes", "kind", "location")


def read_slot_csv(path: Path) -> list[SlotInput]:
    """Rows of coordinator,date (YYYY-MM-DD),start (HH:MM, Helsinki time),minutes,
    kind (office/phone/video),location (the address, for office meetings)."""
    inputs = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(CSV_COLUMNS) - set(reader.fieldnames or [])
        if missing - {"location"}:
            raise SlotInputError(f"{path}: missing columns {', '.join(sorted(missing))}")
        for number, row in enumerate(reader, start=2):
            try:
                inputs.append(
                    SlotInput(
                        coordinator=row["coordinator"].strip(),
                        day=date.fromisoformat(row["date"].strip()),
                        start=time.fromisoformat(row["start"].strip()),
                        minutes=int(row["minutes"]),
                        kind=SlotKind(row["kind"].strip().lower()),
                        location=(row.get("location") or "").strip() or None,
                    )
                )
            except (ValueError, KeyError, AttributeError) as error:
                raise SlotInputError(f"{path}, line {number}: {error}") from error
    return inputs


def hash_calendar_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# A feed address works this long; the coordinator renews it in the app's settings. A
# leaked address stops leaking by itself, and an account no one renews goes quiet.
CALENDAR_TOKEN_LIFETIME = timedelta(days=180)


def new_calendar_token(session: Session, username: str, now: datetime) -> str:
    """A new secret for the coordinator's calendar feed; the old URL stops working."""
    coordinator = coordinator_named(session, username)
    return renew_calendar_token(coordinator, now)


def renew_calendar_token(coordinator: Coordinator, now: datetime) -> str:
    token = secrets.token_urlsafe(24)
    coordinator.calendar_token_hash = hash_calendar_token(token)
    coordinator.calendar_token_expires_at = now + CALENDAR_TOKEN_LIFETIME
    return token


def revoke_calendar_token(coordinator: Coordinator) -> None:
    coordinator.calendar_token_hash = None
    coordinator.calendar_token_expires_at = None


def coordinator_of_calendar_token(
    session: Session, token: str, now: datetime
) -> Coordinator | None:
    """The coordinator whose feed `token` opens: only an active account, before the
    address expires."""
    coordinator = session.scalar(
        select(Coordinator).where(Coordinator.calendar_token_hash == hash_calendar_token(token))
    )
    if coordinator is None or not coordinator.active:
        return None
    expires_at = coordinator.calendar_token_expires_at
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:  # SQLite gives naive datetimes back
        expires_at = expires_at.replace(tzinfo=UTC)
    return coordinator if now < expires_at else None


# --- A coordinator's calendar in the coordinator app -------------------------------------


class CalendarUser(Protocol):
    """Who changes slots in the calendar: a coordinator their own, an administrator any."""

    @property
    def id(self) -> int: ...

    @property
    def is_administrator(self) -> bool: ...


@dataclass(frozen=True)
class CalendarSlot:
    id: int
    starts_at: datetime
    ends_at: datetime
    kind: str
    location: str | None
    blocked: bool
    booking: BookingView | None
    case_number: str | None
    coordinator_id: int | None = None
    coordinator_name: str | None = None


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_slots(
    session: Session, coordinator_id: int | None, monday: date, *, municipality: str | None = None
) -> list[CalendarSlot]:
    """One coordinator's slots of the week, or (`coordinator_id` None) every slot of the
    `municipality`, each with its coordinator's name."""
    start = helsinki_to_utc(monday, datetime.min.time())
    end = helsinki_to_utc(monday + timedelta(days=7), datetime.min.time())
    whose = (
        AppointmentSlot.coordinator_id == coordinator_id
        if coordinator_id is not None
        else AppointmentSlot.municipality == municipality
    )
    rows = session.execute(
        select(AppointmentSlot, Coordinator.display_name)
        .outerjoin(Coordinator, Coordinator.id == AppointmentSlot.coordinator_id)
        .where(whose, AppointmentSlot.starts_at >= start, AppointmentSlot.starts_at < end)
        .order_by(AppointmentSlot.starts_at, AppointmentSlot.id)
    ).all()
    slots = [slot for slot, _ in rows]
    names = {slot.id: name for slot, name in rows}
    bookings: dict[int, tuple[Booking, str | None]] = {}
    if slots:
        for booking, number in session.execute(
            select(Booking, ClientCase.case_number)
            .outerjoin(ClientCase, ClientCase.id == Booking.case_id)
            .where(
                Booking.slot_id.in_([s.id for s in slots]), Booking.status == BookingStatus.BOOKED
            )
        ):
            bookings[booking.slot_id] = (booking, number)
    result = []
    for slot in slots:
        booked = bookings.get(slot.id)
        result.append(
            CalendarSlot(
                id=slot.id,
                starts_at=as_utc(slot.starts_at),
                ends_at=as_utc(slot.ends_at),
                kind=slot.kind,
                location=slot.location,
                blocked=slot.blocked,
                booking=BookingView.of(booked[0]) if booked else None,
                case_number=booked[1] if booked else None,
                coordinator_id=slot.coordinator_id,
                coordinator_name=names.get(slot.id),
            )
        )
    return result


def own_slot(session: Session, slot_id: int, user: CalendarUser) -> AppointmentSlot | None:
    slot = session.get(AppointmentSlot, slot_id)
    if slot is None or (slot.coordinator_id != user.id and not user.is_administrator):
        return None
    return slot


def active_booking_of_slot(session: Session, slot_id: int) -> Booking | None:
    return session.scalar(
        select(Booking).where(Booking.slot_id == slot_id, Booking.status == BookingStatus.BOOKED)
    )


def any_booking_of_slot(session: Session, slot_id: int) -> bool:
    return session.scalar(select(Booking.id).where(Booking.slot_id == slot_id).limit(1)) is not None
