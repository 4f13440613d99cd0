"""Migrations run up from empty and back down, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.db import make_engine, migrate
from bot.db.models import Base


def assert_round_trip(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    assert {
        "conversation",
        "message",
        "client_case",
        "channel_identity",
        "link_code",
        "link_attempt",
        "audit_entry",
        "coordinator",
        "appointment_slot",
        "booking",
        "telegram_chat",
        "alembic_version",
    } <= tables
    migrate.downgrade(database_url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(database_url)
    assert "message" in inspect(engine).get_table_names()
    # The models and the migrations describe the same schema.
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    columns = {column["name"] for column in inspect(engine).get_columns("message")}
    assert {"external_id", "delivery_attempts", "next_delivery_at", "delivery_error"} <= columns
    engine.dispose()


def test_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert_round_trip(f"sqlite:///{tmp_path / 'x.db'}")


@pytest.mark.postgres
def test_postgresql(postgres_url: str) -> None:
    assert_round_trip(postgres_url)
