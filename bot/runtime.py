"""The process's dependencies, in one place.

Every process (the app, the action server, the CLI, a test) works from one `Runtime`: the
settings it runs with, and what is built from them on first use: the database engine and
sessions, the answers' content, the municipalities' settings, the translator, the
coordinator app's templates. Each is declared where it belongs (the engine in `bot.db`, the
content in `bot.nlg.content`, ...) as a `Resource` with the function that builds it, and
built once per runtime, the first time it is asked for. Nothing is built at import.

The runtime is made from the environment the first time anything asks for it
(`current()`); the app's and the CLI's entry points do that before they start work. A test
that needs other settings changes the environment and calls `reset()` (the old runtime's
resources are closed: engines disposed, the translator's workers stopped), or installs a
runtime it built itself (`install(Runtime(settings))`). No module keeps a cache of its own
of anything that depends on the settings; only pure functions of constants are memoised
where they live (the language detector's model, Babel's calendar names, the coordinator
app's templates and texts, which come with the code).

The app's own objects that live as long as it serves and need its event loop (the HTTP
client, the conversation store and router, a Telegram channel per bot) are made by its
lifespan from the runtime and kept on `app.state` (`bot/app.py`); the rate limits and
stream counts (`bot/shared_state.py`) are made with the app and closed by its lifespan.
A running process may put a newly built resource in place of the old one (`replace`): the
content reload does (`bot/content_reload.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from bot.settings import Settings, load_settings

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Resource(Generic[T]):
    """Something a runtime builds once from its settings (`build` may ask the runtime for
    other resources), and closes with `close` when the runtime is closed."""

    name: str
    build: Callable[[Runtime], T]
    close: Callable[[T], None] | None = None


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._built: dict[Resource[Any], Any] = {}
        # Reentrant: building the sessions builds the engine first.
        self._lock = threading.RLock()

    def get(self, resource: Resource[T]) -> T:
        """The resource, built on the first call (once, whatever the threads)."""
        try:
            return cast(T, self._built[resource])
        except KeyError:
            pass
        with self._lock:
            if resource not in self._built:
                self._built[resource] = resource.build(self)
            return cast(T, self._built[resource])

    def replace(self, resource: Resource[T], value: T) -> None:
        """Puts a newly built `value` in place of the resource's (content reloaded while
        the process runs, `bot.content_reload`); the old one is closed, if it has a close.
        Whoever asks after this gets the new one; whoever holds the old one keeps it."""
        with self._lock:
            old = self._built.get(resource)
            had = resource in self._built
            self._built[resource] = value
        if had and resource.close is not None and old is not value:
            resource.close(cast(T, old))

    def is_built(self, resource: Resource[Any]) -> bool:
        return resource in self._built

    def close(self) -> None:
        """Closes what was built, the latest first; the runtime may be used again after."""
        with self._lock:
            built, self._built = self._built, {}
        for resource, value in reversed(list(built.items())):
            if resource.close is not None:
                resource.close(value)


_lock = threading.Lock()
_current: Runtime | None = None


def current() -> Runtime:
    """The process's runtime, made from the environment (and `.env`) on the first call."""
    global _current
    runtime = _current
    if runtime is None:
        with _lock:
            if _current is None:
                _current = Runtime(load_settings())
            runtime = _current
    return runtime


def install(runtime: Runtime) -> Runtime | None:
    """Makes `runtime` the process's; returns the one it replaces, which stays open."""
    global _current
    with _lock:
        previous, _current = _current, runtime
    return previous


def reset() -> None:
    """Closes the process's runtime; the next `current()` makes one from the environment."""
    global _current
    with _lock:
        previous, _current = _current, None
    if previous is not None:
        previous.close()


def get_settings() -> Settings:
    return current().settings
