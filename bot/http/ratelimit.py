"""Sliding-window rate limits kept in the app's memory.

Per process: behind several app processes each one counts on its own, so the effective
limit is multiplied by their number. That is enough to stop a script flooding the
assistant (and Rasa) from one address or through one conversation; it is not an
accounting system.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


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

    def hit(self, key: str) -> float | None:
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

    def forget(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)


def retry_after_header(seconds: float) -> str:
    """Whole seconds, at least one, as Retry-After wants them."""
    return str(max(1, math.ceil(seconds)))


class RateLimits:
    """The limits of one app: messages per conversation and per address a minute, new
    conversations per address in ten minutes."""

    def __init__(
        self, conversation_messages: int, address_messages: int, address_conversations: int
    ) -> None:
        self.conversation_messages = SlidingWindowLimiter(conversation_messages, 60)
        self.address_messages = SlidingWindowLimiter(address_messages, 60)
        self.address_conversations = SlidingWindowLimiter(address_conversations, 600)
