"""Requests to a running test app from another client address."""

from __future__ import annotations

from starlette.testclient import TestClient


def from_address(running: TestClient, address: str) -> TestClient:
    """A client of the same app as `running` (inside its `with` block, so its lifespan has
    run) whose requests come from `address`. It shares the running client's event loop,
    which the app's own HTTP clients (to Rasa) are bound to."""
    other = TestClient(running.app, client=(address, 50000))
    other.portal = running.portal
    return other
