"""The assistant's own answers in the coordinator's language. They are not translated: each
answer was rendered from the content (bot/nlg) under a response name with some variables,
kept with the message (bot/nlg/origin.py), and the same content exists in Swedish and
Finnish, so the coordinator reads it re-rendered in theirs, with every button glossed. This
works with no translation package installed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.db.models import Message, MessageDirection, MessageSender
from bot.nlg.render import render_response

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssistantReading:
    """One answer of the assistant as the coordinator reads it, and the buttons' titles in
    the coordinator's language by payload."""

    text: str
    language: str
    buttons: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Glossary:
    """The assistant's answers re-rendered (by message id), and the title in the
    coordinator's language of every button the person could press (by payload), for the
    person's own button presses."""

    answers: dict[int, AssistantReading] = field(default_factory=dict)
    buttons: dict[str, str] = field(default_factory=dict)

    def button(self, message: Message) -> str | None:
        """A person's button press in the coordinator's language, if it was one."""
        if message.sender != MessageSender.USER or not message.payload:
            return None
        return self.buttons.get(message.payload)


def _rerendered(message: Message, language: str, municipality: str | None) -> AssistantReading:
    rendered = render_response(
        message.response_name or "", language, municipality, message.response_arguments or {}
    )
    titles = {
        str(button.get("payload")): str(button.get("title"))
        for button in rendered.buttons
        if button.get("payload")
    }
    sent = message.buttons or []
    # Buttons the content lists by position: a payload the rendering lacks (a language menu
    # entry added at run time) keeps no gloss rather than a wrong one.
    if len(sent) == len(rendered.buttons):
        for button, ours in zip(sent, rendered.buttons, strict=True):
            titles.setdefault(str(button.get("payload")), str(ours.get("title")))
    return AssistantReading(rendered.text, language, titles)


def glossary(messages: Sequence[Message], language: str, municipality: str | None) -> Glossary:
    """Reads from disk (the content catalog) on first use: call it off the event loop."""
    answers: dict[int, AssistantReading] = {}
    buttons: dict[str, str] = {}
    for message in messages:
        if (
            message.direction != MessageDirection.OUTBOUND
            or message.sender not in (MessageSender.BOT, MessageSender.SYSTEM)
            or not message.response_name
            or message.language == language
        ):
            continue
        try:
            reading = _rerendered(message, language, municipality)
        except LookupError:
            logger.warning("no content to re-render response %s", message.response_name)
            continue
        answers[message.id] = reading
        buttons.update(reading.buttons)
    return Glossary(answers, buttons)
