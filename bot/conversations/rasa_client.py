"""The gateway's side of Rasa's REST channel (`/webhooks/rest/webhook`)."""

from __future__ import annotations

from typing import Any

import httpx


class RasaUnavailableError(RuntimeError):
    pass


class RasaClient:
    def __init__(self, http: httpx.AsyncClient, base_url: str, timeout_seconds: float) -> None:
        self._http = http
        self._webhook = base_url.rstrip("/") + "/webhooks/rest/webhook"
        self._timeout = timeout_seconds

    async def send(
        self, sender_id: str, message: str, metadata: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            response = await self._http.post(
                self._webhook,
                json={"sender": sender_id, "message": message, "metadata": metadata},
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
