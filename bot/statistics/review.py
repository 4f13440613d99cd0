"""Learning from what the assistant did not understand: the coordinator marks the intent a
not-understood message should have had, and `lotsen nlu export-reviewed` writes the marked
messages as Rasa NLU training data per language, to be read and added to `data/nlu/`.

Only messages still stored are listed (erasure and the retention purge take their marks
with them), only to coordinators who may see the conversation's municipality, and every
listing and mark is written to the audit log.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cases import audit
from bot.db.models import (
    Conversation,
    Message,
    MessageDirection,
    MessageSender,
    MessageTranslation,
    NluReview,
    utcnow,
)
from bot.language import SUPPORTED_LANGUAGES
from bot.settings import PROJECT_ROOT
from bot.statistics.build import NOT_UNDERSTOOD

DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
REVIEW_LIMIT = 200


@lru_cache(maxsize=1)
def domain_intents() -> tuple[str, ...]:
    """The intents a message can be marked with: those of the shipped domain."""
    with DOMAIN_FILE.open(encoding="utf-8") as handle:
        domain = yaml.safe_load(handle)
    names = [next(iter(item)) if isinstance(item, dict) else item for item in domain["intents"]]
    return tuple(str(name) for name in names)


@dataclass(frozen=True)
class ReviewItem:
    message_id: int
    text: str
    language: str
    at: datetime
    intent: str | None  # the coordinator's mark, if any


def _not_understood(municipality: str | None) -> Select[Message, str]:
    """Not-understood messages from people, of one municipality (None: every one)."""
    query = (
        select(Message, NluReview.intent)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(NluReview, NluReview.message_id == Message.id)
        .where(
            Message.direction == MessageDirection.INBOUND,
            Message.sender == MessageSender.USER,
            Message.intent == NOT_UNDERSTOOD,
            Message.text.is_not(None),
        )
    )
    if municipality is not None:
        query = query.where(Conversation.municipality == municipality)
    return query


def review_list(session: Session, municipality: str | None, actor: str) -> list[ReviewItem]:
    """The latest not-understood messages; the listing is audited."""
    rows = session.execute(
        _not_understood(municipality).order_by(Message.id.desc()).limit(REVIEW_LIMIT)
    ).all()
    audit.record(
        session, actor=actor, case_id=None, action="nlu-review-list", detail=f"{len(rows)} messages"
    )
    return [ReviewItem(m.id, m.text or "", m.language, m.created_at, intent) for m, intent in rows]


def mark_intent(
    session: Session,
    municipality: str | None,
    message_id: int,
    intent: str,
    *,
    coordinator_id: int,
    actor: str,
) -> bool:
    """False when the message is not a not-understood one of the municipality, or the
    intent is not one of the domain's. The mark is audited."""
    if intent not in domain_intents():
        return False
    if (
        session.execute(_not_understood(municipality).where(Message.id == message_id)).first()
        is None
    ):
        return False
    review = session.get(NluReview, message_id)
    if review is None:
        session.add(
            NluReview(message_id=message_id, intent=intent, reviewed_by=coordinator_id, at=utcnow())
        )
    else:
        review.intent, review.reviewed_by, review.at = intent, coordinator_id, utcnow()
    audit.record(
        session,
        actor=actor,
        case_id=None,
        action="nlu-review-mark",
        detail=f"message {message_id}: {intent}",
    )
    return True


def _example(text: str) -> str:
    """One line of training data. Square brackets would be read as an entity annotation."""
    line = " ".join(text.split())
    return line.replace("[", "(").replace("]", ")")


def reviewed_examples(session: Session) -> dict[str, dict[str, list[str]]]:
    """language → intent → examples. A message in a language the assistant reaches through
    machine translation is exported as the English the assistant read."""
    rows = session.execute(
        select(Message.id, Message.text, Message.language, NluReview.intent)
        .join(NluReview, NluReview.message_id == Message.id)
        .order_by(Message.id)
    ).all()
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for message_id, text, language, intent in rows:
        if language not in SUPPORTED_LANGUAGES:
            text = session.scalar(
                select(MessageTranslation.text).where(
                    MessageTranslation.message_id == message_id, MessageTranslation.language == "en"
                )
            )
            language = "en"
        example = _example(text or "")
        if example and example not in found[language][intent]:
            found[language][intent].append(example)
    return found


def nlu_yaml(examples: dict[str, list[str]]) -> str:
    lines = ['version: "3.1"', "", "nlu:"]
    for intent in sorted(examples):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        lines.extend(f"    - {example}" for example in examples[intent])
    return "\n".join(lines) + "\n"


def export_reviewed(sessions: sessionmaker[Session], out: Path) -> dict[str, int]:
    """Writes `out/<language>/reviewed.yml`; returns the examples written per language."""
    with sessions() as session:
        found = reviewed_examples(session)
    written = {}
    for language, examples in sorted(found.items()):
        folder = out / language
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "reviewed.yml").write_text(nlu_yaml(examples), encoding="utf-8")
        written[language] = sum(len(items) for items in examples.values())
    return written
