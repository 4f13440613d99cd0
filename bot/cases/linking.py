"""Linking a chat to a case with a one-time code.

The coordinator gives the person a twelve-digit code, shown in groups of four ("4821 0937
5562"): about 39.9 bits, typed on any phone keyboard and read aloud digit by digit. It is
valid 72 hours and usable once, and a new code for a case revokes the older ones. Only a
keyed hash is stored, so a copy of the database does not reveal live codes. A code links
only a conversation of the case's own municipality.

Wrong codes are counted against budgets that a new conversation does not reset (README,
"Cases and personal answers", has the arithmetic):
- the conversation and its identity: five within 15 minutes lock them for the rest of it;
- the client network the message came from (an IPv4 address, an IPv6 /64, a Telegram
  user; stored as a keyed pseudonym on the conversation when the message is stored):
  `link_failures_per_network` within an hour;
- the case, for the wrong tries that can be told apart as aimed at it: one of its codes that
  no longer works (used, revoked, expired), or a live one from another municipality's
  conversation (a leaked code). At `link_failures_per_case` within a day its live codes
  are revoked, the coordinator sees why on the case and makes a new one. (Any other wrong
  code names no case; the system-wide budget bounds those.)
- the whole system: `link_failures_per_system` within an hour. Then no code is even looked
  at, for anyone, until the hour has passed: the number of guesses an attacker with
  unlimited addresses gets is bounded by this budget. The coordinator app shows a banner
  meanwhile, and a coordinator can link a conversation to a case directly.
No answer tells whether a code exists: wrong, expired, revoked, used and other
municipalities' codes look the same.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.cases.audit import record
from bot.db.models import (
    ChannelIdentity,
    ClientCase,
    Conversation,
    LinkAttempt,
    LinkCode,
    MessageSender,
    pending_message,
)
from bot.language import content_language
from bot.nlg.render import render_response
from bot.settings import Settings

CODE_DIGITS = 12
CODE_VALIDITY = timedelta(hours=72)
LOCKOUT_WINDOW = timedelta(minutes=15)
MAX_FAILED_ATTEMPTS = 5
NETWORK_WINDOW = timedelta(hours=1)
CASE_WINDOW = timedelta(days=1)
SYSTEM_WINDOW = timedelta(hours=1)
SYSTEM_KEY = "system"
# Twelve digits, with at most one space, dash or dot between any two (people group them
# as they read them: "4821 0937 5562", "482-109-375-562"). \d also matches other scripts'
# digits (Arabic-Indic and the like); they are converted below. Letters that merely look
# like digits (Cyrillic З or О) are not digits and are not guessed at. Only the first code
# in a message is tried: one message, one guess.
_CODE = re.compile(r"(?<!\d)\d(?:[\s\-‐–—.]?\d){11}(?!\d)")
_LOOKED_AT_CHARS = 300


class LinkOutcome(enum.StrEnum):
    LINKED = "linked"
    ALREADY_LINKED = "already_linked"  # this chat is linked already; nothing changed
    INVALID = "invalid"  # wrong, expired, revoked, used or elsewhere: never said which
    LOCKED = "locked"
    NO_CODE = "no_code"  # nothing that looks like a twelve-digit code


@dataclass(frozen=True)
class Identity:
    channel: str
    external_id: str

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.external_id}"


@dataclass(frozen=True)
class Budgets:
    """How many wrong codes within the hour lock a network, and the whole system."""

    per_network: int
    per_system: int
    per_case: int = 5

    @classmethod
    def of(cls, settings: Settings) -> Budgets:
        return cls(
            per_network=settings.link_failures_per_network,
            per_system=settings.link_failures_per_system,
            per_case=settings.link_failures_per_case,
        )


def identity_of_conversation(session: Session, conversation_id: str) -> Identity | None:
    """The verified identity behind a conversation: only the gateway creates conversations,
    and only the holder of a conversation's token (or its Telegram user) can write in it."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    return Identity(channel=conversation.channel, external_id=conversation.id)


def find_code(text: str) -> str | None:
    """The twelve digits of a code written in `text`, or None."""
    normalised = unicodedata.normalize("NFKC", text[:_LOOKED_AT_CHARS])
    match = _CODE.search(normalised)
    if match is None:
        return None
    return "".join(str(unicodedata.digit(ch)) for ch in match.group(0) if ch.isdigit())


