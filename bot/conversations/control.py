"""The control messages between the actions and the gateway. An action sends one as a
`custom` (json_message) reply under CONTROL_KEY; the gateway applies it and shows it to
nobody. The action server and the gateway both import this module, so the key and the
shapes are written once:

    {"lotsen": {"set_language": "uk"}}
    {"lotsen": {"handoff": {"reason": "request_human", "topic": "ask_housing"}}}
"""

from __future__ import annotations

from typing import Any

from bot.handoff.state_machine import HandoffRequest
from bot.language import is_known

CONTROL_KEY = "lotsen"


def set_language_message(language: str) -> dict[str, Any]:
    """Tells the gateway the person chose `language` (the gateway owns the conversation's
    language)."""
    return {CONTROL_KEY: {"set_language": language}}


def handoff_message(reason: str, topic: str | None) -> dict[str, Any]:
    """Asks the gateway to put the conversation in the coordinator's queue."""
    return {CONTROL_KEY: {"handoff": {"reason": reason, "topic": topic}}}


def _controls(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    controls = []
    for reply in replies:
        custom = reply.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get(CONTROL_KEY), dict):
            controls.append(custom[CONTROL_KEY])
    return controls


def chosen_language(replies: list[dict[str, Any]]) -> str | None:
    """The language a control message among Rasa's replies sets, if any (the last one)."""
    chosen = None
    for control in _controls(replies):
        language = control.get("set_language")
        if is_known(language):
            chosen = str(language)
    return chosen


def handoff_request(replies: list[dict[str, Any]]) -> HandoffRequest | None:
    """The handoff a control message among Rasa's replies asks for (the first one)."""
    for control in _controls(replies):
        handoff = control.get("handoff")
        if isinstance(handoff, dict) and isinstance(handoff.get("reason"), str):
            topic = handoff.get("topic")
            return HandoffRequest(
                reason=handoff["reason"][:32],
                topic=topic[:64] if isinstance(topic, str) else None,
            )
    return None
