"""Rasa's REST channel behind a shared secret; this module runs inside the Rasa server.

Rasa's own REST channel (`/webhooks/rest/webhook`) answers anyone who can reach its port,
for any sender id: any process on the host could speak for any person, or type an intent
into another person's conversation. This channel is the same, except that a message must
carry the secret only the gateway knows (`RASA_CHANNEL_SECRET`, header
`X-Lotsen-Channel-Secret`), compared in constant time; an empty secret refuses to start.

Each answer also carries which content it was rendered from: the NLG endpoint adds it to
its response (`lotsen_response`: response name and variables), Rasa keeps unknown keys of an
NLG response as the bot message's metadata, and Rasa's collecting output channel would drop
them; the channel here copies that key onto the message it returns to the gateway, which
stores it so the coordinator can read the answer in their own language.

Rasa (.venv-rasa, Python 3.10, Sanic 21) imports it from credentials.yml by its path, so it
imports nothing of the project and only what Rasa itself brings.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

CHANNEL_SECRET_HEADER = "X-Lotsen-Channel-Secret"  # noqa: S105 - a header name
# The key the NLG endpoint describes an answer's content with (bot/nlg/origin.py).
RESPONSE_KEY = "lotsen_response"


class DescribingOutputChannel(CollectingOutputChannel):  # type: ignore[misc]
    """Collects into the REST channel's own list, keeping each answer's `lotsen_response`."""

    def __init__(self, collector: CollectingOutputChannel) -> None:
        super().__init__()
        self.messages = collector.messages

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        before = len(self.messages)
        await super().send_response(recipient_id, dict(message))
        described = message.get(RESPONSE_KEY)
        if isinstance(described, dict):
            for collected in self.messages[before:]:
                if collected.get("text"):
                    collected[RESPONSE_KEY] = described


class SecretRestInput(RestInput):  # type: ignore[misc]
    @classmethod
    def name(cls) -> str:
        # The same address and channel name as Rasa's REST channel.
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        secret = str((credentials or {}).get("secret") or "")
        if not secret.strip():
            raise ValueError("RASA_CHANNEL_SECRET is empty: the REST channel would be open")
        return cls(secret)

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def described(message: UserMessage) -> Any:
            message.output_channel = DescribingOutputChannel(message.output_channel)
            return await on_new_message(message)

        blueprint: Blueprint = super().blueprint(described)

        @blueprint.middleware("request")  # type: ignore[untyped-decorator]
        async def require_secret(request: Request) -> HTTPResponse | None:
            if request.method == "GET":  # the channel's health check, which reveals nothing
                return None
            given = (request.headers.get(CHANNEL_SECRET_HEADER) or "").encode()
            if not given or not hmac.compare_digest(given, self._secret):
                return response.json({"error": "forbidden"}, status=403)
            return None

        return blueprint
