"""Messages the assistant must not handle alone: someone in danger, violence, thoughts of
suicide. The gateway answers these itself, before Rasa: the emergency number at once, and
the conversation goes to the coordinator. A false alarm costs a person a moment with a
human; a missed one could cost far more, so the words are broad and matched inside words
("väkivallan", "насильства")."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import Conversation, HandoffEvent
from bot.handoff.state_machine import HandoffReason

# Urgent conversations from one client network within this window before the next ones
# stop jumping the queue.
NETWORK_WINDOW = timedelta(hours=1)

# Word stems in the four languages; a message with any of them is urgent.
_URGENT_STEMS = (
    # Swedish
    "självmord", "ta livet av mig", "vill inte leva", "våld", "misshand", "slår mig",
    "hotar mig", "hotad", "i fara", "våldt",
    # Finnish
    "itsemurh", "tappaa itseni", "en halua elää", "väkival", "lyö minua", "lyövät minua",
    "uhkail", "hädässä", "vaarassa", "raiskat",
    # Ukrainian (and the Russian many also write)
    "самогуб", "вбити себе", "не хочу жити", "насильств", "б'є мене", "бʼє мене", "б’є мене",
    "погрожу", "в небезпеці", "зґвалту", "самоубий", "убить себя", "насили", "бьет меня",
    "угрожа",
)  # fmt: skip
# English words are matched from the start of a word only ("rape", not "grapes").
_URGENT_WORDS_EN = (
    "suicid", "kill myself", "want to die", "violence", "violent", "abuse", "beats me",
    "hits me", "threaten", "in danger", "rape",
)  # fmt: skip
_PATTERN = re.compile(
    "|".join(
        [re.escape(stem) for stem in _URGENT_STEMS]
        + [r"\b" + re.escape(word) for word in _URGENT_WORDS_EN]
    )
)


def is_urgent(text: str) -> bool:
    folded = unicodedata.normalize("NFC", text).casefold()
    return _PATTERN.search(folded) is not None


def urgent_reason(session: Session, conversation_id: str, per_network: int, now: datetime) -> str:
    """How an urgent conversation joins the queue. At its head (`urgent`) once per
    conversation, and only while its client network has had fewer than `per_network`
    urgent conversations within the hour; otherwise in turn, marked for the coordinator."""
    before = session.scalar(
        select(func.count(HandoffEvent.id)).where(
            HandoffEvent.conversation_id == conversation_id,
            HandoffEvent.reason == HandoffReason.URGENT,
        )
    )
    if before:
        return HandoffReason.URGENT_AGAIN
    conversation = session.get(Conversation, conversation_id)
    network = conversation.client_network if conversation is not None else None
    if network is None:
        return HandoffReason.URGENT
    from_network = session.scalar(
        select(func.count(func.distinct(HandoffEvent.conversation_id)))
        .join(Conversation, Conversation.id == HandoffEvent.conversation_id)
        .where(
            Conversation.client_network == network,
            HandoffEvent.reason.in_((HandoffReason.URGENT, HandoffReason.URGENT_MANY_FROM_NETWORK)),
            HandoffEvent.at > now - NETWORK_WINDOW,
        )
    )
    if (from_network or 0) >= per_network:
        return HandoffReason.URGENT_MANY_FROM_NETWORK
    return HandoffReason.URGENT
