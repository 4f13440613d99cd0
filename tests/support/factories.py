"""Test data made the way the code makes it: cases through `create_case`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.cases.register import create_case
from bot.db.models import ClientCase, LabourMarketSituation, utcnow


def new_case(
    session: Session,
    *,
    municipality: str = "example",
    full_name: str = "Olena Example",
    language: str = "uk",
    now: datetime | None = None,
) -> ClientCase:
    return create_case(
        session,
        municipality=municipality,
        full_name=full_name,
        preferred_language=language,
        situation=LabourMarketSituation.OUTSIDE_LABOUR_FORCE,
        health_or_social_challenges=False,
        actor="test",
        now=now or utcnow(),
    )
