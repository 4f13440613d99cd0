from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bot import db, municipality
from bot.app import create_app
from bot.db import migrate
from bot.nlg import content
from bot.settings import get_settings
from tests.fake_rasa import FakeRasa

NLG_TOKEN = "test-nlg-token"


def clear_process_caches() -> None:
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()
    content.get_catalog.cache_clear()
    municipality._load.cache_clear()


@pytest.fixture
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite database with the newest schema, and settings that point at it."""
    database_url = f"sqlite:///{tmp_path / 'lotsen.db'}"
    monkeypatch.setenv("LOTSEN_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("NLG_TOKEN", NLG_TOKEN)
    monkeypatch.setenv("ACTION_SERVER_URL", "http://127.0.0.1:9")
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
