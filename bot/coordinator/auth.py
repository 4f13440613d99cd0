"""Coordinator accounts: argon2id password hashes, server-side sessions, CSRF tokens and a
lockout after repeated failed sign-ins that a stranger cannot turn against the owner.

The session cookie holds a random secret; the database keeps only its hash, so a copy of
the database signs no one in. Every form carries the session's CSRF token, compared in
constant time.

Lockout: five failures for one username from one network (an IPv4 address, an IPv6 /64)
within fifteen minutes lock that username *from that network* until the oldest of them is
fifteen minutes old. Attempts made while locked are refused without being counted, so
they do not extend the lock. Twenty failures for a username from anywhere lock it from
every network except those it signed in from successfully in the last 90 days: a stranger
spreading guesses over many addresses gains nothing, and the owner at their usual desk
still gets in. Addresses are stored only as a keyed hash of their network.

Deactivating an account or changing its password ends every session of the account.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.bookings.admin import renew_calendar_token, revoke_calendar_token
from bot.db.models import (
    Coordinator,
    CoordinatorRole,
    CoordinatorSession,
    SignInAttempt,
    utcnow,
)
from bot.http.shared_secret import secret_matches

T = TypeVar("T")

SESSION_LIFETIME = timedelta(hours=10)  # one working day
LOCKOUT_WINDOW = timedelta(minutes=15)
LOCKOUT_FAILURES = 5  # per username and network
USERNAME_LOCKOUT_FAILURES = 20  # per username from all networks together
KNOWN_NETWORK_PERIOD = timedelta(days=90)
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()

# argon2 takes tens of milliseconds of CPU and 64 MiB a try. Sign-ins hash in this pool of
# their own, so a flood of them queues here and never starves the threads every other
# request's database work shares (asyncio's default pool).
PASSWORD_WORKERS = 2
_pool_lock = threading.Lock()
_password_pool: ThreadPoolExecutor | None = None


def password_pool() -> ThreadPoolExecutor:
    """The pool, made on first use (no threads at import)."""
    global _password_pool
    with _pool_lock:
        if _password_pool is None:
            _password_pool = ThreadPoolExecutor(
                max_workers=PASSWORD_WORKERS, thread_name_prefix="lotsen-password"
            )
        return _password_pool


async def in_password_pool(function: Callable[..., T], *args: Any) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(password_pool(), functools.partial(function, *args))


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
    # A new password is often a reaction to a stolen one: no old session may outlive it.
    end_sessions(session, coordinator.id)
    return coordinator


class UnknownUserError(LookupError):
    pass


def end_sessions(session: Session, coordinator_id: int) -> int:
    """Signs the account out everywhere; the number of sessions ended."""
    result = session.execute(
        delete(CoordinatorSession).where(CoordinatorSession.coordinator_id == coordinator_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def set_active(session: Session, username: str, active: bool) -> Coordinator:
    """Deactivates (every session ends at once) or reactivates an account."""
    coordinator = session.scalar(select(Coordinator).where(Coordinator.username == username))
    if coordinator is None:
        raise UnknownUserError(username)
    coordinator.active = active
    if not active:
        end_sessions(session, coordinator.id)
    session.flush()
    return coordinator


def _failures(session: Session, username: str, network: str | None, now: datetime) -> int:
    query = (
        select(func.count())
        .select_from(SignInAttempt)
        .where(
            SignInAttempt.username == username,
            SignInAttempt.succeeded.is_(False),
            SignInAttempt.at > now - LOCKOUT_WINDOW,
        )
    )
    if network is not None:
        query = query.where(SignInAttempt.address == network)
    return session.scalar(query) or 0


def _known_network(session: Session, username: str, network: str, now: datetime) -> bool:
    return (
        session.scalar(
            select(SignInAttempt.id)
            .where(
                SignInAttempt.username == username,
                SignInAttempt.address == network,
                SignInAttempt.succeeded.is_(True),
                SignInAttempt.at > now - KNOWN_NETWORK_PERIOD,
            )
            .limit(1)
        )
        is not None
    )


def is_locked(session: Session, username: str, network: str, now: datetime) -> bool:
    """Whether `username` may not try from `network` now. `network` is the keyed hash of
    the client's network (`address_pseudonym`)."""
    if _failures(session, username, network, now) >= LOCKOUT_FAILURES:
        return True
    if _failures(session, username, None, now) >= USERNAME_LOCKOUT_FAILURES:
        return not _known_network(session, username, network, now)
    return False


def sign_in(
    session: Session, username: str, password: str, network: str, now: datetime
) -> tuple[str, Coordinator] | None:
    """A new session secret for the cookie, or None (wrong password, unknown or inactive
    account, or locked). Every try outside a lock is recorded under the network's keyed
    hash; a try during a lock is refused unrecorded, so it cannot lengthen the lock."""
    username = username.strip()[:64]
    address = network
    if is_locked(session, username, network, now):
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
    return secret_matches(expected, given)


class Accounts:
    """The coordinator app's sign-in, sign-out and settings, one short session per call."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def signed_in(self, secret: str | None) -> SignedIn | None:
        if not secret:
            return None
        with self._sessions() as session:
            return signed_in(session, secret, utcnow())

    def sign_in(self, username: str, password: str, network: str) -> str | None:
        """The new session's secret for the cookie, or None. Runs in the password pool
        (`PASSWORD_POOL`), never in the thread pool the rest of the app shares."""
        with self._sessions.begin() as session:
            result = sign_in(session, username, password, network, utcnow())
            return None if result is None else result[0]

    def sign_out(self, secret: str) -> None:
        with self._sessions.begin() as session:
            sign_out(session, secret)

    def set_language(self, coordinator_id: int, language: str) -> None:
        with self._sessions.begin() as session:
            coordinator = session.get(Coordinator, coordinator_id)
            if coordinator is not None:
                coordinator.language = language

    def calendar_feed_expires(self, coordinator_id: int) -> datetime | None:
        with self._sessions() as session:
            coordinator = session.get(Coordinator, coordinator_id)
            if coordinator is None or coordinator.calendar_token_hash is None:
                return None
            return coordinator.calendar_token_expires_at

    def renew_calendar_feed(self, coordinator_id: int) -> tuple[str, datetime]:
        with self._sessions.begin() as session:
            coordinator = session.get_one(Coordinator, coordinator_id)
            token = renew_calendar_token(coordinator, utcnow())
            assert coordinator.calendar_token_expires_at is not None
            return token, coordinator.calendar_token_expires_at

    def revoke_calendar_feed(self, coordinator_id: int) -> None:
        with self._sessions.begin() as session:
            coordinator = session.get(Coordinator, coordinator_id)
            if coordinator is not None:
                revoke_calendar_token(coordinator)
