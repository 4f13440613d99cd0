"""The production shape under load, with a crash in the middle (bot/deploy/cluster.py).

Real nginx in front of two app processes, two Rasa servers sharing the Redis lock store and
a PostgreSQL tracker store, two action servers, PostgreSQL for the app: all started from the
unit files in deploy/systemd/ and nginx's site file in deploy/nginx/, on free ports and with
databases of this test's own (dropped afterwards).

Fifty people talk at once through nginx; twenty of them book a meeting through the booking
form. Halfway through the turns one Rasa server is killed (SIGKILL, a crash) and one app
process is stopped (SIGTERM, as systemd stops it). Then:
- every message each person sent is stored, in order, and every turn was answered or
  politely deferred ("try again shortly"); a deferred turn is sent again, as a person would;
- every booking form ended with exactly one booking;
- each Rasa tracker holds exactly the answered turns, in the order they were sent;
- both apps and both Rasa servers took turns (nginx's log), and each conversation's turns
  went to both apps;
- once the bookings' reminders fall due, each is queued exactly once although both app
  processes look for due reminders every second.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import signal
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import sleep
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.orm import Session

from bot.bookings.admin import SlotInput, add_slots
from bot.bookings.times import HELSINKI
from bot.conversations.rasa_client import CHANNEL_SECRET_HEADER
from bot.db.models import (
    AppointmentSlot,
    Booking,
    BookingStatus,
    Coordinator,
    Message,
    MessageSender,
    SlotKind,
)
from bot.deploy.cluster import Cluster, ClusterConfig, drop_database
from bot.nlg.render import render_response

pytestmark = pytest.mark.integration

PEOPLE = 50
BOOKERS = 20
# A deferred turn is sent again after a pause, up to this many times.
RETRIES = 30
RETRY_PAUSE_SECONDS = 2.0


def choice(value: str, intent: str = "inform") -> str:
    return f'/{intent}{{"booking_choice": "{value}"}}'


def rendered(name: str) -> str:
    return render_response(name, "en", "example").text


SURNAMES = ["Example", "Esimerkki", "Exempel", "Testinen", "Virtanen", "Korhonen", "Nieminen"]
QUESTIONS = [
    "Hello!",
    "What is an integration plan?",
    "How do I get a Finnish language course?",
    "What is the initial assessment?",
    "Who is my coordinator?",
    "Thanks, that was helpful.",
]


@dataclass
class Outcome:
    conversation_id: str = ""
    sent: list[str] = field(default_factory=list)  # every message, retries included
    answered: list[str] = field(default_factory=list)  # the turns that got an answer
    deferred: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass
class Load:
    turns_done: int = 0
    kill_after: int = 0
    killed: asyncio.Event = field(default_factory=asyncio.Event)
    killed_at: datetime | None = None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    name = f"lotsen_clustertest_{uuid.uuid4().hex[:8]}"
    config = ClusterConfig.on_free_ports(
        Path(tmp_path_factory.mktemp("cluster")),
        name,
        extra_settings={
            # Fifty people from one address.
            "RATE_LIMIT_CONVERSATION_MESSAGES": "100000",
            "RATE_LIMIT_ADDRESS_MESSAGES": "100000",
            "RATE_LIMIT_ADDRESS_CONVERSATIONS": "100000",
            "BOOKING_LIMIT_UNLINKED": "100",
            "REMINDER_INTERVAL_SECONDS": "1",
        },
    )
    running = Cluster(config)
    try:
        with running:
            yield running
    finally:
        drop_database(running.app_database_url)
        drop_database(running.rasa_database_url)


def add_free_times(cluster: Cluster) -> None:
    """More free times than bookers, from the day after tomorrow on."""
    engine = create_engine(cluster.app_database_url)
    with Session(engine) as session, session.begin():
        session.add(Coordinator(municipality="example", username="cluster.test", display_name="A"))
        session.flush()
        today = datetime.now(HELSINKI).date()
        days = [today + timedelta(days=n) for n in range(2, 30)]
        add_slots(
            session,
            [
                SlotInput("cluster.test", day, time(hour), 30, SlotKind.OFFICE, "Street 1")
                for day in days
                if day.weekday() < 5
                for hour in (9, 10, 11, 13, 14, 15)
            ],
            datetime.now(UTC),
        )
    engine.dispose()


def opening(name: str) -> str:
    """A response's words before its first placeholder's line ("Your meeting is booked")."""
    return rendered(name).split(":")[0]


def reply_text(reply: dict[str, Any]) -> str:
    return "\n".join(message["text"] for message in reply["messages"])


def offered_slot(reply: dict[str, Any], person: int) -> str:
    prefix = choice("slot:")[: -len('"}')]
    offered = [
        b["payload"]
        for message in reply["messages"]
        for b in message["buttons"]
        if b["payload"].startswith(prefix)
    ]
    assert offered, reply
    # People take different offered times, some the same: the form copes with both.
    return offered[person % len(offered)]


class Gone(Exception):
    """A turn failed in a way a person could not recover from (recorded in failures)."""


@dataclass
class Talker:
    client: httpx.AsyncClient
    load: Load
    kill: Any
    outcome: Outcome
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    async def turn(self, kind: str, value: str, expect: str | None = None) -> dict[str, Any]:
        """One turn, sent again after a pause while the answer is the polite deferral."""
        unavailable = rendered("utter_service_unavailable")
        body = {"text": value} if kind == "text" else {"payload": value}
        for _attempt in range(RETRIES):
            self.outcome.sent.append(value)
            try:
                response = await self.client.post(self.url, json=body, headers=self.headers)
            except httpx.HTTPError as error:
                self.outcome.failures.append(f"{value!r}: {error!r}")
                raise Gone from error
            if response.status_code != httpx.codes.OK:
                self.outcome.failures.append(f"{value!r}: {response.status_code} {response.text}")
                raise Gone
            reply: dict[str, Any] = response.json()
            if reply_text(reply) != unavailable:
                break
            self.outcome.deferred += 1
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
        else:
            self.outcome.failures.append(f"{value!r}: still deferred after {RETRIES} tries")
            raise Gone
        self.outcome.answered.append(value)
        if expect is not None and not reply_text(reply).startswith(rendered(expect)):
            self.outcome.failures.append(f"{value!r} answered {reply_text(reply)!r}")
            raise Gone
        self.load.turns_done += 1
        if self.load.turns_done == self.load.kill_after:
            await self.kill()
        return reply


async def talk(
    client: httpx.AsyncClient, person: int, load: Load, kill: Any, outcome: Outcome
) -> None:
    created = await client.post("/api/v1/conversations", json={"language": "en"})
    assert created.status_code == 201, created.text
    outcome.conversation_id = created.json()["conversation_id"]
    talker = Talker(
        client,
        load,
        kill,
        outcome,
        url=f"/api/v1/conversations/{outcome.conversation_id}/messages",
        headers={"Authorization": f"Bearer {created.json()['token']}"},
    )
    # Start at different moments, as people do.
    await asyncio.sleep((person % 10) * 0.2)
    try:
        if person >= BOOKERS:
            for question in QUESTIONS:
                await talker.turn("text", question)
            return
        await talker.turn(
            "text", "I want to book a time to meet the coordinator", "utter_ask_booking_purpose"
        )
        await talker.turn("payload", choice("assessment"), "utter_ask_booking_meeting_language")
        await talker.turn("payload", choice("fi"), "utter_ask_booking_interpreter")
        await talker.turn("payload", choice("no"), "utter_ask_booking_contact_name")
        await talker.turn(
            "text", f"Maria {SURNAMES[person % len(SURNAMES)]}", "utter_ask_booking_contact"
        )
        offer = await talker.turn("text", f"person{person}@example.fi", "utter_booking_offer_slots")
        # Twenty people see the same first times: some lose theirs to another person and
        # take one of the next times offered, as the form offers them.
        taken = rendered("utter_booking_slot_taken")
        for _ in range(10):
            summary = await talker.turn("payload", offered_slot(offer, person))
            if reply_text(summary).startswith(taken):
                offer = summary
                continue
            if not reply_text(summary).startswith(opening("utter_ask_booking_confirmed")):
                outcome.failures.append(f"the time answered {reply_text(summary)!r}")
                return
            done = await talker.turn("payload", choice("confirm"))
            if reply_text(done).startswith(
                (opening("utter_booking_done"), opening("utter_booking_already_confirmed"))
            ):
                # Already confirmed: the crashed server booked it and saved the form
                # before its answer was cut off.
                return
            if not reply_text(done).startswith(taken):
                outcome.failures.append(f"confirm answered {reply_text(done)!r}")
                return
            offer = done
        outcome.failures.append("no free time after ten tries")
    except Gone:
        return


async def hold_conversations(cluster: Cluster) -> tuple[list[Outcome], datetime]:
    load = Load(kill_after=(BOOKERS * 8 + (PEOPLE - BOOKERS) * len(QUESTIONS)) // 2)
    rasa = next(i for i in cluster.instances if i.role == "rasa")
    app = next(i for i in cluster.instances if i.role == "app")

    async def kill() -> None:
        # nginx's log has whole seconds: the second of the kill counts as after it.
        load.killed_at = datetime.now(UTC).replace(microsecond=0)
        await asyncio.to_thread(cluster.kill, rasa.name, signal.SIGKILL)
        await asyncio.to_thread(cluster.kill, app.name, signal.SIGTERM)
        load.killed.set()

    outcomes = [Outcome() for _ in range(PEOPLE)]
    limits = httpx.Limits(max_connections=PEOPLE + 5, max_keepalive_connections=PEOPLE + 5)
    async with httpx.AsyncClient(
        base_url=cluster.public_url, verify=cluster.ssl_context(), timeout=90, limits=limits
    ) as client:
        await asyncio.gather(
            *(talk(client, person, load, kill, outcomes[person]) for person in range(PEOPLE))
        )
    assert load.killed.is_set() and load.killed_at, "the load ended before the kill"
    return outcomes, load.killed_at


def stored_inbound(cluster: Cluster) -> dict[str, list[str]]:
    engine = create_engine(cluster.app_database_url)
    stored: dict[str, list[str]] = defaultdict(list)
    with Session(engine) as session:
        for message in session.scalars(
            select(Message).where(Message.sender == MessageSender.USER).order_by(Message.id)
        ):
            stored[message.conversation_id].append(message.payload or message.text or "")
    engine.dispose()
    return stored


def tracker_user_texts(cluster: Cluster) -> dict[str, list[str]]:
    """The user messages in each Rasa tracker, in the order the tracker store holds them,
    after checking that event timestamps never go back within a conversation."""
    engine = create_engine(cluster.rasa_database_url)
    texts: dict[str, list[str]] = defaultdict(list)
    last_timestamp: dict[str, float] = {}
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT sender_id, type_name, timestamp, data FROM events ORDER BY id")
        )
        for sender_id, type_name, timestamp, data in rows:
            assert timestamp >= last_timestamp.get(sender_id, 0.0), (sender_id, type_name)
            last_timestamp[sender_id] = timestamp
            if type_name == "user":
                texts[sender_id].append(json.loads(data)["text"])
    engine.dispose()
    return texts


def is_subsequence(part: list[str], whole: list[str]) -> bool:
    rest = iter(whole)
    return all(any(item == other for other in rest) for item in part)


def upstreams_by_uri(
    cluster: Cluster, killed_at: datetime
) -> tuple[dict[str, set[str]], Counter[str]]:
    """From nginx's access log: which app served each conversation's messages, and how
    many of the apps' calls to Rasa each Rasa server took before the kill."""
    apps: dict[str, set[str]] = defaultdict(set)
    rasa: Counter[str] = Counter()
    pattern = re.compile(r"^(\S+) POST (\S+) 200 \S+ (\S+)$")
    log = cluster.config.state_dir / "nginx" / "access.log"
    rasa_ports = {str(i.port) for i in cluster.instances if i.role == "rasa"}
    for line in log.read_text().splitlines():
        match = pattern.match(line)
        if match is None:
            continue
        uri, upstream = match[2], match[3].split(",")[-1].strip()
        before_kill = datetime.fromisoformat(match[1]) < killed_at
        if (
            uri == "/webhooks/rest/webhook"
            and before_kill
            and upstream.rsplit(":", 1)[-1] in rasa_ports
        ):
            rasa[upstream] += 1
        found = re.fullmatch(r"/api/v1/conversations/([^/]+)/messages", uri)
        if found:
            apps[found[1]].add(upstream)
    return apps, rasa


