from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from bot import runtime
from bot.app import create_app
from bot.db import migrate
from bot.settings import ENV_FILE_VARIABLE
from tests.support.fake_rasa import CHANNEL_SECRET, FakeRasa

NLG_TOKEN = "test-nlg-token"


def pytest_configure(config: pytest.Config) -> None:
    """No test reads the developer's `.env`; the subprocesses the tests start inherit it."""
    os.environ[ENV_FILE_VARIABLE] = ""
    # The app's daily purge waits this long before its first look: a test that plants old
    # data runs the purge itself, with the clock it wants.
    os.environ.setdefault("PURGE_CHECK_INTERVAL_SECONDS", "1000000")
    # Production is the default; the tests run as tests unless one says otherwise.
    os.environ["LOTSEN_ENV"] = "test"


def _test_settings(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.setenv("LOTSEN_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("NLG_TOKEN", NLG_TOKEN)
    monkeypatch.setenv("ACTION_SERVER_URL", "http://127.0.0.1:9")
    # Erasure reaches Rasa's tracker store: the test's own, never the developer's.
    monkeypatch.setenv("RASA_TRACKER_URL", f"sqlite:///{tmp_path / 'rasa-tracker.db'}")
    # No packages unless a test installs some: what a developer installed stays out.
    monkeypatch.setenv("TRANSLATION_PACKAGES_DIR", str(tmp_path / "argos-packages"))
    runtime.reset()
    yield database_url
    runtime.reset()


@pytest.fixture
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite database with the newest schema, and settings that point at it."""
    database_url = f"sqlite:///{tmp_path / 'lotsen.db'}"
    migrate.upgrade(database_url)
    yield from _test_settings(database_url, tmp_path, monkeypatch)


@pytest.fixture(scope="session")
def session_postgres_url() -> Iterator[str]:
    """One PostgreSQL database for the whole test session, at the newest schema; dropped
    at the end. Tests that share it start from empty tables (`emptied_postgres`)."""
    name = f"lotsen_test_session_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def emptied_postgres(url: str) -> str:
    """Every table of the session's database emptied (the schema stays), ids from 1."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            tables = connection.scalars(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            ).all()
            if tables:
                listed = ", ".join(f'"{table}"' for table in tables)
                connection.execute(text(f"TRUNCATE {listed} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def settings_on_sqlite_and_postgres(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """As `settings_env`, once on a fresh SQLite database and once on the session's
    PostgreSQL database, emptied. A test module runs on both by overriding `settings_env`
    with it (the API, widget and coordinator HTTP tests do)."""
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'lotsen.db'}"
        migrate.upgrade(database_url)
    else:
        database_url = emptied_postgres(request.getfixturevalue("session_postgres_url"))
    yield from _test_settings(database_url, tmp_path, monkeypatch)


@pytest.fixture
def fake_rasa(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRasa]:
    rasa = FakeRasa()
    rasa.start()
    monkeypatch.setenv("RASA_URL", rasa.url)
    monkeypatch.setenv("RASA_CHANNEL_SECRET", CHANNEL_SECRET)
    monkeypatch.setenv("RASA_TIMEOUT_SECONDS", "5")
    yield rasa
    rasa.stop()


@pytest.fixture
def client(fake_rasa: FakeRasa, settings_env: str) -> Iterator[TestClient]:
    runtime.reset()
    with TestClient(create_app()) as test_client:
        yield test_client


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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at the newest schema, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cases.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    migrate.upgrade(url)
    return url


@pytest.fixture
def settings_on_both_databases(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Process settings pointing at a migrated SQLite or PostgreSQL database."""
    monkeypatch.setenv("LOTSEN_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", database_url)
    runtime.reset()
    yield database_url
    runtime.reset()


@pytest.fixture
def stores(
    database_url: str, tmp_path: Path, fake_rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, str]]:
    """The app on a migrated SQLite or PostgreSQL database, with Rasa's tracker store on the
    same kind of database (a file of its own on SQLite, the same server on PostgreSQL)."""
    tracker_url = (
        f"sqlite:///{tmp_path / 'rasa-tracker.db'}"
        if database_url.startswith("sqlite")
        else database_url
    )
    monkeypatch.setenv("LOTSEN_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("RASA_TRACKER_URL", tracker_url)
    monkeypatch.setenv("NLG_TOKEN", NLG_TOKEN)
    monkeypatch.setenv("TRANSLATION_PACKAGES_DIR", str(tmp_path / "argos-packages"))
    runtime.reset()
    with TestClient(create_app()) as client:
        yield client, tracker_url
    runtime.reset()
