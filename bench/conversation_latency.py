"""Conversation API round-trip latency and throughput, side by side with Rasa's own.

The same utterances go through the gateway (`POST /api/v1/conversations/{id}/messages`) and
straight to Rasa's REST webhook, at several concurrency levels, and the gateway's overhead on
Rasa's p95 is printed next to the goal: the gateway adds less than 20%. Then the same load goes
to the cluster (bot/deploy/cluster.py: nginx with TLS, two apps, two Rasa servers, two action
servers, PostgreSQL and Redis), and its throughput at the highest level is compared with the
single Rasa server's: the goal is at least 1.3 times. The memory (RSS) of every process of
both shapes is printed after its measurements.

Rasa renders its replies through the app's /nlg endpoint in both modes, so "direct" is Rasa
as this system deploys it; the difference is what the gateway adds around it (auth, storage,
language handling, the extra HTTP hop).

    .venv/bin/python -m bench.conversation_latency --requests 100 --levels 1,10,50
    .venv/bin/python -m bench.conversation_latency --no-cluster   # the single process only
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import ssl
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

import httpx

from bot.conversations.rasa_client import CHANNEL_SECRET_HEADER
from bot.deploy.cluster import Cluster, ClusterConfig, drop_database, rss_mib
from bot.settings import PROJECT_ROOT
from tests.support.system import RunningSystem

Mode = Literal["direct", "gateway", "cluster"]

GOAL_PERCENT: Final = 20.0
# The cluster's throughput at the highest level against the single Rasa server's.
CLUSTER_GOAL_FACTOR: Final = 1.3
DEFAULT_LEVELS: Final = (1, 50)
MUNICIPALITY: Final = "example"
CHANNEL: Final = "api"
# Generous so that a slow answer is measured rather than dropped; the gateway's own Rasa
# timeout (30 s) fires first, so a gateway request never times out here before Rasa does.
REQUEST_TIMEOUT_SECONDS: Final = 60.0
PERCENTILES: Final = (50, 95, 99)


@dataclass(frozen=True)
class Utterance:
    language: str
    text: str


# Grouped by language as greeting, question, thanks, so that each conversation (one per
# worker and language) hears a plausible dialogue rather than random intents.
UTTERANCES: Final = (
    Utterance("sv", "Hej!"),
    Utterance("sv", "Vad är en integrationsplan?"),
    Utterance("sv", "Tack så mycket!"),
    Utterance("fi", "Hei!"),
    Utterance("fi", "Mikä on kotoutumissuunnitelma?"),
    Utterance("fi", "Kiitos paljon!"),
    Utterance("uk", "Привіт!"),
    Utterance("uk", "Що таке план інтеграції?"),
    Utterance("uk", "Дякую!"),
    Utterance("en", "Hello!"),
    Utterance("en", "What is an integration plan?"),
    Utterance("en", "Thanks, that was helpful."),
)
LANGUAGES: Final = tuple(dict.fromkeys(utterance.language for utterance in UTTERANCES))
TURNS_PER_LANGUAGE: Final = len(UTTERANCES) // len(LANGUAGES)
WARM_UP_REQUESTS: Final = len(UTTERANCES)


def default_requests(concurrency: int) -> int:
    # One worker is slow per request; many workers need more requests to reach steady state.
    return 60 if concurrency == 1 else 200


def percentile(sorted_values: Sequence[float], percent: int) -> float:
    """Nearest-rank percentile: the smallest value with at least `percent`% of values <= it.

    Integer arithmetic keeps the rank exact (0.95 * 20 must be 19, not 19.000000000000004).
    """
    if not sorted_values:
        raise ValueError("no values")
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], not {percent}")
    rank = -(-percent * len(sorted_values) // 100)
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class Urls:
    app: str
    rasa: str
    # Rasa's REST channel answers only with the gateway's secret (bot/rasa_channel.py).
    rasa_channel_secret: str
    # The cluster's public address (nginx), when the cluster is measured.
    cluster: str = ""


@dataclass(frozen=True)
class Conversation:
    """Where one worker's messages in one language go, and how they are addressed."""

    url: str
    headers: dict[str, str]
    language: str
    # Only direct mode names the sender; the gateway knows the conversation from the URL.
    sender: str | None = None

    def body(self, text: str) -> dict[str, object]:
        if self.sender is None:
            return {"text": text}
        # The same metadata the gateway's router sends, so Rasa does the same work in both modes.
        metadata = {"language": self.language, "municipality": MUNICIPALITY, "channel": CHANNEL}
        return {"sender": self.sender, "message": text, "metadata": metadata}


class SetupError(RuntimeError):
    pass


