"""Sliding-window rate limits: in Redis, shared by every app process, when
LOTSEN_REDIS_URL is set (the `limits` library's moving window); else in each process's
memory, where N processes allow N times the limit. Enough to stop a script flooding the
assistant (and Rasa) from one address or through one conversation; not an accounting
system.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

from limits import RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

logger = logging.getLogger(__name__)


class Limiter(Protocol):
    """At most `limit` events per key within any `window` seconds."""

    limit: int
    window: float

    async def hit(self, key: str) -> float | None:
        """Counts one event for `key`: None when allowed, else the seconds to wait."""

    async def forget(self, key: str) -> None:
        """Forgets the events counted for `key`."""


class SlidingWindowLimiter:
    """At most `limit` events per key within any `window_seconds`."""

    # Keys (addresses, conversations) remembered at most; the least recently used goes
    # first, so a flood of distinct addresses cannot grow the process without bound.
    MAX_KEYS = 100_000

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        # Handlers run on the event loop, but tests and threads may share a limiter.
        self._lock = threading.Lock()

    async def hit(self, key: str) -> float | None:
        return self.hit_now(key)

    def hit_now(self, key: str) -> float | None:
        """Counts one event for `key`: None when allowed, else the seconds to wait."""
        now = self._clock()
        with self._lock:
            events = self._events.get(key)
            if events is None:
                events = self._events[key] = deque()
                if len(self._events) > self.MAX_KEYS:
                    self._events.popitem(last=False)
            else:
                self._events.move_to_end(key)
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return max(events[0] + self.window - now, 0.0)
            events.append(now)
            return None

    async def forget(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)


class SharedLimiter:
    """The same limit kept in Redis through `limits` (a moving window: every event's time
    is kept, as in memory), so every process that shares the Redis counts together. When
    Redis does not answer, the event is allowed and a warning logged: the limits protect
    the service and must not become the reason it stops."""

    def __init__(
        self,
        strategy: MovingWindowRateLimiter,
        name: str,
        limit: int,
        window_seconds: float,
        secret: str,
    ) -> None:
        self._strategy = strategy
        self.name = name
        self.limit = limit
        self.window = window_seconds
        self._secret = secret.encode()

    def _key(self, key: str) -> str:
        # Addresses and conversation ids reach Redis only as keyed pseudonyms.
        return hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()[:32]

    def _item(self) -> RateLimitItemPerSecond:
        # Read each time: a test (or an operator's shell) may change `limit`.
        return RateLimitItemPerSecond(self.limit, max(1, math.ceil(self.window)))

    async def hit(self, key: str) -> float | None:
        item = self._item()
        try:
            if await self._strategy.hit(item, self.name, self._key(key)):
                return None
            stats = await self._strategy.get_window_stats(item, self.name, self._key(key))
        except StorageError as error:
            logger.warning("rate limit %s not counted: Redis %s", self.name, error.storage_error)
            return None
        return max(stats.reset_time - time.time(), 0.0)

    async def forget(self, key: str) -> None:
        try:
            await self._strategy.clear(self._item(), self.name, self._key(key))
        except StorageError as error:
            logger.warning("rate limit %s not cleared: Redis %s", self.name, error.storage_error)


def retry_after_header(seconds: float) -> str:
    """Whole seconds, at least one, as Retry-After wants them."""
    return str(max(1, math.ceil(seconds)))


LimiterFactory = Callable[[str, int, float], Limiter]


def memory_limiters(name: str, limit: int, window_seconds: float) -> Limiter:
    return SlidingWindowLimiter(limit, window_seconds)


def shared_limiters(strategy: MovingWindowRateLimiter, secret: str) -> LimiterFactory:
    def make(name: str, limit: int, window_seconds: float) -> Limiter:
        return SharedLimiter(strategy, name, limit, window_seconds, secret)

    return make


class RateLimits:
    """The limits of one app: messages per conversation and per address a minute, new
    conversations per address in ten minutes, event streams opened per conversation and
    per address a minute, readiness checks per address a minute, translation previews per
    coordinator a minute, sign-in form posts per network. `make` builds each limiter (in
    memory unless told otherwise; `bot.shared_state` gives the Redis ones)."""

    def __init__(
        self,
        conversation_messages: int,
        address_messages: int,
        address_conversations: int,
        *,
        conversation_streams: int = 10,
        address_streams: int = 30,
        address_readiness: int = 12,
        coordinator_previews: int = 60,
        sign_in_forms: tuple[int, float] = (30, 15 * 60),
        make: LimiterFactory = memory_limiters,
    ) -> None:
        self.conversation_messages = make("conversation_messages", conversation_messages, 60)
        self.address_messages = make("address_messages", address_messages, 60)
        self.address_conversations = make("address_conversations", address_conversations, 600)
        # Opening event streams a minute: each open stream polls the database.
        self.conversation_streams = make("conversation_streams", conversation_streams, 60)
        self.address_streams = make("address_streams", address_streams, 60)
        # /readyz a minute from one address other than the host's own.
        self.address_readiness = make("address_readiness", address_readiness, 60)
        # Translation previews a minute per coordinator: each runs the translation models.
        self.coordinator_previews = make("coordinator_previews", coordinator_previews, 60)
        # Coordinator sign-in form posts per network (bot/coordinator/signin.py).
        self.sign_in_forms = make("sign_in_forms", *sign_in_forms)
