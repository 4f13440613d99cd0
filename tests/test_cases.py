"""Linking a chat to a case and reading it, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cases.linking import (
    CODE_VALIDITY,
    LOCKOUT_WINDOW,
    Budgets,
    LinkOutcome,
    find_code,
    format_code,
    hash_code,
    issue_code,
    redeem,
)
from bot.cases.register import case_of_conversation, create_case
from bot.db import make_engine
from bot.db.models import (
    AuditEntry,
    ChannelIdentity,
    ClientCase,
    Conversation,
    LabourMarketSituation,
    LinkCode,
    ResponsibleAuthority,
)

SECRET = "test-secret"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
BUDGETS = Budgets(per_network=5, per_system=50)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def new_conversation(sessions: sessionmaker[Session], channel: str = "web") -> str:
    with sessions.begin() as session:
        conversation = Conversation(
            id=f"c{datetime.now().timestamp():.6f}".replace(".", "")[:32],
            token_hash="x" * 64,
            channel=channel,
            municipality="example",
            language="uk",
            language_source="chosen",
            state="bot",
        )
        session.add(conversation)
        return conversation.id


def new_case(sessions: sessionmaker[Session], name: str = "Olena Example") -> int:
    with sessions.begin() as session:
        case = create_case(
            session,
            municipality="example",
            full_name=name,
            preferred_language="uk",
            situation=LabourMarketSituation.OUTSIDE_LABOUR_FORCE,
            health_or_social_challenges=False,
            actor="test",
            now=NOW,
        )
        return case.id


def code_for(sessions: sessionmaker[Session], case_id: int, now: datetime = NOW) -> str:
    with sessions.begin() as session:
        return issue_code(session, case_id, SECRET, now)


def try_code(
    sessions: sessionmaker[Session], conversation_id: str, text: str, now: datetime = NOW
) -> LinkOutcome:
    with sessions.begin() as session:
        return redeem(
            session, conversation_id, text, SECRET, now, actor="action:test", budgets=BUDGETS
        )


def linked_case(sessions: sessionmaker[Session], conversation_id: str) -> str | None:
    with sessions.begin() as session:
        snapshot = case_of_conversation(session, conversation_id, actor="action:test")
        return snapshot.case_number if snapshot else None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("my code is 4821 0937 5562", "482109375562"),
        ("koodi 4821-0937-5562", "482109375562"),
        ("482109375562", "482109375562"),
        ("код 482-109-375-562", "482109375562"),  # grouped as it was read out
        ("мій код: ４８２１–０９３７–５５６２", "482109375562"),  # full-width digits, en dash
        ("код ٤٨٢١٠٩٣٧٥٥٦٢", "482109375562"),  # Arabic-Indic digits
        ("code 4821 0937 556", None),  # eleven digits
        ("code 4821  0937 5562", None),  # two separators in a row
        ("код 48З1 0937 5562", None),  # a Cyrillic З is not a 3
        ("482-913", None),  # the old six-digit codes are gone
        ("no code here", None),
        ("x" * 10_000 + " 4821 0937 5562", None),  # only the start of a huge message is read
    ],
)
def test_find_code(text: str, code: str | None) -> None:
    assert find_code(text) == code


def test_code_is_stored_only_as_a_keyed_hash(sessions: sessionmaker[Session]) -> None:
    case_id = new_case(sessions)
    code = code_for(sessions, case_id)
    with sessions() as session:
        stored = session.scalars(select(LinkCode.code_hash)).all()
    assert stored == [hash_code(code, SECRET)]
    assert code not in stored[0]
    assert hash_code(code, "another secret") != stored[0]


def test_right_code_links_and_the_case_can_be_read(sessions: sessionmaker[Session]) -> None:
    case_id = new_case(sessions)
    conversation_id = new_conversation(sessions)
    assert linked_case(sessions, conversation_id) is None
    code = code_for(sessions, case_id)
    assert try_code(sessions, conversation_id, f"мій код {format_code(code)}") == "linked"
    assert linked_case(sessions, conversation_id) == "2026-0001"
    with sessions() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["create", "link", "read"]


def test_wrong_expired_and_reused_codes_look_the_same(sessions: sessionmaker[Session]) -> None:
    case_id = new_case(sessions)
    first, second, third = (new_conversation(sessions) for _ in range(3))
    # Another case's code, issued long ago: expired.
    expired_code = code_for(
        sessions, new_case(sessions, "Someone Else"), now=NOW - CODE_VALIDITY - timedelta(seconds=1)
    )
    code = code_for(sessions, case_id)
    wrong = "0" * 12 if code != "0" * 12 else "1" * 12
    assert try_code(sessions, first, wrong) == "invalid"
    assert try_code(sessions, first, expired_code) == "invalid"
    assert try_code(sessions, second, code) == "linked"
    assert try_code(sessions, third, code) == "invalid"  # used once already
    assert linked_case(sessions, third) is None


def test_five_wrong_codes_lock_linking_for_fifteen_minutes(
    sessions: sessionmaker[Session],
) -> None:
    case_id = new_case(sessions)
    conversation_id = new_conversation(sessions)
    code = code_for(sessions, case_id)
    wrong = [f"{n:012d}" for n in range(10) if f"{n:012d}" != code][:5]
    outcomes = [try_code(sessions, conversation_id, w) for w in wrong]
    assert outcomes == ["invalid"] * 4 + ["locked"]
    # Even the right code is refused while locked, and that says nothing about it.
    assert try_code(sessions, conversation_id, code) == "locked"
    later = NOW + LOCKOUT_WINDOW + timedelta(seconds=1)
    assert try_code(sessions, conversation_id, code, now=later) == "linked"


def test_a_linked_chat_is_not_linked_again(sessions: sessionmaker[Session]) -> None:
    first_case, second_case = new_case(sessions), new_case(sessions, "Someone Else")
    conversation_id = new_conversation(sessions)
    assert try_code(sessions, conversation_id, code_for(sessions, first_case)) == "linked"
    other_code = code_for(sessions, second_case)
    assert try_code(sessions, conversation_id, other_code) == "already_linked"
    assert linked_case(sessions, conversation_id) == "2026-0001"
    # The other code was not spent.
    assert try_code(sessions, new_conversation(sessions), other_code) == "linked"


def test_no_code_in_the_message(sessions: sessionmaker[Session]) -> None:
    conversation_id = new_conversation(sessions)
    assert try_code(sessions, conversation_id, "my code is ABC-DEF") == "no_code"
    assert try_code(sessions, conversation_id, "x" * 10_000) == "no_code"


def test_a_deleted_case_unlinks_the_chat(sessions: sessionmaker[Session]) -> None:
    case_id = new_case(sessions)
    conversation_id = new_conversation(sessions)
    try_code(sessions, conversation_id, code_for(sessions, case_id))
    with sessions.begin() as session:
        session.delete(session.get(ClientCase, case_id))
    assert linked_case(sessions, conversation_id) is None
    with sessions() as session:
        assert session.scalar(select(func.count(ChannelIdentity.id))) == 0


def test_two_chats_racing_for_one_code_link_once(sessions: sessionmaker[Session]) -> None:
    case_id = new_case(sessions)
    conversations = [new_conversation(sessions) for _ in range(8)]
    code = code_for(sessions, case_id)
    outcomes: list[str] = []
    barrier = threading.Barrier(len(conversations))

    def attempt(conversation_id: str) -> None:
        barrier.wait()
        # An error here is lost by the thread and missing from the outcomes: the losers
        # must get a plain answer, not a crash.
        outcomes.append(try_code(sessions, conversation_id, code))

    threads = [threading.Thread(target=attempt, args=(c,)) for c in conversations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [LinkOutcome.INVALID] * 7 + [LinkOutcome.LINKED]
    with sessions() as session:
        assert session.scalar(select(func.count(ChannelIdentity.id))) == 1


def test_responsibility_follows_the_programme(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        cases = [
            create_case(
                session,
                municipality="example",
                full_name=f"Person {n}",
                preferred_language="sv",
                situation=situation,
                health_or_social_challenges=challenges,
                actor="test",
                now=NOW,
            )
            for n, (situation, challenges) in enumerate(
                [
                    (LabourMarketSituation.UNEMPLOYED_JOB_SEEKER, True),
                    (LabourMarketSituation.OUTSIDE_LABOUR_FORCE, False),
                    (LabourMarketSituation.OUTSIDE_LABOUR_FORCE, True),
                ]
            )
        ]
        assert [c.responsible_authority for c in cases] == [
            ResponsibleAuthority.EMPLOYMENT_AREA,
            ResponsibleAuthority.MUNICIPALITY,
            ResponsibleAuthority.MUNICIPALITY_AND_WELFARE_AREA,
        ]
        assert [c.case_number for c in cases] == ["2026-0001", "2026-0002", "2026-0003"]
        assert [c.plan_multisectoral for c in cases] == [False, False, True]
