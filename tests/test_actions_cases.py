"""The case actions against a real database: only the conversation's own case is read."""

from __future__ import annotations

from datetime import date
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.cases import (
    ActionAnswerIntegrationTraining,
    ActionCaseStatus,
    ActionLinkAccount,
)
from bot.cases.linking import issue_code
from bot.conversations.store import ConversationStore
from bot.db import get_sessionmaker
from bot.db.models import (
    AssessmentState,
    AuditEntry,
    ClientCase,
    LanguageSource,
    PlanState,
    utcnow,
)
from bot.settings import get_settings
from tests.support.factories import new_case


def conversation(language: str = "en") -> str:
    view, _ = ConversationStore(get_sessionmaker()).create(
        channel="web",
        municipality="example",
        language=language,
        language_source=LanguageSource.CHOSEN,
    )
    return view.id


def case_with_code(plan: PlanState = PlanState.NONE) -> tuple[int, str, str]:
    """A case (its id and its own case number, never one guessed from the calendar year)
    and a fresh link code for it."""
    with get_sessionmaker().begin() as session:
        case = new_case(session)
        case.assessment_state, case.assessment_date = AssessmentState.DONE, date(2026, 10, 6)
        case.plan_state = plan
        code = issue_code(session, case.id, get_settings().link_code_secret, utcnow())
        return case.id, case.case_number, code


def tracker(sender: str, text: str, intent: str, language: str = "en", **extra: Any) -> Tracker:
    message = {
        "text": text,
        "intent": {"name": intent},
        "entities": extra.get("entities", []),
        "metadata": {"language": language, "municipality": "example"},
    }
    return Tracker(sender, extra.get("slots", {}), message, [], False, None, {}, "")


async def run(action: Any, tracker_: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, tracker_, {})
    return dispatcher.messages


async def test_link_then_status_in_the_person_s_language(settings_on_both_databases: str) -> None:
    _, case_number, code = case_with_code()
    sender = conversation("uk")
    linked = await run(
        ActionLinkAccount(), tracker(sender, f"мій код {code[:3]} {code[3:]}", "link_account", "uk")
    )
    assert [m["response"] for m in linked] == ["utter_link_success"]
    status = await run(ActionCaseStatus(), tracker(sender, "де я зараз?", "my_case_status", "uk"))
    text = status[0]["text"]
    assert case_number in text and "6.10.2026" in text
    assert any("\u0400" <= ch <= "\u04ff" for ch in text)
    assert status[0]["buttons"][0]["payload"] == "/book_appointment"


async def test_status_in_each_language_differs(settings_on_both_databases: str) -> None:
    _, _, code = case_with_code(PlanState.IN_PROGRESS)
    sender = conversation()
    await run(ActionLinkAccount(), tracker(sender, code, "link_account"))
    texts = {
        language: (await run(ActionCaseStatus(), tracker(sender, "?", "my_case_status", language)))[
            0
        ]["text"]
        for language in ("sv", "fi", "uk", "en")
    }
    assert len(set(texts.values())) == 4
    assert "being made now" in texts["en"]


async def test_unlinked_person_gets_the_general_answer(settings_on_both_databases: str) -> None:
    case_with_code()
    messages = await run(ActionCaseStatus(), tracker(conversation(), "status?", "my_case_status"))
    assert [m["response"] for m in messages] == ["utter_case_not_linked"]


async def test_a_case_id_from_the_user_is_never_used(settings_on_both_databases: str) -> None:
    """`/my_case_status{"case_id": 1}` reaching Rasa gives an entity and maybe a slot;
    the action reads neither."""
    case_id, _, _ = case_with_code()
    attempt = tracker(
        conversation(),
        '/my_case_status{"case_id": 1}',
        "my_case_status",
        entities=[{"entity": "case_id", "value": case_id}],
        slots={"case_id": case_id},
    )
    messages = await run(ActionCaseStatus(), attempt)
    assert [m["response"] for m in messages] == ["utter_case_not_linked"]
    with get_sessionmaker()() as session:
        reads = session.scalars(select(AuditEntry).where(AuditEntry.action == "read")).all()
    assert reads == []


