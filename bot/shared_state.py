"""What the app processes of one installation count together: the rate limits
(`bot.http.ratelimit`) and the event streams open per conversation.

With `LOTSEN_REDIS_URL` set both live in Redis under `LOTSEN_REDIS_PREFIX`, so two or more
app processes behind a proxy allow what one would; unset, each process counts in its own
memory, as a single process needs. An open stream holds a slot that expires unless the
stream renews it (with the chunks it sends, at least every quarter of
`LOTSEN_STREAM_SLOT_SECONDS`): a process that dies (killed, out of memory, the machine
restarted) gives its streams' slots back after that time without anyone cleaning up. The
stream's heartbeat (`WIDGET_EVENTS_HEARTBEAT_SECONDS`) must come well within it.

The app's lifespan makes one `SharedState` (`open_shared_state`) and closes it when it stops.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis import asyncio as redis_asyncio
from redis.exceptions import RedisError

from bot.coordinator.signin import SIGN_IN_FORM_LIMIT, SIGN_IN_FORM_WINDOW_SECONDS
from bot.http.ratelimit import LimiterFactory, RateLimits, memory_limiters, shared_limiters
from bot.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class StreamSlot:
    key: str
    member: str
    renewed: float


class StreamSlots(Protocol):
    async def acquire(self, key: str, most: int) -> StreamSlot | None:
        """A slot for one more open stream of `key`, or None when `most` are open."""

    async def renew(self, slot: StreamSlot) -> None:
        """Tells that the slot's stream is still open (cheap when called often)."""

    async def release(self, slot: StreamSlot) -> None: ...


class MemoryStreamSlots:
    """Open streams counted in this process's memory."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()

    async def acquire(self, key: str, most: int) -> StreamSlot | None:
        if self._open[key] >= most:
            return None
        self._open[key] += 1
        return StreamSlot(key, uuid.uuid4().hex, time.monotonic())

    async def renew(self, slot: StreamSlot) -> None:
        return None

    async def release(self, slot: StreamSlot) -> None:
        self._open[slot.key] -= 1
        if self._open[slot.key] <= 0:
            del self._open[slot.key]


# Each script is one atomic step on Redis's own clock (one round trip, and the processes'
# clocks need not agree). Acquire: forget the key's expired slots, and add one unless `most`
# are open. KEYS[1]: the key's sorted set (member: slot, score: expiry in seconds);
# ARGV: ttl seconds, most, member.
_ACQUIRE = """
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) * 1000))
return 1
"""
# Renew: the slot (if it is still there) lives another ttl, and so does the key.
_RENEW = """
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) * 1000))
return 1
"""


class RedisStreamSlots:
    """Open streams counted in Redis: a sorted set per key whose members are slots and whose
    scores are when each expires."""

    def __init__(
        self,
        client: redis_asyncio.Redis,
        prefix: str,
        ttl_seconds: float,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self.ttl = ttl_seconds
        self.renew_every = ttl_seconds / 4
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)

    def _key(self, key: str) -> str:
        return f"{self._prefix}:streams:{key}"

    async def acquire(self, key: str, most: int) -> StreamSlot | None:
        member = uuid.uuid4().hex
        try:
            added = await self._acquire(keys=[self._key(key)], args=[self.ttl, most, member])
        except RedisError as error:
            # Open rather than refuse: the per-minute limits still hold the stream count down.
            logger.warning("open streams not counted: Redis %s", type(error).__name__)
            return StreamSlot(key, member, time.monotonic())
        return StreamSlot(key, member, time.monotonic()) if added else None

    async def renew(self, slot: StreamSlot) -> None:
        if time.monotonic() - slot.renewed < self.renew_every:
            return
        slot.renewed = time.monotonic()
        try:
            await self._renew(keys=[self._key(slot.key)], args=[self.ttl, slot.member])
        except RedisError as error:
            logger.warning("stream slot not renewed: Redis %s", type(error).__name__)

    async def release(self, slot: StreamSlot) -> None:
        try:
            await self._client.zrem(self._key(slot.key), slot.member)
        except RedisError as error:
            logger.warning("stream slot not released: Redis %s", type(error).__name__)


class SharedState:
    """The rate limits and stream slots of one app, and the Redis client behind them."""

    def __init__(
        self,
        rate_limits: RateLimits,
        stream_slots: StreamSlots,
        client: redis_asyncio.Redis | None = None,
    ) -> None:
        self.rate_limits = rate_limits
        self.stream_slots = stream_slots
        self._client = client

    @property
    def shared(self) -> bool:
        return self._client is not None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def _rate_limits(settings: Settings, make: LimiterFactory) -> RateLimits:
    return RateLimits(
        settings.rate_limit_conversation_messages,
        settings.rate_limit_address_messages,
        settings.rate_limit_address_conversations,
        conversation_streams=settings.rate_limit_conversation_streams,
        address_streams=settings.rate_limit_address_streams,
        address_readiness=settings.rate_limit_address_readiness,
        coordinator_previews=settings.rate_limit_coordinator_previews,
        sign_in_forms=(SIGN_IN_FORM_LIMIT, SIGN_IN_FORM_WINDOW_SECONDS),
        make=make,
    )


def open_shared_state(settings: Settings) -> SharedState:
    """Redis-backed when LOTSEN_REDIS_URL is set, else in this process's memory. Nothing is
    connected yet: the first limit or stream does that."""
    if not settings.lotsen_redis_url:
        return SharedState(_rate_limits(settings, memory_limiters), MemoryStreamSlots())
    client = redis_asyncio.Redis.from_url(
        settings.lotsen_redis_url, socket_timeout=2.0, socket_connect_timeout=2.0
    )
    storage = RedisStorage(
        "async+" + settings.lotsen_redis_url,
        implementation="redispy",
        key_prefix=f"{settings.lotsen_redis_prefix}:limits",
        wrap_exceptions=True,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
    )
    strategy = MovingWindowRateLimiter(storage)
    return SharedState(
        _rate_limits(settings, shared_limiters(strategy, settings.link_code_secret)),
        RedisStreamSlots(client, settings.lotsen_redis_prefix, settings.lotsen_stream_slot_seconds),
        client,
    )
