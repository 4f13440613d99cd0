"""Cases in the coordinator app: searching, reading, updating and making a link code, each
written to the audit log. The functions on a session hold the queries; `CaseService` does
the work, one short session per call, and never shows a coordinator a case of a
municipality they may not see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.bookings.service import BookingView
from bot.cases import audit
from bot.cases.linking import issue_code
from bot.coordinator.auth import SignedIn
from bot.db.models import (
    AppointmentSlot,
    AssessmentState,
    Booking,
    ChannelIdentity,
    ClientCase,
    Conversation,
    CourseState,
    PlanState,
    utcnow,
)

STATE_FIELDS = (
    ("assessment", [s.value for s in AssessmentState]),
    ("plan", [s.value for s in PlanState]),
    ("orientation", [s.value for s in CourseState]),
    ("training", [s.value for s in CourseState]),
)


def search_cases(session: Session, who: SignedIn, text: str) -> list[ClientCase]:
    query = select(ClientCase).order_by(ClientCase.case_number)
    if not who.is_administrator:
        query = query.where(ClientCase.municipality == who.municipality)
    text = text.strip()
    if text:
        like = f"%{text.lower()}%"
        query = query.where(
            or_(
                func.lower(ClientCase.full_name).like(like),
                ClientCase.case_number.like(f"%{text}%"),
            )
        )
    found = list(session.scalars(query.limit(100)))
    audit.record(
        session,
        actor=f"coordinator:{who.username}",
        case_id=None,
        action="search",
        detail=text[:100],
    )
    return found


def case_of(session: Session, case_id: int, who: SignedIn) -> ClientCase | None:
    case = session.get(ClientCase, case_id)
    if case is None or not who.may_see(case.municipality):
        return None
    return case


def conversations_of_case(session: Session, case_id: int) -> list[Conversation]:
    ids = session.scalars(
        select(ChannelIdentity.external_id).where(ChannelIdentity.case_id == case_id)
    )
    return list(session.scalars(select(Conversation).where(Conversation.id.in_(list(ids)))))


def bookings_of_case(session: Session, case_id: int) -> list[BookingView]:
    rows = session.scalars(
        select(Booking)
        .join(Booking.slot)
        .where(Booking.case_id == case_id)
        .order_by(AppointmentSlot.starts_at)
    )
    return [BookingView.of(row) for row in rows]


class CaseService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def search(self, who: SignedIn, text: str) -> list[ClientCase]:
        with self._sessions.begin() as session:
            found = search_cases(session, who, text)
            session.flush()  # the audit entry is written before the rows are detached
            session.expunge_all()
            return found

    def context(self, case_id: int, who: SignedIn, action: str) -> dict[str, Any] | None:
        """The case view's data; reading it is audited as `action`."""
        with self._sessions.begin() as session:
            case = case_of(session, case_id, who)
            if case is None:
                return None
            audit.record(
                session, actor=f"coordinator:{who.username}", case_id=case_id, action=action
            )
            context = {
                "case": case,
                "conversations": conversations_of_case(session, case_id),
                "bookings": bookings_of_case(session, case_id),
                "state_fields": STATE_FIELDS,
            }
            session.flush()  # the audit entry is written before the rows are detached
            session.expunge_all()
            return context

    def update(self, case_id: int, who: SignedIn, form: dict[str, str]) -> bool:
        """The service states and the next step from the form; False when not found."""
        with self._sessions.begin() as session:
            case = case_of(session, case_id, who)
            if case is None:
                return False
            changed = []
            for field, choices in STATE_FIELDS:
                value = form.get(f"{field}_state")
                if value in choices and getattr(case, f"{field}_state") != value:
                    setattr(case, f"{field}_state", value)
                    changed.append(f"{field}={value}")
            next_step = form.get("next_step", "").strip()[:2000] or None
            if next_step != case.next_step:
                case.next_step = next_step
                changed.append("next_step")
            audit.record(
                session,
                actor=f"coordinator:{who.username}",
                case_id=case_id,
                action="update",
                detail=", ".join(changed) or None,
            )
            return True

    def link_code(self, case_id: int, who: SignedIn, secret: str) -> str | None:
        """A new link code for the case, shown as "ABC-DEF"; None when not found."""
        with self._sessions.begin() as session:
            if case_of(session, case_id, who) is None:
                return None
            code = issue_code(session, case_id, secret, utcnow())
            audit.record(
                session, actor=f"coordinator:{who.username}", case_id=case_id, action="link-code"
            )
            return f"{code[:3]}-{code[3:]}"
