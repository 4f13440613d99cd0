"""Does a conversation in a translated language hold up the others? Through the gateway.

The real router, conversation store (SQLite in a temporary directory) and translator, with
an in-process stand-in for Rasa that answers at once, so that what is measured is the
gateway and the translation. One Swedish conversation takes turns and its latency is
recorded, first alone, then while N Russian conversations take turns at the same time
(each Russian turn: the message into English, the answer and its button back into
Russian). The translator's cache is off, so every translation runs the model.

By default it builds the tests' tiny packages (random weights: the speed says little about
a real model; the sharing of the machine is real). On real packages (ru↔en installed):

    .venv/bin/python -m bench.translated_conversations --packages-dir var/argos-packages
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from bench.translation import percentile
from bot.conversations.router import Inbound, Router
from bot.conversations.store import ConversationStore, ConversationView
from bot.db import get_sessionmaker, migrate
from bot.db.models import LanguageSource
from bot.translation.languages import reachable
from bot.translation.service import get_translator

SWEDISH_TURNS: Final = 30
RUSSIAN_MESSAGES: Final = (
    "Здравствуйте! Что такое план интеграции?",
    "Я хочу записаться на встречу с координатором. Можно во вторник в 10:00?",
    "Кто отвечает за мои услуги по интеграции? Я не зарегистрирован как безработный.",
    "Могу ли я получить переводчика на встречу? Я плохо говорю по-английски.",
)


class InstantRasa:
    """Answers every message at once with a text and a button, as the REST channel does."""

    async def send(self, sender_id: str, message: str, metadata: dict[str, Any]) -> list[Any]:
        await asyncio.sleep(0)
        return [
            {
                "recipient_id": sender_id,
                "text": f"The integration plan is your personal plan. You wrote: {message[:80]}",
                "buttons": [{"title": "Book a meeting", "payload": "/book_appointment"}],
            }
        ]

    async def resume(self, sender_id: str) -> None:
        return None


def build_test_packages(work: Path) -> Path:
    """ru↔en, built in a child process (ctranslate2.specs imports torch, which the service
    never loads)."""
    packages = work / "packages"
    build = (
        "import sys; from pathlib import Path; "
        "from tests.support.argos_package import install_packages; "
        "install_packages(Path(sys.argv[1]), [('ru', 'en'), ('en', 'ru')])"
    )
    subprocess.run([sys.executable, "-c", build, str(packages)], check=True)
    return packages


async def new_conversation(store: ConversationStore, language: str) -> ConversationView:
    conversation, _ = await asyncio.to_thread(
        store.create,
        channel="api",
        municipality="example",
        language=language,
        language_source=LanguageSource.CHOSEN,
    )
    return conversation


async def swedish_turns(router: Router, store: ConversationStore, turns: int) -> list[float]:
    conversation = await new_conversation(store, "sv")
    latencies = []
    for turn in range(turns):
        started = time.perf_counter()
        await router.handle(conversation, Inbound(text=f"Vad är en integrationsplan? ({turn})"))
        latencies.append(time.perf_counter() - started)
    return latencies


async def russian_conversation(
    router: Router, store: ConversationStore, index: int, stop: asyncio.Event
) -> int:
    """Turns one after another until `stop`; at least one. Returns how many."""
    conversation = await new_conversation(store, "ru")
    turns = 0
    while turns == 0 or not stop.is_set():
        message = RUSSIAN_MESSAGES[turns % len(RUSSIAN_MESSAGES)]
        await router.handle(conversation, Inbound(text=f"{message} ({index}.{turns})"))
        turns += 1
    return turns


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as work:
        packages = args.packages_dir or build_test_packages(Path(work))
        # Settings are read on first use, after this: the benchmark's own database.
        os.environ.update(
            DATABASE_URL=f"sqlite:///{Path(work) / 'lotsen.db'}",
            TRANSLATION_PACKAGES_DIR=str(packages),
            TRANSLATION_WORKERS=str(args.workers),
            TRANSLATION_CACHE_SIZE="0",
        )
        migrate.upgrade(os.environ["DATABASE_URL"])
        if not reachable("ru"):
            raise SystemExit(f"no packages ru↔en in {packages}")
        store = ConversationStore(get_sessionmaker())
        router = Router(store, InstantRasa())  # type: ignore[arg-type]
        print(f"packages: {packages} ({'given' if args.packages_dir else 'test packages'})")
        print(f"{args.workers} translation workers, cache off, Rasa answers at once")
        await swedish_turns(router, store, 3)  # warm up: content, detector, models
        warm = asyncio.Event()
        warm.set()
        await russian_conversation(router, store, -1, warm)

        header = "russian conversations  sv turn p50 ms  sv turn p95 ms  ru turns/s"
        print(header)
        for level in args.conversations:
            stop = asyncio.Event()
            russians = [
                asyncio.create_task(russian_conversation(router, store, i, stop))
                for i in range(level)
            ]
            started = time.perf_counter()
            latencies = await swedish_turns(router, store, SWEDISH_TURNS)
            stop.set()
            done = sum(await asyncio.gather(*russians))
            elapsed = time.perf_counter() - started
            print(
                f"{level:>21}  {percentile(latencies, 50) * 1000:>14.1f}"
                f"  {percentile(latencies, 95) * 1000:>14.1f}  {done / elapsed:>10.1f}"
            )
        get_translator().close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages-dir", type=Path, help="installed packages (default: test)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--conversations",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[0, 4, 16],
        help="comma-separated numbers of concurrent Russian conversations",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
