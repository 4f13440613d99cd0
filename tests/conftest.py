from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from bot import db, municipality
from bot.app import create_app
from bot.db import migrate
from bot.nlg import content
from bot.settings import get_settings
from bot.translation import service as translation_service
from tests.support.fake_rasa import FakeRasa

NLG_TOKEN = "test-nlg-token"


def reset_translator() -> None:
    """The next get_translator() reads the settings again; the old one's pool is closed."""
    if translation_service.get_translator.cache_info().currsize:
        translation_service.get_translator().close()
    translation_service.get_translator.cache_clear()


def clear_process_caches() -> None:
    reset_translator()
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()
    content.get_catalog.cache_clear()
    municipality._load.cache_clear()
    reset_translator()


@pytest.fixture
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite database with the newest schema, and settings that point at it."""
    database_url = f"sqlite:///{tmp_path / 'lotsen.db'}"
    monkeypatch.setenv("LOTSEN_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("NLG_TOKEN", NLG_TOKEN)
    monkeypatch.setenv("ACTION_SERVER_URL", "http://127.0.0.1:9")
    # No packages unless a test installs some: what a developer installed stays out.
    monkeypatch.setenv("TRANSLATION_PACKAGES_DIR", str(tmp_path / "argos-packages"))
    clear_process_caches()
    migrate.upgrade(database_url)
    yield database_url
    db.get_engine().dispose()
    clear_process_caches()


@pytest.fixture
def fake_rasa(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRasa]:
    rasa = FakeRasa()
    rasa.start()
    monkeypatch.setenv("RASA_URL", rasa.url)
    monkeypatch.setenv("RASA_TIMEOUT_SECONDS", "5")
    yield rasa
    rasa.stop()


@pytest.fixture
def client(fake_rasa: FakeRasa, settings_env: str) -> Iterator[TestClient]:
    get_settings.cache_clear()
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
    clear_process_caches()
    yield database_url
    db.get_engine().dispose()
    clear_process_caches()