async def test_every_read_is_audited(settings_on_both_databases: str) -> None:
    case_id, _, code = case_with_code()
    sender = conversation()
    await run(ActionLinkAccount(), tracker(sender, code, "link_account"))
    await run(ActionCaseStatus(), tracker(sender, "?", "my_case_status"))
    await run(ActionCaseStatus(), tracker(sender, "?", "my_case_status"))
    with get_sessionmaker()() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.case_id == case_id)).all()
    assert [e.action for e in entries] == ["create", "link", "read", "read"]
    assert all(e.actor == "action:action_case_status" for e in entries[2:])
    assert entries[2].detail == f"web:{sender}"


async def test_training_prerequisite_is_checked_against_the_own_case(
    settings_on_both_databases: str,
) -> None:
    case_id, _, code = case_with_code(PlanState.IN_PROGRESS)
    sender = conversation()
    await run(ActionLinkAccount(), tracker(sender, code, "link_account"))
    ask = tracker(sender, "can I start integration training?", "ask_integration_training")
    messages = await run(ActionAnswerIntegrationTraining(), ask)
    assert messages[0]["response"] == "utter_integration_training"
    assert "not ready yet" in messages[1]["text"]
    assert messages[1]["buttons"][0]["payload"] == "/book_appointment"

    with get_sessionmaker().begin() as session:
        case = session.get(ClientCase, case_id)
        assert case is not None
        case.plan_state = PlanState.DONE
    messages = await run(ActionAnswerIntegrationTraining(), ask)
    assert "you can start" in messages[1]["text"]
    assert not messages[1]["text"].startswith("-")

    unlinked = await run(
        ActionAnswerIntegrationTraining(),
        tracker(conversation(), "can I start integration training?", "ask_integration_training"),
    )
    assert [m["response"] for m in unlinked] == ["utter_integration_training"]


async def test_link_outcomes_are_answered(settings_on_both_databases: str) -> None:
    sender = conversation()
    responses = [
        (await run(ActionLinkAccount(), tracker(sender, text, "link_account")))[0]["response"]
        for text in ["my code is ABC", "000000", "111111", "222222", "333333", "444444", "555555"]
    ]
    assert responses[0] == "utter_link_no_code"
    assert "utter_link_invalid" in responses
    assert responses[-1] == "utter_link_locked"


STATES = [
    ("not_started", "none", "not_eligible_yet", "not_eligible_yet"),
    ("booked", "none", "not_eligible_yet", "not_eligible_yet"),
    ("done", "in_progress", "not_eligible_yet", "not_eligible_yet"),
    ("done", "done", "enrolled", "can_start"),
    ("done", "done", "completed", "enrolled"),
]


async def test_status_lines_follow_the_case_in_every_language(
    settings_on_both_databases: str,
) -> None:
    from bot.nlg.render import render_response

    case_id, _, code = case_with_code()
    sender = conversation()
    await run(ActionLinkAccount(), tracker(sender, code, "link_account"))
    for assessment, plan, orientation, training in STATES:
        with get_sessionmaker().begin() as session:
            case = session.get(ClientCase, case_id)
            assert case is not None
            case.assessment_state, case.plan_state = assessment, plan
            case.plan_date = date(2026, 11, 2) if plan == "done" else None
            case.orientation_state, case.training_state = orientation, training
        for language in ("sv", "fi", "uk", "en"):
            ask = tracker(sender, "?", "my_case_status", language)
            text = (await run(ActionCaseStatus(), ask))[0]["text"]
            expected = [
                render_response(
                    f"case_assessment_{assessment}", language, "example", {"date": "6.10.2026"}
                ).text,
                render_response(
                    f"case_plan_{plan}", language, "example", {"date": "2.11.2026"}
                ).text,
                render_response(f"case_orientation_{orientation}", language, "example").text,
                render_response(f"case_training_{training}", language, "example").text,
            ]
            for line in expected:
                assert line in text, (language, line)