async def open_conversation(
    client: httpx.AsyncClient, urls: Urls, mode: Mode, language: str
) -> Conversation:
    if mode == "direct":
        return Conversation(
            url=f"{urls.rasa}/webhooks/rest/webhook",
            headers={CHANNEL_SECRET_HEADER: urls.rasa_channel_secret},
            language=language,
            sender=f"bench-{uuid.uuid4().hex}",
        )
    base = urls.cluster if mode == "cluster" else urls.app
    response = await client.post(
        f"{base}/api/v1/conversations",
        json={"language": language, "municipality": MUNICIPALITY, "channel": CHANNEL},
    )
    if response.status_code != httpx.codes.CREATED:  # gateway and cluster alike
        raise SetupError(
            f"creating a conversation answered {response.status_code}: {response.text}"
        )
    created = response.json()
    return Conversation(
        url=f"{base}/api/v1/conversations/{created['conversation_id']}/messages",
        headers={"Authorization": f"Bearer {created['token']}"},
        language=language,
    )


@dataclass
class Budget:
    """The requests left in a phase, shared by its workers so a phase sends exactly N."""

    remaining: int

    def take(self) -> bool:
        # No await between the test and the decrement, so asyncio workers cannot both take
        # the last request.
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.errors

    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class Worker:
    """One simulated person: a conversation per language, walking the utterances in turn."""

    conversations: dict[str, Conversation]
    turn: int

    async def run(self, client: httpx.AsyncClient, budget: Budget, samples: Samples) -> None:
        while budget.take():
            utterance = UTTERANCES[self.turn % len(UTTERANCES)]
            self.turn += 1
            conversation = self.conversations[utterance.language]
            started = time.perf_counter()
            try:
                response = await client.post(
                    conversation.url,
                    json=conversation.body(utterance.text),
                    headers=conversation.headers,
                )
            except httpx.HTTPError:
                samples.errors += 1
                continue
            elapsed = time.perf_counter() - started
            if response.status_code == httpx.codes.OK:
                samples.latencies.append(elapsed)
            else:
                samples.errors += 1


async def open_workers(
    client: httpx.AsyncClient, urls: Urls, mode: Mode, count: int
) -> list[Worker]:
    async def one(index: int) -> Worker:
        conversations = {
            language: await open_conversation(client, urls, mode, language)
            for language in LANGUAGES
        }
        # Workers start in different languages so that concurrent requests are not all the
        # same utterance at the same moment.
        return Worker(conversations, turn=index * TURNS_PER_LANGUAGE)

    return list(await asyncio.gather(*(one(index) for index in range(count))))


async def run_phase(
    client: httpx.AsyncClient, workers: Sequence[Worker], requests: int, samples: Samples
) -> None:
    if requests <= 0:
        return
    budget = Budget(requests)
    started = time.perf_counter()
    await asyncio.gather(*(worker.run(client, budget, samples) for worker in workers))
    samples.elapsed += time.perf_counter() - started


@dataclass
class LevelResult:
    concurrency: int
    samples: dict[Mode, Samples] = field(default_factory=dict)


async def run_single_level(
    client: httpx.AsyncClient, urls: Urls, concurrency: int, requests: int
) -> LevelResult:
    """Rasa directly and through the single-process gateway, interleaved."""
    workers: dict[Mode, list[Worker]] = {
        "direct": await open_workers(client, urls, "direct", concurrency),
        "gateway": await open_workers(client, urls, "gateway", concurrency),
    }
    result = LevelResult(concurrency, {"direct": Samples(), "gateway": Samples()})
    first_half = (requests + 1) // 2
    second_half = requests - first_half
    # ABBA order: noise that drifts during a level (thermal throttling, a growing tracker
    # store, another process waking up) lands on both modes about equally.
    order: tuple[tuple[Mode, int], ...] = (
        ("direct", first_half),
        ("gateway", first_half),
        ("gateway", second_half),
        ("direct", second_half),
    )
    for mode, count in order:
        await run_phase(client, workers[mode], count, result.samples[mode])
    return result


async def run_mode_level(
    client: httpx.AsyncClient, urls: Urls, mode: Mode, concurrency: int, requests: int
) -> Samples:
    samples = Samples()
    workers = await open_workers(client, urls, mode, concurrency)
    await run_phase(client, workers, requests, samples)
    return samples


async def warm_up(
    client: httpx.AsyncClient, urls: Urls, modes: Sequence[Mode]
) -> dict[Mode, Samples]:
    """Unmeasured requests in each mode: Rasa's first answers load models and caches."""
    results: dict[Mode, Samples] = {}
    for mode in modes:
        samples = Samples()
        await run_phase(
            client, await open_workers(client, urls, mode, 1), WARM_UP_REQUESTS, samples
        )
        results[mode] = samples
    print(
        "warm-up (not measured): "
        + "; ".join(f"{m} {s.requests} requests, {s.errors} errors" for m, s in results.items())
    )
    return results


