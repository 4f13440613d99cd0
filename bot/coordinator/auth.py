"""Coordinator accounts: argon2id password hashes, server-side sessions, CSRF tokens and a
lockout after repeated failed sign-ins.

The session cookie holds a random secret; the database keeps only its hash, so a copy of
the database signs no one in. Every form carries the session's CSRF token, compared in
constant time. A username with five failed sign-ins in fifteen minutes is locked for the
rest of that window, whatever the address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import (
    Coordinator,
    CoordinatorRole,
    CoordinatorSession,
    SignInAttempt,
    utcnow,
)

SESSION_LIFETIME = timedelta(hours=10)  # one working day
LOCKOUT_WINDOW = timedelta(minutes=15)
LOCKOUT_FAILURES = 5
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verifying against this when the username is unknown takes as long as a real check,
    so the answer time does not tell which usernames exist. Made on first sign-in, not at
    import."""
    return _hasher.hash(secrets.token_urlsafe(16))


class PasswordTooShortError(ValueError):
    pass


@dataclass(frozen=True)
class SignedIn:
    """The coordinator behind a request, and the session's CSRF token."""

    id: int
    username: str
    display_name: str
    municipality: str
    role: str
    language: str
    csrf_token: str

    @property
    def is_administrator(self) -> bool:
        return self.role == CoordinatorRole.ADMINISTRATOR

    @property
    def first_name(self) -> str:
        return self.display_name.split()[0] if self.display_name.split() else self.username

    def may_see(self, municipality: str) -> bool:
        return self.is_administrator or municipality == self.municipality


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooShortError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    municipality: str,
    role: CoordinatorRole,
    language: str,
    password: str,
) -> Coordinator:
    """A new account, or a new password and details for an existing username (an
    administrator resets a forgotten password this way)."""
    coordinator = session.scalar(select(Coordinator).where(Coordinator.username == username))
    if coordinator is None:
        coordinator = Coordinator(username=username)
        session.add(coordinator)
    coordinator.display_name = display_name
    coordinator.municipality = municipality
    coordinator.role = role
    coordinator.language = language
    coordinator.password_hash = hash_password(password)
    coordinator.active = True
    session.flush()
    return coordinator


def is_locked(session: Session, username: str, now: datetime) -> bool:
    failures = session.scalar(
        select(func.count())
        .select_from(SignInAttempt)
        .where(
            SignInAttempt.username == username,
            SignInAttempt.succeeded.is_(False),
            SignInAttempt.at > now - LOCKOUT_WINDOW,
        )
    )
    return (failures or 0) >= LOCKOUT_FAILURES


def sign_in(
    session: Session, username: str, password: str, address: str | None, now: datetime
) -> tuple[str, Coordinator] | None:
    """A new session secret for the cookie, or None (wrong password, unknown or inactive
    account, or locked). Every try is recorded."""
    username = username.strip()[:64]
    if is_locked(session, username, now):
        session.add(SignInAttempt(username=username, address=address, succeeded=False, at=now))
        return None
    coordinator = session.scalar(select(Coordinator).where(Coordinator.username == username))
    stored = coordinator.password_hash if coordinator is not None else None
    try:
        _hasher.verify(stored or _dummy_hash(), password)
        valid = stored is not None and coordinator is not None and coordinator.active
    except (VerificationError, InvalidHashError):
        valid = False
    session.add(SignInAttempt(username=username, address=address, succeeded=valid, at=now))
    if not valid or coordinator is None:
        return None
    secret = secrets.token_urlsafe(32)
    session.add(
        CoordinatorSession(
            id_hash=_hash_secret(secret),
            coordinator_id=coordinator.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    return secret, coordinator


def signed_in(session: Session, secret: str, now: datetime) -> SignedIn | None:
    row = session.execute(
        select(CoordinatorSession, Coordinator)
        .join(Coordinator, Coordinator.id == CoordinatorSession.coordinator_id)
        .where(CoordinatorSession.id_hash == _hash_secret(secret))
    ).first()
    if row is None:
        return None
    stored, coordinator = row
    expires_at = stored.expires_at
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=now.tzinfo)
    if expires_at <= now or not coordinator.active:
        return None
    return SignedIn(
        id=coordinator.id,
        username=coordinator.username,
        display_name=coordinator.display_name,
        municipality=coordinator.municipality,
        role=coordinator.role,
        language=coordinator.language,
        csrf_token=stored.csrf_token,
    )


def sign_out(session: Session, secret: str) -> None:
    session.execute(
        delete(CoordinatorSession).where(CoordinatorSession.id_hash == _hash_secret(secret))
    )


def csrf_valid(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected, given)


class Accounts:
    """The coordinator app's sign-in, sign-out and settings, one short session per call."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def signed_in(self, secret: str | None) -> SignedIn | None:
        if not secret:
            return None
        with self._sessions() as session:
            return signed_in(session, secret, utcnow())

    def sign_in(self, username: str, password: str, address: str | None) -> str | None:
        """The new session's secret for the cookie, or None."""
        with self._sessions.begin() as session:
            result = sign_in(session, username, password, address, utcnow())
            return None if result is None else result[0]

    def sign_out(self, secret: str) -> None:
        with self._sessions.begin() as session:
            sign_out(session, secret)

    def set_language(self, coordinator_id: int, language: str) -> None:
        with self._sessions.begin() as session:
            coordinator = session.get(Coordinator, coordinator_id)
            if coordinator is not None:
                coordinator.language = language
