"""One engine and one sessionmaker per runtime, made on first use, never at import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.runtime import Resource, current


def make_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the app read while another process (the action server) writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL survives a crash of any process; only a power cut can lose the
    # last commits. PostgreSQL is the production database.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


ENGINE: Resource[Engine] = Resource(
    "database engine",
    lambda runtime: make_engine(runtime.settings.database_url),
    close=lambda engine: engine.dispose(),
)
SESSIONS: Resource[sessionmaker[Session]] = Resource(
    "database sessions",
    lambda runtime: sessionmaker(runtime.get(ENGINE), expire_on_commit=False),
)


def get_engine() -> Engine:
    return current().get(ENGINE)


def get_sessionmaker() -> sessionmaker[Session]:
    return current().get(SESSIONS)
