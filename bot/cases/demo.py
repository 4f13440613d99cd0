"""`lotsen demo-data`: an example coordinator and cases in different situations, so that
linking and personal answers can be tried at once. Every name is visibly an example."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cases.linking import format_code, issue_code
from bot.cases.register import create_case
from bot.db.models import (
    AppointmentSlot,
    AssessmentState,
    ClientCase,
    Coordinator,
    CourseState,
    LabourMarketSituation,
    PlanState,
    SlotKind,
    utcnow,
)
from bot.municipality import get_municipality
from bot.settings import Settings

DEMO_COORDINATOR = "anna.example"
HELSINKI = ZoneInfo("Europe/Helsinki")
DEMO_SLOT_TIMES = (time(9, 0), time(10, 0), time(13, 0), time(14, 0))
DEMO_SLOT_LENGTH = timedelta(minutes=45)
DEMO_SLOT_WORKING_DAYS = 10


def demo_slots(
    municipality: str, coordinator_id: int, address: str, now: datetime
) -> list[AppointmentSlot]:
    """Free slots on the next working days (Monday to Thursday, the example's office
    hours), at fixed Helsinki times, stored in UTC."""
    slots: list[AppointmentSlot] = []
    day = now.astimezone(HELSINKI).date()
    while len(slots) < DEMO_SLOT_WORKING_DAYS * len(DEMO_SLOT_TIMES):
        day += timedelta(days=1)
        if day.weekday() > 3:
            continue
        for index, start in enumerate(DEMO_SLOT_TIMES):
            starts_at = datetime.combine(day, start, tzinfo=HELSINKI).astimezone(UTC)
            kind = SlotKind.PHONE if index == len(DEMO_SLOT_TIMES) - 1 else SlotKind.OFFICE
            slots.append(
                AppointmentSlot(
                    municipality=municipality,
                    coordinator_id=coordinator_id,
                    starts_at=starts_at,
                    ends_at=starts_at + DEMO_SLOT_LENGTH,
                    kind=kind,
                    location=address if kind == SlotKind.OFFICE else None,
                )
            )
    return slots


def add_demo_data(session: Session, settings: Settings) -> list[str]:
    """Adds the demo data once; returns lines to print (case numbers and fresh codes)."""
    if session.scalar(select(Coordinator).where(Coordinator.username == DEMO_COORDINATOR)):
        return ["demo data is already there; `lotsen case link-code CASE_ID` gives new codes"]
    now = utcnow()
    municipality = settings.lotsen_default_municipality
    coordinator = Coordinator(
        municipality=municipality,
        username=DEMO_COORDINATOR,
        display_name="Anna Exempel (example)",
        role="coordinator",
    )
    session.add(coordinator)
    session.flush()

    def case(
        name: str, language: str, situation: LabourMarketSituation, challenges: bool = False
    ) -> int:
        created = create_case(
            session,
            municipality=municipality,
            full_name=name,
            preferred_language=language,
            situation=situation,
            health_or_social_challenges=challenges,
            actor="cli:demo-data",
            now=now,
        )
        created.coordinator_id = coordinator.id
        return created.id

    plan_in_progress = case("Olena Example", "uk", LabourMarketSituation.OUTSIDE_LABOUR_FORCE)
    job_seeker = case("Sam Example", "en", LabourMarketSituation.UNEMPLOYED_JOB_SEEKER)
    plan_done = case("Maria Exempel", "sv", LabourMarketSituation.OUTSIDE_LABOUR_FORCE)
    multisectoral = case("Matti Esimerkki", "fi", LabourMarketSituation.OUTSIDE_LABOUR_FORCE, True)
    session.flush()

    first = session.get(ClientCase, plan_in_progress)
    done = session.get(ClientCase, plan_done)
    booked = session.get(ClientCase, multisectoral)
    assert first is not None and done is not None and booked is not None
    first.assessment_state, first.assessment_date = AssessmentState.DONE, date(2026, 10, 6)
    first.plan_state = PlanState.IN_PROGRESS
    done.assessment_state, done.assessment_date = AssessmentState.DONE, date(2026, 9, 1)
    done.plan_state, done.plan_date = PlanState.DONE, date(2026, 9, 22)
    done.orientation_state, done.orientation_language = CourseState.ENROLLED, "arabic"
    done.training_state, done.training_language = CourseState.CAN_START, "sv"
    booked.assessment_state = AssessmentState.BOOKED

    address = get_municipality(municipality).variables("sv").get("welcome_office_address", "")
    slots = demo_slots(municipality, coordinator.id, address, now)
    session.add_all(slots)

    lines = [
        f"coordinator {DEMO_COORDINATOR} (municipality {municipality}); to sign in at "
        f"/coordinator/, give it a password: lotsen user create --username {DEMO_COORDINATOR} "
        f'--name "{coordinator.display_name}" --municipality {municipality}',
        f"{len(slots)} free appointment slots from {slots[0].starts_at:%Y-%m-%d} (UTC)",
    ]
    for case_id in (plan_in_progress, job_seeker, plan_done, multisectoral):
        row = session.get(ClientCase, case_id)
        assert row is not None
        code = issue_code(session, case_id, settings.link_code_secret, now)
        lines.append(
            f"case {case_id} {row.case_number} {row.full_name} ({row.preferred_language}): "
            f"link code {format_code(code)}"
        )
    return lines
