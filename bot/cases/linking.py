"""Linking a chat to a case with a one-time code.

The coordinator gives the person a six-digit code (valid 72 hours, usable once; only a
keyed hash is stored, so a copy of the database does not reveal live codes). Five wrong
codes from one conversation or identity within 15 minutes lock linking for 15 minutes.
No answer tells whether a code exists: wrong, expired and used codes look the same.
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
from bot.db.models import ChannelIdentity, ClientCase, Conversation, LinkAttempt, LinkCode

CODE_VALIDITY = timedelta(hours=72)
LOCKOUT_WINDOW = timedelta(minutes=15)
MAX_FAILED_ATTEMPTS = 5
# Six digits, optionally split in the middle by a space, dash or dot. \d also matches
# other scripts' digits (Arabic-Indic and the like); they are converted below. Letters that
# merely look like digits (Cyrillic З or О) are not digits and are not guessed at.
_CODE = re.compile(r"(?<!\d)(\d{3})[\s\-‐–—.]?(\d{3})(?!\d)")
_LOOKED_AT_CHARS = 300


class LinkOutcome(enum.StrEnum):
    LINKED = "linked"
    ALREADY_LINKED = "already_linked"  # this chat is linked already; nothing changed
    INVALID = "invalid"  # wrong, expired or used: never said which
    LOCKED = "locked"
    NO_CODE = "no_code"  # nothing that looks like a six-digit code


@dataclass(frozen=True)
class Identity:
    channel: str
    external_id: str

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.external_id}"


def identity_of_conversation(session: Session, conversation_id: str) -> Identity | None:
    """The verified identity behind a conversation: only the gateway creates conversations,
    and only the holder of a conversation's token (or its Telegram user) can write in it."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    return Identity(channel=conversation.channel, external_id=conversation.id)


def find_code(text: str) -> str | None:
    """The six digits of a code written in `text`, or None."""
    normalised = unicodedata.normalize("NFKC", text[:_LOOKED_AT_CHARS])
    match = _CODE.search(normalised)
    if match is None:
        return None
    return "".join(str(unicodedata.digit(ch)) for ch in match.group(1) + match.group(2))


def hash_code(code: str, secret: str) -> str:
    return hmac.new(secret.encode(), code.encode(), hashlib.sha256).hexdigest()


def issue_code(session: Session, case_id: int, secret: str, now: datetime) -> str:
    """A fresh code for the case; the caller commits. Earlier unused codes stay valid."""
    for _ in range(20):
        code = f"{secrets.randbelow(10**6):06d}"
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


def is_locked(session: Session, keys: list[str], now: datetime) -> bool:
    """Locked when any one of the keys (the conversation, the identity) has had too many
    wrong codes within the window."""
    failures = session.execute(
        select(LinkAttempt.attempt_key, func.count(LinkAttempt.id))
        .where(
            LinkAttempt.attempt_key.in_(keys),
            LinkAttempt.succeeded.is_(False),
            LinkAttempt.attempted_at > now - LOCKOUT_WINDOW,
        )
        .group_by(LinkAttempt.attempt_key)
    ).all()
    return any(count >= MAX_FAILED_ATTEMPTS for _, count in failures)


def redeem(
    session: Session,
    conversation_id: str,
    text: str,
    secret: str,
    now: datetime,
    actor: str,
) -> LinkOutcome:
    """Try to link the conversation's identity with the code in `text`; caller commits."""
    identity = identity_of_conversation(session, conversation_id)
    if identity is None:
        return LinkOutcome.INVALID
    keys = sorted({f"conversation:{conversation_id}", identity.key})
    if is_locked(session, keys, now):
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

    link_code = session.scalar(
        select(LinkCode).where(
            LinkCode.code_hash == hash_code(code, secret),
            LinkCode.used_at.is_(None),
            LinkCode.expires_at > now,
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
    if case is None:
        for key in keys:
            session.add(LinkAttempt(attempt_key=key, succeeded=False, attempted_at=now))
        session.flush()
        if is_locked(session, keys, now):
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
    return LinkOutcome.LINKED
