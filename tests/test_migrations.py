"""Migrations run up from empty and back down, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text

from bot.db import make_engine, migrate

POSTGRES_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    name = f"lotsen_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def assert_round_trip(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    assert {"conversation", "message", "alembic_version"} <= tables
    migrate.downgrade(database_url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(database_url)
    assert "message" in inspect(engine).get_table_names()
    engine.dispose()


def test_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert_round_trip(f"sqlite:///{tmp_path / 'x.db'}")


@pytest.mark.postgres
def test_postgresql(postgres_url: str) -> None:
    assert_round_trip(postgres_url)