def format_code(code: str) -> str:
    """As the coordinator reads it out: groups of four."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def hash_code(code: str, secret: str) -> str:
    return hmac.new(secret.encode(), code.encode(), hashlib.sha256).hexdigest()


def issue_code(session: Session, case_id: int, secret: str, now: datetime) -> str:
    """A fresh code for the case (twelve digits, ungrouped); the caller commits. The case's
    earlier codes that are still live are revoked: only the newest one works."""
    session.execute(
        update(LinkCode)
        .where(LinkCode.case_id == case_id, LinkCode.used_at.is_(None), LinkCode.expires_at > now)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    for _ in range(20):
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        code_hash = hash_code(code, secret)
        exists = session.scalar(select(LinkCode.id).where(LinkCode.code_hash == code_hash))
        if exists is None:
            session.add(
                LinkCode(
                    case_id=case_id,
                    code_hash=code_hash,
                    created_at=now,
                    expires_at=now + CODE_VALIDITY,
                )
            )
            session.flush()
            return code
    raise RuntimeError("no free link code found; purge old codes")


def _failures(session: Session, keys: list[str], since: datetime) -> dict[str, int]:
    rows = session.execute(
        select(LinkAttempt.attempt_key, func.count(LinkAttempt.id))
        .where(
            LinkAttempt.attempt_key.in_(keys),
            LinkAttempt.succeeded.is_(False),
            LinkAttempt.attempted_at > since,
        )
        .group_by(LinkAttempt.attempt_key)
    ).all()
    return {key: int(count) for key, count in rows}


def is_locked(session: Session, keys: list[str], now: datetime) -> bool:
    """Locked when any one of the keys (the conversation, the identity) has had too many
    wrong codes within the window."""
    failures = _failures(session, keys, now - LOCKOUT_WINDOW)
    return any(count >= MAX_FAILED_ATTEMPTS for count in failures.values())


def network_key(client_network: str | None) -> str | None:
    return None if client_network is None else f"network:{client_network}"


def is_network_locked(
    session: Session, client_network: str | None, budgets: Budgets, now: datetime
) -> bool:
    key = network_key(client_network)
    if key is None:
        return False
    return _failures(session, [key], now - NETWORK_WINDOW).get(key, 0) >= budgets.per_network


def system_failures(session: Session, now: datetime) -> int:
    """Wrong codes in the whole system within the last hour."""
    return _failures(session, [SYSTEM_KEY], now - SYSTEM_WINDOW).get(SYSTEM_KEY, 0)


def is_system_tripped(session: Session, budgets: Budgets, now: datetime) -> bool:
    return system_failures(session, now) >= budgets.per_system


def redeem(
    session: Session,
    conversation_id: str,
    text: str,
    secret: str,
    now: datetime,
    actor: str,
    budgets: Budgets,
) -> LinkOutcome:
    """Try to link the conversation's identity with the code in `text`; caller commits."""
    conversation = session.get(Conversation, conversation_id)
    identity = identity_of_conversation(session, conversation_id)
    if conversation is None or identity is None:
        return LinkOutcome.INVALID
    keys = sorted({f"conversation:{conversation_id}", identity.key})
    network = network_key(conversation.client_network)
    if (
        is_locked(session, keys, now)
        or is_network_locked(session, conversation.client_network, budgets, now)
        or is_system_tripped(session, budgets, now)
    ):
        return LinkOutcome.LOCKED
    linked = session.scalar(
        select(ChannelIdentity).where(
            ChannelIdentity.channel == identity.channel,
            ChannelIdentity.external_id == identity.external_id,
        )
    )
    if linked is not None:
        return LinkOutcome.ALREADY_LINKED
    code = find_code(text)
    if code is None:
        return LinkOutcome.NO_CODE

    # Only a code of the conversation's own municipality is found at all; the client chose
    # the municipality, so another municipality's code must not link (and is not used up).
    link_code = session.scalar(
        select(LinkCode)
        .join(ClientCase, ClientCase.id == LinkCode.case_id)
        .where(
            LinkCode.code_hash == hash_code(code, secret),
            LinkCode.used_at.is_(None),
            LinkCode.expires_at > now,
            ClientCase.municipality == conversation.municipality,
        )
    )
    # Marking the code used is conditional, so two chats racing for one code cannot both win.
    case: ClientCase | None = None
    if link_code is not None:
        claim = session.execute(
            update(LinkCode)
            .where(LinkCode.id == link_code.id, LinkCode.used_at.is_(None))
            .values(used_at=now)
        )
        if cast("CursorResult[Any]", claim).rowcount == 1:
            case = session.get(ClientCase, link_code.case_id)
    counted = [*keys, SYSTEM_KEY, *([network] if network else [])]
    if case is None:
        _count_against_case(session, code, secret, now, budgets, actor)
        for key in counted:
            session.add(LinkAttempt(attempt_key=key, succeeded=False, attempted_at=now))
        session.flush()
        if is_locked(session, keys, now) or is_network_locked(
            session, conversation.client_network, budgets, now
        ):
            return LinkOutcome.LOCKED
        return LinkOutcome.INVALID

    try:
        with session.begin_nested():
            session.add(
                ChannelIdentity(
                    channel=identity.channel,
                    external_id=identity.external_id,
                    case_id=case.id,
                    linked_at=now,
                )
            )
    except IntegrityError:
        # The same identity was linked a moment ago by a parallel request.
        return LinkOutcome.ALREADY_LINKED
    for key in keys:
        session.add(LinkAttempt(attempt_key=key, succeeded=True, attempted_at=now))
    record(session, actor=actor, case_id=case.id, action="link", detail=identity.key)
    announce_link(session, case.id, conversation_id)
    return LinkOutcome.LINKED


