"""Comparing a secret a caller sent with the one configured.

An empty secret never matches, not even an empty header: an unset token must lock a door,
not open it. The comparison takes the same time wherever the strings differ.
"""

from __future__ import annotations

import hmac


def secret_matches(expected: str, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None
