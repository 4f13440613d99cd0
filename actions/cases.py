"""Personal answers from the case database: linking a chat to a case, and where a person
stands. A case is read only through the verified identity of the current conversation:
the sender id the gateway gave Rasa. Nothing the person types, no entity and no slot
chooses the case."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session, sessionmaker

from actions.common import send
from bot.cases.answers import course_message, status_message
from bot.cases.linking import LinkOutcome, redeem
from bot.cases.register import CaseSnapshot, case_of_conversation
from bot.db import get_sessionmaker
from bot.db.models import utcnow
from bot.nlg.render import message_context
from bot.settings import get_settings

LINK_RESPONSES = {
    LinkOutcome.LINKED: "utter_link_success",
    LinkOutcome.ALREADY_LINKED: "utter_link_already",
    LinkOutcome.INVALID: "utter_link_invalid",
    LinkOutcome.LOCKED: "utter_link_locked",
    LinkOutcome.NO_CODE: "utter_link_no_code",
}


def _link(
    sessions: sessionmaker[Session], conversation_id: str, text: str, actor: str
) -> LinkOutcome:
    with sessions.begin() as session:
        return redeem(
            session, conversation_id, text, get_settings().link_code_secret, utcnow(), actor
        )


def _read_case(
    sessions: sessionmaker[Session], conversation_id: str, actor: str
) -> CaseSnapshot | None:
    with sessions.begin() as session:
        return case_of_conversation(session, conversation_id, actor=actor)


class ActionLinkAccount(Action):
    def name(self) -> str:
        return "action_link_account"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        # The code is read from the message text itself; the entity only told NLU that a
        # code is there.
        text = str((tracker.latest_message or {}).get("text") or "")
        outcome = await asyncio.to_thread(
            _link, get_sessionmaker(), tracker.sender_id, text, f"action:{self.name()}"
        )
        dispatcher.utter_message(response=LINK_RESPONSES[outcome])
        return []


class ActionCaseStatus(Action):
    def name(self) -> str:
        return "action_case_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        case = await asyncio.to_thread(
            _read_case, get_sessionmaker(), tracker.sender_id, f"action:{self.name()}"
        )
        if case is None:
            dispatcher.utter_message(response="utter_case_not_linked")
            return []
        language, municipality = message_context(tracker.latest_message)
        send(dispatcher, await asyncio.to_thread(status_message, case, language, municipality))
        return []


class _ActionAnswerCourse(Action, ABC):
    """The general answer about a course; for a linked person also whether they can start."""

    course = ""
    general_response = ""

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response=self.general_response)
        case = await asyncio.to_thread(
            _read_case, get_sessionmaker(), tracker.sender_id, f"action:{self.name()}"
        )
        if case is not None:
            language, municipality = message_context(tracker.latest_message)
            personal = await asyncio.to_thread(
                course_message, case, self.course, language, municipality
            )
            send(dispatcher, personal)
        return []


class ActionAnswerIntegrationTraining(_ActionAnswerCourse):
    course = "training"
    general_response = "utter_integration_training"

    def name(self) -> str:
        return "action_answer_integration_training"


class ActionAnswerCivicOrientation(_ActionAnswerCourse):
    course = "orientation"
    general_response = "utter_civic_orientation"

    def name(self) -> str:
        return "action_answer_civic_orientation"