def _count_against_case(
    session: Session, code: str, secret: str, now: datetime, budgets: Budgets, actor: str
) -> None:
    """A wrong try that names a case (one of its codes, dead or of another municipality)
    counts against it; at the budget its live codes are revoked, and the audit log (shown
    on the case) says why."""
    case_id = session.scalar(
        select(LinkCode.case_id).where(LinkCode.code_hash == hash_code(code, secret))
    )
    if case_id is None:
        return
    key = f"case:{case_id}"
    session.add(LinkAttempt(attempt_key=key, succeeded=False, attempted_at=now))
    session.flush()
    if _failures(session, [key], now - CASE_WINDOW).get(key, 0) < budgets.per_case:
        return
    revoked = session.execute(
        update(LinkCode)
        .where(LinkCode.case_id == case_id, LinkCode.used_at.is_(None), LinkCode.expires_at > now)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", revoked).rowcount:
        record(
            session,
            actor=actor,
            case_id=case_id,
            action="link-code-revoked",
            detail="repeated tries with this case's codes",
        )


def announce_link(session: Session, case_id: int, new_conversation_id: str) -> int:
    """Tells the person on each of their other linked chats that a new chat was linked to
    their case, so that someone who linked with a stolen code does not stay unnoticed.
    Pending messages: Telegram delivers them, a web conversation shows them on return.
    Returns how many chats were told."""
    conversations = session.scalars(
        select(Conversation)
        .join(ChannelIdentity, ChannelIdentity.external_id == Conversation.id)
        .where(ChannelIdentity.case_id == case_id, Conversation.id != new_conversation_id)
    ).all()
    for conversation in conversations:
        # A translated language gets the English content (the assistant's own language
        # for it); translating needs the event loop's translator, which this does not have.
        language = content_language(conversation.language) or conversation.language
        notice = render_response("utter_link_new_channel", language, conversation.municipality)
        session.add(
            pending_message(
                conversation.id, notice.text, language, MessageSender.SYSTEM, notice.buttons
            )
        )
    return len(conversations)


def link_directly(
    session: Session, conversation_id: str, case_id: int, actor: str, now: datetime
) -> bool:
    """A coordinator links a conversation to a case after checking the person's identity
    (in the chat, or at a meeting); the caller has checked that both are of a municipality
    the coordinator works. False when the conversation is linked already."""
    identity = identity_of_conversation(session, conversation_id)
    if identity is None:
        return False
    try:
        with session.begin_nested():
            session.add(
                ChannelIdentity(
                    channel=identity.channel,
                    external_id=identity.external_id,
                    case_id=case_id,
                    linked_at=now,
                )
            )
    except IntegrityError:
        return False
    record(session, actor=actor, case_id=case_id, action="link-direct", detail=identity.key)
    announce_link(session, case_id, conversation_id)
    return True
