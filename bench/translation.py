"""Translation throughput, latency per message, memory, and whether it holds up the event loop.

Several conversations translate their messages at once through one `Translator` (its worker
pool and CTranslate2 models), while a cheap task on the same event loop wakes every 10 ms
and records how late it woke: the event-loop lag, first without translation, then during it.
The cache is off, so every message runs the model.

By default it builds the tests' tiny package (random weights: speed says little about a
real model, but the lag and the plumbing are real). On real packages:

    .venv/bin/lotsen translate install uk en && .venv/bin/lotsen translate install en sv
    .venv/bin/python -m bench.translation --packages-dir var/argos-packages \\
        --source uk --target sv --conversations 1,4,16
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from bot.translation import Translator
from bot.translation.sentences import split_sentences

TICK_SECONDS: Final = 0.01
MESSAGES: Final = {
    "uk": (
        "Привіт! Що таке план інтеграції?",
        "Я хочу записатися на зустріч з координатором. Чи можна у вівторок о 10:00?",
        "Хто відповідає за мої послуги інтеграції? Я не зареєстрований як безробітний.",
        "Мій код 482-913. Дякую за допомогу!",
        "Чи можу я отримати перекладача на зустріч? Я погано розмовляю англійською.",
    ),
    "en": (
        "Hello! What is an integration plan?",
        "I would like to book a meeting with the coordinator. Is Tuesday at 10:00 possible?",
        "Who is responsible for my integration services? I am not registered as unemployed.",
        "My code is 482-913. Thank you for your help!",
        "Can I get an interpreter for the meeting? I do not speak English well.",
    ),
}


def percentile(values: Sequence[float], percent: int) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(percent / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


async def measure_lag(stop: asyncio.Event) -> list[float]:
    lags: list[float] = []
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(TICK_SECONDS)
        lags.append(time.perf_counter() - started - TICK_SECONDS)
    return lags


async def run_level(
    translator: Translator, messages: Sequence[str], source: str, target: str, level: int
) -> dict[str, float]:
    latencies: list[float] = []

    async def conversation(index: int) -> None:
        for turn, message in enumerate(messages):
            # A number makes each text unique, so no two conversations share a translation.
            text = f"{message} ({index}.{turn})"
            started = time.perf_counter()
            result = await translator.translate(text, source, target)
            latencies.append(time.perf_counter() - started)
            assert result is not None

    stop = asyncio.Event()
    lag_task = asyncio.create_task(measure_lag(stop))
    started = time.perf_counter()
    await asyncio.gather(*(conversation(i) for i in range(level)))
    elapsed = time.perf_counter() - started
    stop.set()
    lags = await lag_task
    sentences = sum(len(split_sentences(m)) for m in messages) * level
    return {
        "messages": len(latencies),
        "sentences_per_second": sentences / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "lag_p95_ms": percentile(lags, 95) * 1000,
        "lag_max_ms": max(lags) * 1000,
    }


async def baseline_lag(seconds: float = 0.5) -> list[float]:
    stop = asyncio.Event()
    task = asyncio.create_task(measure_lag(stop))
    await asyncio.sleep(seconds)
    stop.set()
    return await task


def test_package_dir(work: Path) -> Path:
    """The tests' packages, built in a child process: ctranslate2.specs imports torch, which
    would swell the memory measured here while the service never loads it. Unzipped
    directly for the same reason (argostranslate's installer imports stanza and torch)."""
    build = (
        "import sys; from pathlib import Path; "
        "from tests.support.argos_package import build_package; "
        "build_package(Path(sys.argv[1]), 'uk', 'en', 1); "
        "build_package(Path(sys.argv[1]), 'en', 'sv', 2)"
    )
    subprocess.run([sys.executable, "-c", build, str(work)], check=True)
    packages = work / "packages"
    for archive in sorted(work.glob("*.argosmodel")):
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(packages)
    return packages


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as work:
        packages = args.packages_dir or test_package_dir(Path(work))
        translator = Translator(packages, workers=args.workers, cache_size=0)
        if not translator.available(args.source, args.target):
            raise SystemExit(f"no installed path {args.source}→{args.target} in {packages}")
        messages = MESSAGES.get(args.source, MESSAGES["en"])
        print(f"packages: {packages} ({'given' if args.packages_dir else 'test package'})")
        print(f"{args.source}→{args.target}, {args.workers} workers, {len(messages)} messages")
        # The first translation loads the models: timed apart from the rest.
        started = time.perf_counter()
        await translator.translate("warm up", args.source, args.target)
        print(f"model load and first translation: {(time.perf_counter() - started) * 1000:.0f} ms")
        idle = await baseline_lag()
        print(f"event-loop lag without translation: p95 {percentile(idle, 95) * 1000:.1f} ms")
        header = "conversations  messages  sentences/s  p50 ms  p95 ms  lag p95 ms  lag max ms"
        print(header)
        for level in args.conversations:
            row = await run_level(translator, messages, args.source, args.target, level)
            print(
                f"{level:>13}  {row['messages']:>8.0f}  {row['sentences_per_second']:>11.1f}"
                f"  {row['p50_ms']:>6.1f}  {row['p95_ms']:>6.1f}"
                f"  {row['lag_p95_ms']:>10.1f}  {row['lag_max_ms']:>10.1f}"
            )
        translator.close()
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of the process: {peak_mib:.0f} MiB")
        print(f"mean message length: {statistics.mean(len(m) for m in messages):.0f} characters")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages-dir", type=Path, help="installed packages (default: test)")
    parser.add_argument("--source", default="uk")
    parser.add_argument("--target", default="sv")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--conversations",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 4, 16],
        help="comma-separated numbers of concurrent conversations",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
