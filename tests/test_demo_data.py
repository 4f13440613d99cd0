"""`lotsen demo-data` on SQLite and PostgreSQL: a coordinator, cases, codes and free slots."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.cases.demo import add_demo_data
from bot.db import get_sessionmaker
from bot.db.models import AppointmentSlot, ClientCase, Coordinator
from bot.runtime import get_settings


def test_demo_data_once(settings_on_both_databases: str) -> None:
    with get_sessionmaker().begin() as session:
        lines = add_demo_data(session, get_settings())
    assert any("link code" in line for line in lines)
    with get_sessionmaker()() as session:
        assert session.scalar(select(func.count(Coordinator.id))) == 1
        states = set(session.scalars(select(ClientCase.plan_state)))
        assert {"none", "in_progress", "done"} <= states
        slots = session.scalars(select(AppointmentSlot).order_by(AppointmentSlot.starts_at)).all()
    assert len(slots) == 40
    helsinki = ZoneInfo("Europe/Helsinki")
    for slot in slots:
        starts = slot.starts_at.replace(tzinfo=slot.starts_at.tzinfo or UTC)
        local = starts.astimezone(helsinki)
        assert starts > datetime.now(UTC)
        assert local.weekday() <= 3 and local.hour in (9, 10, 13, 14)
    with get_sessionmaker().begin() as session:
        again = add_demo_data(session, get_settings())
    assert "already" in again[0]
    with get_sessionmaker()() as session:
        assert session.scalar(select(func.count(AppointmentSlot.id))) == 40