def format_ms(samples: Samples, percent: int) -> str:
    if not samples.latencies:
        return "-"
    return f"{percentile(sorted(samples.latencies), percent) * 1000:.1f}"


MODE_LABELS: Final[dict[Mode, str]] = {
    "direct": "rasa",
    "gateway": "single",
    "cluster": "cluster",
}


def print_table(results: Sequence[LevelResult]) -> None:
    print("rasa: one Rasa server's REST webhook; single: `make run`'s app in front of it;")
    print("cluster: nginx (TLS), 2 apps, 2 Rasa servers, 2 action servers, PostgreSQL, Redis")
    header = ("shape", "conc", "requests", "errors", "p50 ms", "p95 ms", "p99 ms", "msgs/s")
    print(f"{header[0]:<8} " + " ".join(f"{column:>9}" for column in header[1:]))
    for result in results:
        for mode, samples in result.samples.items():
            cells = (
                str(result.concurrency),
                str(samples.requests),
                str(samples.errors),
                *(format_ms(samples, percent) for percent in PERCENTILES),
                f"{samples.throughput():.1f}",
            )
            print(f"{MODE_LABELS[mode]:<8} " + " ".join(f"{cell:>9}" for cell in cells))


def overhead_line(result: LevelResult, mode: Mode = "gateway") -> str:
    label = f"c={result.concurrency}:"
    direct_samples, other = result.samples.get("direct"), result.samples.get(mode)
    if not direct_samples or not other or not direct_samples.latencies or not other.latencies:
        return f"{label} no p95 to compare (a mode had no successful request)"
    direct = percentile(sorted(direct_samples.latencies), 95)
    measured = percentile(sorted(other.latencies), 95)
    overhead = (measured / direct - 1) * 100
    verdict = "meets" if overhead <= GOAL_PERCENT else "MISSES"
    return (
        f"{label} {MODE_LABELS[mode]} adds {overhead:+.1f}% to Rasa's p95 "
        f"({direct * 1000:.1f} ms -> {measured * 1000:.1f} ms)"
        + (f": {verdict} the <= {GOAL_PERCENT:.0f}% goal" if mode == "gateway" else "")
    )


def throughput_line(result: LevelResult) -> str:
    direct, cluster = result.samples.get("direct"), result.samples.get("cluster")
    label = f"c={result.concurrency}:"
    if direct is None or cluster is None or direct.throughput() == 0:
        return f"{label} no cluster throughput to compare"
    factor = cluster.throughput() / direct.throughput()
    verdict = "meets" if factor >= CLUSTER_GOAL_FACTOR else "MISSES"
    return (
        f"{label} cluster carries {factor:.2f}x the single Rasa server's throughput "
        f"({direct.throughput():.1f} -> {cluster.throughput():.1f} msgs/s): {verdict} the "
        f">= {CLUSTER_GOAL_FACTOR}x goal"
    )


def usable_cpus() -> int | None:
    # A container or taskset may allow fewer CPUs than the machine has; that is what counts.
    if sys.platform == "linux":
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def requests_for(requests: int | None, concurrency: int) -> int:
    return requests if requests is not None else default_requests(concurrency)


async def benchmark_single(
    urls: Urls, levels: Sequence[int], requests: int | None
) -> list[LevelResult]:
    # Room for both modes' idle keep-alive connections, so neither pays for reconnecting
    # after the other has filled the pool.
    pool = 2 * max(levels) + 4
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    results: list[LevelResult] = []
    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT_SECONDS) as client:
        await warm_up(client, urls, ("direct", "gateway"))
        for concurrency in levels:
            count = requests_for(requests, concurrency)
            print(f"single: {count} requests per mode at concurrency {concurrency} ...", flush=True)
            try:
                results.append(await run_single_level(client, urls, concurrency, count))
            except (SetupError, httpx.HTTPError) as error:
                # Only timings are the point here; a level that cannot start is reported and
                # skipped rather than turned into a failure of the whole run.
                print(f"c={concurrency}: skipped, could not open conversations: {error!r}")
    return results


async def benchmark_cluster(
    urls: Urls, verify: ssl.SSLContext, results: Sequence[LevelResult], requests: int | None
) -> None:
    pool = max(result.concurrency for result in results) + 4
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    async with httpx.AsyncClient(
        limits=limits, timeout=REQUEST_TIMEOUT_SECONDS, verify=verify
    ) as client:
        await warm_up(client, urls, ("cluster",))
        for result in results:
            count = requests_for(requests, result.concurrency)
            print(f"cluster: {count} requests at concurrency {result.concurrency} ...", flush=True)
            try:
                result.samples["cluster"] = await run_mode_level(
                    client, urls, "cluster", result.concurrency, count
                )
            except (SetupError, httpx.HTTPError) as error:
                print(f"c={result.concurrency}: cluster skipped: {error!r}")


