"""Bookings on the real databases: free slots, booking, moving, cancelling, the race for
one slot, reminders, the calendar feed and the administrators' commands."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import cli
from bot.bookings.admin import SlotInput, SlotInputError, add_slots, new_calendar_token, weekly
from bot.bookings.calendar import calendar_text
from bot.bookings.reminders import send_due_reminders
from bot.bookings.service import (
    BookingDetails,
    BookingNotFoundError,
    Owner,
    SlotTakenError,
    book,
    bookings_of_coordinator,
    cancel,
    coming_bookings,
    free_slots,
    move,
)
from bot.bookings.time_request import TimeRequest
from bot.bookings.times import NonexistentLocalTimeError, format_time, helsinki_to_utc
from bot.conversations.store import ConversationStore
from bot.db import make_engine
from bot.db.models import (
    AppointmentSlot,
    AssessmentState,
    AuditEntry,
    Booking,
    BookingPurpose,
    BookingStatus,
    ClientCase,
    Coordinator,
    LanguageSource,
    Message,
    MessageStatus,
    SlotKind,
)
from tests.support.factories import new_case

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 10:00 in Helsinki
DETAILS = BookingDetails(
    purpose=BookingPurpose.ASSESSMENT,
    meeting_language="fi",
    interpreter_language="uk",
    contact_name="Olena Example",
    contact="040 123 4567",
)


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return sessionmaker(make_engine(database_url), expire_on_commit=False)


def add_coordinator(sessions: sessionmaker[Session], username: str = "anna.example") -> int:
    with sessions.begin() as session:
        coordinator = Coordinator(
            municipality="example", username=username, display_name="Anna Example"
        )
        session.add(coordinator)
        session.flush()
        return coordinator.id


def add_slot(sessions: sessionmaker[Session], starts_at: datetime, coordinator_id: int) -> int:
    with sessions.begin() as session:
        slot = AppointmentSlot(
            municipality="example",
            coordinator_id=coordinator_id,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=45),
            kind=SlotKind.OFFICE,
            location="Example street 1",
        )
        session.add(slot)
        session.flush()
        return slot.id


def new_conversation(sessions: sessionmaker[Session], language: str = "uk") -> str:
    view, _ = ConversationStore(sessions).create(
        channel="web",
        municipality="example",
        language=language,
        language_source=LanguageSource.CHOSEN,
    )
    return view.id


def book_for(
    sessions: sessionmaker[Session], slot_id: int, conversation_id: str, case_id: int | None = None
) -> int:
    return book(
        sessions,
        slot_id=slot_id,
        municipality="example",
        conversation_id=conversation_id,
        case_id=case_id,
        channel="web",
        language="uk",
        details=DETAILS,
        now=NOW,
        actor="test",
    ).id


def active_bookings(sessions: sessionmaker[Session], slot_id: int) -> int:
    with sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Booking)
                .where(Booking.slot_id == slot_id, Booking.status == BookingStatus.BOOKED)
            )
            or 0
        )


# --- Time zone and summer time -------------------------------------------------------------


def test_summer_time_starts_on_the_last_sunday_of_march() -> None:
    day = date(2027, 3, 28)
    assert helsinki_to_utc(day, time(2, 30)) == datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
    with pytest.raises(NonexistentLocalTimeError):
        helsinki_to_utc(day, time(3, 30))  # the clocks jump from 03:00 to 04:00
    assert helsinki_to_utc(day, time(4, 30)) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert helsinki_to_utc(day, time(10, 0)) == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)


def test_summer_time_ends_on_the_last_sunday_of_october() -> None:
    day = date(2026, 10, 25)
    # 03:00-03:59 happens twice; the first, still summer time (UTC+3), is meant.
    assert helsinki_to_utc(day, time(3, 30)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert helsinki_to_utc(day, time(10, 0)) == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)
    assert helsinki_to_utc(date(2026, 10, 24), time(10, 0)) == datetime(
        2026, 10, 24, 7, 0, tzinfo=UTC
    )


def test_weekly_slots_keep_their_helsinki_time_across_the_change() -> None:
    starts = [
        helsinki_to_utc(item.day, item.start)
        for item in weekly(
            SlotInput("anna", date(2027, 3, 22), time(10, 0), 45, SlotKind.PHONE, None), 2
        )
    ]
    assert starts == [
        datetime(2027, 3, 22, 8, 0, tzinfo=UTC),
        datetime(2027, 3, 29, 7, 0, tzinfo=UTC),
    ]
    for moment in starts:
        assert "10.00" in format_time(moment, "fi")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("sv", "tisdag 1 december kl. 10.00"),
        ("fi", "tiistaina 1. joulukuuta klo 10.00"),
        ("uk", "вівторок, 1 грудня, 10:00"),
        ("en", "Tuesday 1 December at 10:00"),
    ],
)
def test_times_are_shown_in_helsinki_time_with_the_weekday(language: str, expected: str) -> None:
    assert format_time(datetime(2026, 12, 1, 8, 0, tzinfo=UTC), language) == expected


# --- Free slots ------------------------------------------------------------------------------


def test_free_slots_are_the_next_ones_narrowed_and_paged(sessions: sessionmaker[Session]) -> None:
    coordinator = add_coordinator(sessions)
    # Tuesday 1 to Thursday 3 December, 09:00 and 14:00 Helsinki time, plus one too soon.
    too_soon = add_slot(sessions, NOW + timedelta(minutes=30), coordinator)
    ids = [
        add_slot(sessions, helsinki_to_utc(date(2026, 12, day), time(hour, 0)), coordinator)
        for day in (1, 2, 3)
        for hour in (9, 14)
    ]
    with sessions() as session:
        first = free_slots(session, "example", now=NOW, limit=4)
        second = free_slots(session, "example", now=NOW, offset=4, limit=4)
        wednesday_afternoon = free_slots(
            session,
            "example",
            now=NOW,
            request=TimeRequest(weekday=2, earliest=time(12, 0), latest=time(23, 59)),
        )
        other_municipality = free_slots(session, "elsewhere", now=NOW)
    assert too_soon not in [slot.id for slot in first]
    assert [slot.id for slot in first + second] == ids
    assert [slot.id for slot in wednesday_afternoon] == [ids[3]]
    assert other_municipality == []

    book_for(sessions, ids[0], new_conversation(sessions))
    with sessions() as session:
        assert ids[0] not in [slot.id for slot in free_slots(session, "example", now=NOW)]


# --- Booking, moving, cancelling ------------------------------------------------------------


def test_a_slot_is_booked_once_and_freed_by_cancelling(sessions: sessionmaker[Session]) -> None:
    slot = add_slot(sessions, NOW + timedelta(days=1), add_coordinator(sessions))
    first, second = new_conversation(sessions), new_conversation(sessions)
    booking_id = book_for(sessions, slot, first)
    # A double click on "confirm" returns the same booking, no second row.
    assert book_for(sessions, slot, first) == booking_id
    with pytest.raises(SlotTakenError):
        book_for(sessions, slot, second)
    assert active_bookings(sessions, slot) == 1

    # Someone else cannot cancel it by knowing its number.
    with pytest.raises(BookingNotFoundError):
        cancel(sessions, booking_id=booking_id, owner=Owner(second), now=NOW, actor="test")
    cancel(sessions, booking_id=booking_id, owner=Owner(first), now=NOW, actor="test")
    assert active_bookings(sessions, slot) == 0
    assert book_for(sessions, slot, second) != booking_id


def test_a_slot_in_the_past_or_of_another_municipality_cannot_be_booked(
    sessions: sessionmaker[Session],
) -> None:
    coordinator = add_coordinator(sessions)
    past = add_slot(sessions, NOW - timedelta(days=1), coordinator)
    conversation = new_conversation(sessions)
    with pytest.raises(SlotTakenError):
        book_for(sessions, past, conversation)
    future = add_slot(sessions, NOW + timedelta(days=2), coordinator)
    with pytest.raises(SlotTakenError):
        book(
            sessions,
            slot_id=future,
            municipality="elsewhere",
            conversation_id=conversation,
            case_id=None,
            channel="web",
            language="uk",
            details=DETAILS,
            now=NOW,
            actor="test",
        )
    assert active_bookings(sessions, future) == 0


def test_moving_frees_the_old_slot_only_when_the_new_one_is_taken(
    sessions: sessionmaker[Session],
) -> None:
    coordinator = add_coordinator(sessions)
    old_slot, new_slot, taken_slot = (
        add_slot(sessions, NOW + timedelta(days=days), coordinator) for days in (1, 2, 3)
    )
    mine, someone = new_conversation(sessions), new_conversation(sessions)
    booking_id = book_for(sessions, old_slot, mine)
    book_for(sessions, taken_slot, someone)

    with pytest.raises(SlotTakenError):
        move(
            sessions,
            booking_id=booking_id,
            new_slot_id=taken_slot,
            municipality="example",
            owner=Owner(mine),
            now=NOW,
            actor="test",
        )
    assert active_bookings(sessions, old_slot) == 1

    def crash() -> None:
        raise RuntimeError("the server died half way")

    with pytest.raises(RuntimeError):
        move(
            sessions,
            booking_id=booking_id,
            new_slot_id=new_slot,
            municipality="example",
            owner=Owner(mine),
            now=NOW,
            actor="test",
            before_commit=crash,
        )
    assert active_bookings(sessions, old_slot) == 1
    assert active_bookings(sessions, new_slot) == 0

    moved = move(
        sessions,
        booking_id=booking_id,
        new_slot_id=new_slot,
        municipality="example",
        owner=Owner(mine),
        now=NOW,
        actor="test",
    )
    assert moved.slot.id == new_slot
    assert active_bookings(sessions, old_slot) == 0
    assert active_bookings(sessions, new_slot) == 1
    with sessions() as session:
        assert [b.id for b in coming_bookings(session, Owner(mine), NOW)] == [moved.id]


def test_booking_an_assessment_updates_the_linked_case(sessions: sessionmaker[Session]) -> None:
    slot = add_slot(sessions, NOW + timedelta(days=1), add_coordinator(sessions))
    with sessions.begin() as session:
        case = new_case(session, full_name="Example Person", now=NOW)
        case_id = case.id
    conversation = new_conversation(sessions)
    book_for(sessions, slot, conversation, case_id)
    with sessions() as session:
        case = session.get(ClientCase, case_id)
        assert case is not None
        assert case.assessment_state == AssessmentState.BOOKED
        actions = set(
            session.scalars(select(AuditEntry.action).where(AuditEntry.case_id == case_id))
        )
        assert {"assessment_booked", "booking_made"} <= actions
        # The case's bookings are the person's from any conversation linked to it.
        other = new_conversation(sessions)
        assert len(coming_bookings(session, Owner(other, case_id), NOW)) == 1
        assert coming_bookings(session, Owner(other), NOW) == []


def test_fifty_people_confirm_the_same_slot_at_once_and_one_gets_it(
    sessions: sessionmaker[Session],
) -> None:
    slot = add_slot(sessions, NOW + timedelta(days=1), add_coordinator(sessions))
    conversations = [new_conversation(sessions) for _ in range(50)]
    start = threading.Barrier(50)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(conversation_id: str) -> None:
        start.wait()
        try:
            book_for(sessions, slot, conversation_id)
            result = "booked"
        except SlotTakenError:
            result = "taken"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(c,)) for c in conversations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked"] + ["taken"] * 49
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == 1


# --- Reminders --------------------------------------------------------------------------------


def test_a_reminder_is_sent_once_the_day_before_across_restarts(database_url: str) -> None:
    sessions = sessionmaker(make_engine(database_url), expire_on_commit=False)
    coordinator = add_coordinator(sessions)
    meeting = NOW + timedelta(days=3)
    slot = add_slot(sessions, meeting, coordinator)
    late_slot = add_slot(sessions, NOW + timedelta(hours=10), coordinator)
    cancelled_slot = add_slot(sessions, meeting + timedelta(hours=1), coordinator)
    conversation = new_conversation(sessions, "uk")
    book_for(sessions, slot, conversation)
    # Booked ten hours ahead: the person has just booked, no reminder.
    book_for(sessions, late_slot, new_conversation(sessions))
    cancelled = book_for(sessions, cancelled_slot, new_conversation(sessions))
    cancel(
        sessions,
        booking_id=cancelled,
        owner=Owner(_conversation_of(sessions, cancelled)),
        now=NOW,
        actor="t",
    )

    assert send_due_reminders(sessions, meeting - timedelta(hours=30)) == 0  # too early
    assert send_due_reminders(sessions, meeting - timedelta(hours=20)) == 1
    assert send_due_reminders(sessions, meeting - timedelta(hours=19)) == 0
    sessions.kw["bind"].dispose()

    # The app restarts: a new engine, and the reminder is not sent again.
    restarted = sessionmaker(make_engine(database_url), expire_on_commit=False)
    assert send_due_reminders(restarted, meeting - timedelta(hours=18)) == 0
    with restarted() as session:
        reminders = list(
            session.scalars(select(Message).where(Message.status == MessageStatus.PENDING))
        )
    assert len(reminders) == 1
    assert reminders[0].conversation_id == conversation
    assert reminders[0].language == "uk"
    assert "грудня" in (reminders[0].text or "")  # the date, in Ukrainian
    assert {b["payload"] for b in reminders[0].buttons or []} == {"/my_appointments"}
    restarted.kw["bind"].dispose()


def _conversation_of(sessions: sessionmaker[Session], booking_id: int) -> str:
    with sessions() as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None and booking.conversation_id is not None
        return booking.conversation_id


def test_two_app_processes_send_a_reminder_once(database_url: str) -> None:
    first = sessionmaker(make_engine(database_url), expire_on_commit=False)
    second = sessionmaker(make_engine(database_url), expire_on_commit=False)
    meeting = NOW + timedelta(days=3)
    for hours in range(10):
        slot = add_slot(
            first, meeting + timedelta(hours=hours), add_coordinator(first, f"c{hours}")
        )
        book_for(first, slot, new_conversation(first))
    sent: list[int] = []
    threads = [
        threading.Thread(
            target=lambda s=s: sent.append(send_due_reminders(s, meeting - timedelta(hours=1)))
        )
        for s in (first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(sent) == 10
    with first() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.status == MessageStatus.PENDING)
            )
            == 10
        )


# --- Calendar feed and administration ------------------------------------------------------


def test_calendar_feed_lists_the_coordinators_bookings(sessions: sessionmaker[Session]) -> None:
    coordinator = add_coordinator(sessions)
    slot = add_slot(sessions, datetime(2026, 12, 1, 8, 0, tzinfo=UTC), coordinator)
    booking_id = book_for(sessions, slot, new_conversation(sessions))
    with sessions() as session:
        text = calendar_text(
            bookings_of_coordinator(session, coordinator, NOW),
            "Lotsen: Anna",
            "lotsen.example",
            NOW,
        )
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert f"UID:booking-{booking_id}@lotsen.example" in text
    assert "DTSTART:20261201T080000Z" in text
    assert "STATUS:CONFIRMED" in text
    assert "Olena Example" in text and "040 123 4567" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def test_calendar_feed_over_http(client, settings_env: str) -> None:  # type: ignore[no-untyped-def]
    from bot.db import get_sessionmaker

    sessions = get_sessionmaker()
    coordinator = add_coordinator(sessions)
    slot = add_slot(sessions, datetime.now(UTC) + timedelta(days=2), coordinator)
    book_for(sessions, slot, new_conversation(sessions))
    with sessions.begin() as session:
        token = new_calendar_token(session, "anna.example")
    response = client.get(f"/calendar/{token}.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in response.text
    assert client.get("/calendar/not-the-token.ics").status_code == 404


def test_slot_commands_and_bookings_list(
    settings_on_both_databases: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.db import get_sessionmaker

    add_coordinator(get_sessionmaker())
    assert cli.main(
        [
            "slots", "add", "--coordinator", "anna.example", "--date", "2030-03-25",
            "--start", "10:00", "--minutes", "45", "--location", "Example street 1",
            "--weeks", "2",
        ]
    ) == 0  # fmt: skip
    assert "2 slots created" in capsys.readouterr().out
    csv_file = tmp_path / "slots.csv"
    csv_file.write_text(
        "coordinator,date,start,minutes,kind,location\n"
        "anna.example,2030-03-25,10:00,45,office,Example street 1\n"
        "anna.example,2030-03-26,13:00,30,phone,\n"
    )
    assert cli.main(["slots", "import", str(csv_file)]) == 0
    assert "1 slots created, 1 already there" in capsys.readouterr().out

    # One bad row (a time that does not exist in Helsinki) saves nothing.
    csv_file.write_text(
        "coordinator,date,start,minutes,kind,location\n"
        "anna.example,2030-03-27,10:00,45,video,\n"
        "anna.example,2030-03-31,03:30,45,video,\n"
    )
    assert cli.main(["slots", "import", str(csv_file)]) == 1
    assert "nothing was saved" in capsys.readouterr().err
    with get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(AppointmentSlot)) == 3
        first = session.scalars(select(AppointmentSlot.id).order_by(AppointmentSlot.id)).first()
    assert first is not None

    conversation = new_conversation(get_sessionmaker())
    book(
        get_sessionmaker(),
        slot_id=first,
        municipality="example",
        conversation_id=conversation,
        case_id=None,
        channel="telegram",
        language="uk",
        details=DETAILS,
        now=datetime.now(UTC),
        actor="test",
    )
    assert cli.main(["bookings", "list"]) == 0
    listed = capsys.readouterr().out
    assert "anna.example" in listed and "Olena Example" in listed and "1 coming bookings" in listed
    assert cli.main(["calendar-url", "anna.example"]) == 0
    assert "/calendar/" in capsys.readouterr().out


def test_slots_are_refused_when_they_make_no_sense(sessions: sessionmaker[Session]) -> None:
    add_coordinator(sessions)
    with sessions.begin() as session, pytest.raises(SlotInputError, match="passed"):
        add_slots(
            session,
            [SlotInput("anna.example", date(2020, 1, 1), time(10), 45, SlotKind.PHONE, None)],
            NOW,
        )
    with sessions.begin() as session, pytest.raises(SlotInputError, match="address"):
        add_slots(
            session,
            [SlotInput("anna.example", date(2030, 1, 2), time(10), 45, SlotKind.OFFICE, None)],
            NOW,
        )
    with sessions.begin() as session, pytest.raises(SlotInputError, match="no coordinator"):
        add_slots(
            session,
            [SlotInput("nobody", date(2030, 1, 2), time(10), 45, SlotKind.PHONE, None)],
            NOW,
        )
