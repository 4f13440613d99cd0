"""Rasa's SQL tracker store, seen from the app: the events of a conversation's sender id.

Rasa Open Source keeps every event of a conversation (what the person typed, the slots of
the booking form) in the `events` table of its tracker store and has no retention of its
own. The app deletes a conversation's rows there by sender id (the conversation id), the
same way on SQLite and on PostgreSQL. Rasa reads the tracker from the store at every
message, so a deleted conversation starts afresh if the person writes again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import CursorResult

from bot.db import make_engine
from bot.runtime import Resource, current

# Rasa 3.6's table (rasa/core/tracker_store.py, SQLTrackerStore.SQLEvent); only the columns
# the app reads are declared.
_metadata = MetaData()
EVENTS = Table(
    "events",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("data", Text),
)


class TrackerStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _exists(self) -> bool:
        # Before Rasa's first conversation the table is not there yet.
        return inspect(self._engine).has_table("events")

    def delete_senders(self, sender_ids: Iterable[str]) -> int:
        """Deletes every event of these sender ids; the number of rows deleted."""
        ids = list(sender_ids)
        if not ids or not self._exists():
            return 0
        with self._engine.begin() as connection:
            result = connection.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(ids)))
            return int(cast("CursorResult[Any]", result).rowcount or 0)

    def events_of(self, sender_id: str) -> list[dict[str, Any]]:
        """The sender's events as Rasa stored them (for an export)."""
        if not self._exists():
            return []
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data)
                .where(EVENTS.c.sender_id == sender_id)
                .order_by(EVENTS.c.id)
            )
            events = []
            for type_name, timestamp, data in rows:
                try:
                    parsed = json.loads(data) if data else None
                except ValueError:
                    parsed = data
                events.append({"type": type_name, "timestamp": timestamp, "data": parsed})
            return events

    def count_events(self, sender_ids: Iterable[str]) -> int:
        ids = list(sender_ids)
        if not ids or not self._exists():
            return 0
        with self._engine.connect() as connection:
            query = select(func.count()).select_from(EVENTS).where(EVENTS.c.sender_id.in_(ids))
            return int(connection.scalar(query) or 0)

    def senders(self) -> set[str]:
        """Every sender id with events (the purge deletes those of conversations gone)."""
        if not self._exists():
            return set()
        with self._engine.connect() as connection:
            return set(connection.scalars(select(EVENTS.c.sender_id).distinct()))


TRACKER_STORE: Resource[TrackerStore] = Resource(
    "Rasa tracker store",
    lambda runtime: TrackerStore(make_engine(runtime.settings.rasa_tracker_url)),
    close=lambda store: store._engine.dispose(),
)


def get_tracker_store() -> TrackerStore:
    return current().get(TRACKER_STORE)