def memory_lines(shape: str, pids: dict[str, list[int]]) -> list[str]:
    lines = []
    total = 0.0
    for name, group in pids.items():
        sizes = [size for size in (rss_mib(pid) for pid in group) if size is not None]
        total += sum(sizes)
        detail = " + ".join(f"{size:.0f}" for size in sizes)
        lines.append(f"  {shape:<8} {name:<30} {sum(sizes):>7.0f} MiB  ({detail})")
    lines.append(f"  {shape:<8} {'total':<30} {total:>7.0f} MiB")
    return lines


def single_pids(system: RunningSystem) -> dict[str, list[int]]:
    from bot.deploy.cluster import _descendants

    return {
        name: [process.pid, *_descendants(process.pid)]
        for name, process in system.processes.items()
        if process.poll() is None
    }


BENCH_SETTINGS: Final = {
    # Many conversations from one address at once.
    "RATE_LIMIT_CONVERSATION_MESSAGES": "100000",
    "RATE_LIMIT_ADDRESS_MESSAGES": "100000",
    "RATE_LIMIT_ADDRESS_CONVERSATIONS": "100000",
}


def run_cluster(results: Sequence[LevelResult], requests: int | None, memory: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="lotsen-bench-cluster-") as tmp:
        name = f"lotsen_bench_{uuid.uuid4().hex[:8]}"
        config = ClusterConfig.on_free_ports(Path(tmp), name, extra_settings=dict(BENCH_SETTINGS))
        cluster = Cluster(config)
        print("starting the cluster ...", flush=True)
        started = time.perf_counter()
        try:
            with cluster:
                print(f"cluster ready after {time.perf_counter() - started:.0f} s")
                urls = Urls("", "", "", cluster=cluster.public_url)
                asyncio.run(benchmark_cluster(urls, cluster.ssl_context(), results, requests))
                memory.extend(memory_lines("cluster", cluster.pids()))
        except Exception as error:
            print(f"the cluster did not run: {error}", file=sys.stderr)
        finally:
            drop_database(cluster.app_database_url)
            drop_database(cluster.rasa_database_url)


def parse_levels(value: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {value}"
        ) from error
    if not levels or any(level < 1 for level in levels):
        raise argparse.ArgumentTypeError("levels must be positive integers")
    return levels


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an integer: {value}") from error
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.conversation_latency",
        description=(
            "Starts Rasa, the action server and the app, then measures conversation API "
            "round trips next to the same utterances sent straight to Rasa's REST webhook; "
            "then the same against the cluster (nginx, two apps, two Rasa servers)."
        ),
    )
    parser.add_argument(
        "--requests",
        type=positive_int,
        default=None,
        metavar="N",
        help="measured requests per mode and level (default: 60 at concurrency 1, else 200)",
    )
    parser.add_argument(
        "--levels",
        type=parse_levels,
        default=DEFAULT_LEVELS,
        metavar="C1,C2,...",
        help="concurrent conversations to measure (default: 1,50)",
    )
    parser.add_argument(
        "--no-cluster", action="store_true", help="measure the single-process system only"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    levels: tuple[int, ...] = args.levels
    requests: int | None = args.requests
    print(f"CPUs: {usable_cpus()} usable of {os.cpu_count()}; Python {platform.python_version()}")
    languages = ", ".join(LANGUAGES)
    print(f"levels: {', '.join(map(str, levels))}; utterances: {len(UTTERANCES)} in {languages}")
    print("percentiles: nearest rank over successful requests; non-200 answers count as errors")
    print("order per level: rasa, single, single, rasa (each half the requests), cluster after")
    model_dir = PROJECT_ROOT / "models"
    if not any(model_dir.glob("*.tar.gz")):
        print(f"no trained model in {model_dir}: run `make train` first", file=sys.stderr)
        return 1
    memory: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="lotsen-bench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        print("starting Rasa, the action server and the app ...", flush=True)
        started = time.perf_counter()
        try:
            system = stack.enter_context(RunningSystem(workdir=Path(tmp)))
        except Exception as error:
            print(f"the system did not start: {error}", file=sys.stderr)
            return 1
        print(f"system ready after {time.perf_counter() - started:.0f} s")
        urls = Urls(system.app_url, system.rasa_url, system.rasa_channel_secret)
        results = asyncio.run(benchmark_single(urls, levels, requests))
        memory.extend(memory_lines("single", single_pids(system)))
    if not args.no_cluster and results:
        run_cluster(results, requests, memory)
    print()
    print_table(results)
    print()
    for result in results:
        print(overhead_line(result, "gateway"))
        if "cluster" in result.samples:
            print(overhead_line(result, "cluster"))
    if results and "cluster" in results[-1].samples:
        print(throughput_line(results[-1]))
    print()
    print("memory (RSS, MiB; a process and its children):")
    print("\n".join(memory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
