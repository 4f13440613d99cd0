"""The gateway's side of Rasa's REST channel (`/webhooks/rest/webhook`)."""

from __future__ import annotations

from typing import Any

import httpx

# Rasa's REST channel (bot/rasa_channel.py) refuses messages without this header.
CHANNEL_SECRET_HEADER = "X-Lotsen-Channel-Secret"  # noqa: S105 - a header name


class RasaUnavailableError(RuntimeError):
    pass


class RasaClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        timeout_seconds: float,
        api_token: str | None = None,
        channel_secret: str = "",
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._webhook = self._base + "/webhooks/rest/webhook"
        self._timeout = timeout_seconds
        self._api_token = api_token
        self._channel_headers = {CHANNEL_SECRET_HEADER: channel_secret}

    async def resume(self, sender_id: str) -> None:
        """Resumes a conversation the handoff paused (Rasa's `resume` event), so the
        assistant answers again where the conversation stands. The handoff action was the
        last thing Rasa did, so an `action_listen` follows: Rasa then expects the person's
        next message instead of predicting from the middle of a turn."""
        try:
            response = await self._http.post(
                f"{self._base}/conversations/{sender_id}/tracker/events",
                params={"token": self._api_token} if self._api_token else None,
                json=[{"event": "resume"}, {"event": "action", "name": "action_listen"}],
                timeout=self._timeout,
            )
        except httpx.HTTPError as error:
            raise RasaUnavailableError(f"Rasa not reachable: {error!r}") from error
        if response.status_code != httpx.codes.OK:
            raise RasaUnavailableError(f"Rasa answered {response.status_code} to resume")

    async def send(
        self, sender_id: str, message: str, metadata: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            response = await self._http.post(
                self._webhook,
                json={"sender": sender_id, "message": message, "metadata": metadata},
                headers=self._channel_headers,
                timeout=self._timeout,
            )
        except httpx.HTTPError as error:
            raise RasaUnavailableError(f"Rasa not reachable: {error!r}") from error
        if response.status_code != httpx.codes.OK:
            raise RasaUnavailableError(f"Rasa answered {response.status_code}")
        try:
            replies = response.json()
        except ValueError as error:
            raise RasaUnavailableError("Rasa answered with invalid JSON") from error
        if not isinstance(replies, list):
            raise RasaUnavailableError("Rasa answered with something other than a list")
        return [reply for reply in replies if isinstance(reply, dict)]