def tracker_event_types(cluster: Cluster, sender_id: str) -> list[str]:
    engine = create_engine(cluster.rasa_database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT type_name, action_name FROM events WHERE sender_id = :sender ORDER BY id"),
            {"sender": sender_id},
        )
        types = [f"{kind}:{action}" if kind == "action" else kind for kind, action in rows]
    engine.dispose()
    return types


def test_two_rasa_servers_take_turns_of_one_conversation_one_at_a_time(cluster: Cluster) -> None:
    """Ten messages of one conversation at once, five straight to each Rasa server: the
    shared Redis lock makes them wait for each other, so the shared tracker holds ten
    whole turns (each message, its answer, then listening) and nothing twice. With each
    server's own in-memory lock they run at once and the tracker store loses or repeats
    events of one of them."""
    created = httpx.post(
        f"{cluster.public_url}/api/v1/conversations",
        json={"language": "en"},
        verify=cluster.ssl_context(),
    )
    assert created.status_code == 201
    sender = created.json()["conversation_id"]
    rasa_ports = [i.port for i in cluster.instances if i.role == "rasa"]
    secret = cluster.settings()["RASA_CHANNEL_SECRET"]
    metadata = {"language": "en", "municipality": "example", "channel": "api"}

    async def send(client: httpx.AsyncClient, index: int) -> int:
        port = rasa_ports[index % 2]
        response = await client.post(
            f"http://127.0.0.1:{port}/webhooks/rest/webhook",
            json={"sender": sender, "message": QUESTIONS[index % 5], "metadata": metadata},
            headers={CHANNEL_SECRET_HEADER: secret},
        )
        return response.status_code

    async def all_at_once() -> list[int]:
        async with httpx.AsyncClient(timeout=90) as client:
            return list(await asyncio.gather(*(send(client, n) for n in range(10))))

    assert asyncio.run(all_at_once()) == [200] * 10
    types = [t for t in tracker_event_types(cluster, sender) if t != "session_started"]
    assert types.count("user") == 10, types
    # Every turn ends listening, once, before the next message is taken.
    user_positions = [n for n, kind in enumerate(types) if kind == "user"]
    for this, following in itertools.pairwise([*user_positions, len(types)]):
        turn = types[this + 1 : following]
        assert turn and turn[-1] == "action:action_listen", types
        assert turn.count("action:action_listen") == 1, types


