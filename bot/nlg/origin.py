"""Which content an answer of the assistant was rendered from: its response name and the
variables given to it. The NLG endpoint adds this to each answer under `RESPONSE_KEY`; Rasa's
channel (bot/rasa_channel.py) hands it back with the answer, and the gateway stores it with
the message, so the coordinator reads the same answer re-rendered in their own language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# bot/rasa_channel.py has the same key (it imports nothing of the project).
RESPONSE_KEY = "lotsen_response"
# The longest response name kept (message.response_name).
NAME_LIMIT = 128


@dataclass(frozen=True)
class Origin:
    name: str
    arguments: dict[str, str | int | float]

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


def renderable(arguments: Mapping[str, Any] | None) -> dict[str, str | int | float]:
    """The arguments content can use (render_response takes strings and numbers only)."""
    return {
        str(key): value
        for key, value in (arguments or {}).items()
        if isinstance(value, str | int | float)
    }


def origin_of(reply: Mapping[str, Any]) -> Origin | None:
    """The content a reply from Rasa says it was rendered from, or None."""
    described = reply.get(RESPONSE_KEY)
    if not isinstance(described, Mapping):
        return None
    name = described.get("name")
    if not isinstance(name, str) or not name.startswith("utter_") or len(name) > NAME_LIMIT:
        return None
    arguments = described.get("arguments")
    return Origin(name, renderable(arguments if isinstance(arguments, Mapping) else None))
