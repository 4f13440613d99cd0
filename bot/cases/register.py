"""Creating cases and reading them, each read written to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.cases.audit import record
from bot.cases.linking import identity_of_conversation
from bot.db.models import (
    AssessmentState,
    ChannelIdentity,
    ClientCase,
    CourseState,
    LabourMarketSituation,
    PlanState,
    ResponsibleAuthority,
)


def responsible_authority_for(
    situation: LabourMarketSituation, health_or_social_challenges: bool
) -> ResponsibleAuthority:
    """Who handles the assessment and the plan, as the programme assigns it."""
    if situation == LabourMarketSituation.UNEMPLOYED_JOB_SEEKER:
        return ResponsibleAuthority.EMPLOYMENT_AREA
    if health_or_social_challenges:
        return ResponsibleAuthority.MUNICIPALITY_AND_WELFARE_AREA
    return ResponsibleAuthority.MUNICIPALITY


def create_case(
    session: Session,
    *,
    municipality: str,
    full_name: str,
    preferred_language: str,
    situation: LabourMarketSituation,
    health_or_social_challenges: bool,
    actor: str,
    now: datetime,
) -> ClientCase:
    year_count = session.scalar(
        select(func.count(ClientCase.id)).where(ClientCase.case_number.like(f"{now.year}-%"))
    )
    case = ClientCase(
        case_number=f"{now.year}-{(year_count or 0) + 1:04d}",
        municipality=municipality,
        full_name=full_name,
        preferred_language=preferred_language,
        labour_market_situation=situation,
        responsible_authority=responsible_authority_for(situation, health_or_social_challenges),
        plan_multisectoral=health_or_social_challenges
        and situation != LabourMarketSituation.UNEMPLOYED_JOB_SEEKER,
        assessment_state=AssessmentState.NOT_STARTED,
        plan_state=PlanState.NONE,
        orientation_state=CourseState.NOT_ELIGIBLE_YET,
        training_state=CourseState.NOT_ELIGIBLE_YET,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    record(session, actor=actor, case_id=case.id, action="create", detail=case.case_number)
    return case


@dataclass(frozen=True)
class CaseSnapshot:
    """What a person may be told about their own case."""

    case_number: str
    responsible_authority: str
    assessment_state: str
    assessment_date: date | None
    plan_state: str
    plan_date: date | None
    plan_multisectoral: bool
    orientation_state: str
    training_state: str
    training_language: str | None
    next_step: str | None

    @classmethod
    def of(cls, case: ClientCase) -> CaseSnapshot:
        return cls(
            case_number=case.case_number,
            responsible_authority=case.responsible_authority,
            assessment_state=case.assessment_state,
            assessment_date=case.assessment_date,
            plan_state=case.plan_state,
            plan_date=case.plan_date,
            plan_multisectoral=case.plan_multisectoral,
            orientation_state=case.orientation_state,
            training_state=case.training_state,
            training_language=case.training_language,
            next_step=case.next_step,
        )


def linked_case_id(session: Session, conversation_id: str) -> int | None:
    """The id of the case linked to the conversation's verified identity. Reads only the
    link, not the case, so it is not audited; `case_of_conversation` reads the case."""
    identity = identity_of_conversation(session, conversation_id)
    if identity is None:
        return None
    return session.scalar(
        select(ChannelIdentity.case_id).where(
            ChannelIdentity.channel == identity.channel,
            ChannelIdentity.external_id == identity.external_id,
        )
    )


def case_of_conversation(
    session: Session, conversation_id: str, *, actor: str
) -> CaseSnapshot | None:
    """The case linked to the conversation's verified identity, never any other.

    The conversation id is the one the gateway gave Rasa as the sender; nothing a person
    types, no entity and no slot can choose the case.
    """
    case_id = linked_case_id(session, conversation_id)
    case = None if case_id is None else session.get(ClientCase, case_id)
    if case is None:
        return None
    identity = identity_of_conversation(session, conversation_id)
    record(
        session,
        actor=actor,
        case_id=case.id,
        action="read",
        detail=identity.key if identity is not None else None,
    )
    return CaseSnapshot.of(case)
