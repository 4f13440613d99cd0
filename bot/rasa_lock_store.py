"""Rasa's Redis lock store, made safe for several Rasa servers; runs inside the Rasa server.

Rasa 3.6's RedisLockStore keeps each conversation's ticket lock as one JSON value and changes
it by reading, changing and writing it back. Two Rasa servers taking a message of the same
conversation at the same moment both read the same lock and issue the same ticket number, so
both believe it is their turn: they run at once, and the SQL tracker store then loses the
events of one of them (tests/system/test_cluster.py shows it with ten messages at once). Here
every read-change-write of a conversation's lock runs under a short Redis mutex of that
conversation (redis-py's Lock: SET NX with an expiry), so tickets are issued, served and
removed one at a time across all servers. Waiting for one's turn is unchanged.

Rasa (.venv-rasa, Python 3.10) imports it from endpoints-cluster.yml by its path, so it
imports nothing of the project and only what Rasa itself brings (as bot/rasa_channel.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

# A mutex is held for a few Redis round trips; it expires on its own if its holder dies.
MUTEX_SECONDS = 5.0
# How often a server waiting for the mutex tries again (the lock store is synchronous, so
# this wait blocks the Rasa server's event loop: keep it short).
MUTEX_RETRY_SECONDS = 0.005


class AtomicRedisLockStore(RedisLockStore):  # type: ignore[misc]
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        options: dict[str, Any] = dict(endpoint_config.kwargs)
        super().__init__(host=endpoint_config.url or "localhost", **options)

    @contextmanager
    def _mutex(self, conversation_id: str) -> Iterator[None]:
        with self.red.lock(
            f"{self.key_prefix}mutex:{conversation_id}",
            timeout=MUTEX_SECONDS,
            sleep=MUTEX_RETRY_SECONDS,
            blocking_timeout=MUTEX_SECONDS,
        ):
            yield

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        with self._mutex(conversation_id):
            ticket: int = super().issue_ticket(conversation_id, lock_lifetime)
            return ticket

    def update_lock(self, conversation_id: str) -> None:
        with self._mutex(conversation_id):
            super().update_lock(conversation_id)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        with self._mutex(conversation_id):
            super().cleanup(conversation_id, ticket_number)