def test_fifty_conversations_survive_a_crash_of_one_rasa_and_one_app(cluster: Cluster) -> None:
    add_free_times(cluster)
    outcomes, killed_at = asyncio.run(hold_conversations(cluster))

    failures = [f"person {n}: {f}" for n, o in enumerate(outcomes) for f in o.failures]
    assert failures == [], "\n".join(failures)

    # Every message stored, in the order it was sent, retries included.
    stored = stored_inbound(cluster)
    for outcome in outcomes:
        assert stored[outcome.conversation_id] == outcome.sent

    # Each tracker holds every answered turn, in the order sent, and nothing that was not
    # sent. A deferred turn may be in it too: the Rasa server that crashed may have saved
    # it before the crash cut its answer off (the person then sent it again).
    trackers = tracker_user_texts(cluster)
    extra = 0
    for outcome in outcomes:
        tracked = trackers[outcome.conversation_id]
        assert is_subsequence(outcome.answered, tracked), (outcome.answered, tracked)
        assert is_subsequence(tracked, outcome.sent), (tracked, outcome.sent)
        extra += len(tracked) - len(outcome.answered)
    assert extra <= sum(o.deferred for o in outcomes)

    # Exactly one booking per booking form.
    engine = create_engine(cluster.app_database_url)
    with Session(engine) as session:
        bookings = Counter(
            session.scalars(
                select(Booking.conversation_id).where(Booking.status == BookingStatus.BOOKED)
            )
        )
    bookers = {outcomes[n].conversation_id for n in range(BOOKERS)}
    assert dict(bookings) == dict.fromkeys(bookers, 1)

    # nginx spread the turns: both Rasa servers took a fair share before the kill, both apps
    # served turns, and most conversations had turns on both apps (nginx's round robin is
    # per request, so a conversation's few turns before the kill may all land on one).
    apps, rasa = upstreams_by_uri(cluster, killed_at)
    assert len(rasa) == 2 and min(rasa.values()) >= 0.2 * sum(rasa.values()), rasa
    app_ports = {f"127.0.0.1:{i.port}" for i in cluster.instances if i.role == "app"}
    assert set().union(*apps.values()) == app_ports
    on_both = sum(apps[o.conversation_id] == app_ports for o in outcomes)
    assert on_both >= PEOPLE // 2, f"{on_both} of {PEOPLE} conversations reached both apps"

    # The deferrals came from the crash, and were few.
    deferred = sum(o.deferred for o in outcomes)
    assert deferred <= PEOPLE, deferred

    # Reminders: every booking's meeting moved to within a day, made two days ago. The app
    # process still running and the one started again both look every second.
    app = next(i for i in cluster.instances if i.role == "app")
    cluster.restart(app.name)
    cluster.wait_until_ready(120, names=[app.name])
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        booked = list(
            session.scalars(select(Booking).where(Booking.status == BookingStatus.BOOKED))
        )
        for index, booking in enumerate(booked):
            session.execute(
                update(AppointmentSlot)
                .where(AppointmentSlot.id == booking.slot_id)
                .values(starts_at=now + timedelta(hours=3, minutes=index))
            )
            booking.created_at = now - timedelta(days=2)
    deadline = datetime.now(UTC) + timedelta(seconds=60)
    while datetime.now(UTC) < deadline:
        with Session(engine) as session:
            unsent = session.scalar(
                select(func.count())
                .select_from(Booking)
                .where(Booking.status == BookingStatus.BOOKED, Booking.reminder_sent_at.is_(None))
            )
        if unsent == 0:
            break
        sleep(1)
    with Session(engine) as session:
        reminders = Counter(
            session.scalars(
                select(Message.conversation_id).where(Message.sender == MessageSender.SYSTEM)
            )
        )
    engine.dispose()
    assert dict(reminders) == dict.fromkeys(bookers, 1)
