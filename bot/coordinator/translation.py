"""Machine translation in the coordinator's conversation view: the person's messages in the
coordinator's language, and a reply as the person will receive it.

A person's message is translated once per coordinator language and stored
(message_translation); every later render, the live refreshes included, reads it from there
and translates only what arrived since. Without the `translation` extra or without a package
for a language, the view shows the original with a notice and replies go out as written:
nothing here fails for want of a translation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.orm import Session, sessionmaker

from bot.conversations.store import Reply, save_translation, translations_of
from bot.conversations.translation import (
    for_person_from_assistant,
    for_person_from_coordinator,
    translate,
)
from bot.db.models import Message, MessageDirection, MessageSender
from bot.language import is_translated
from bot.nlg.origin import renderable
from bot.nlg.render import render_response
from bot.translation.languages import can_translate
from bot.translation.service import Translation


@dataclass(frozen=True)
class Reading:
    """A person's message as the coordinator reads it. `text` is None when no installed
    package leads from the message's language to the coordinator's."""

    text: str | None
    source: str
    target: str
    pivot: str | None = None


def needs_reading(message: Message, language: str) -> bool:
    """A message the person wrote in another language than the coordinator reads."""
    return (
        message.sender == MessageSender.USER
        and message.direction == MessageDirection.INBOUND
        and bool(message.text)
        and message.language != language
    )


def stored_readings(
    session: Session, messages: Sequence[Message], language: str
) -> dict[int, Reading]:
    wanted = {m.id: m for m in messages if needs_reading(m, language)}
    stored = translations_of(session, list(wanted), language)
    return {
        message_id: Reading(view.text, wanted[message_id].language, language, view.pivot)
        for message_id, view in stored.items()
    }


async def readings(
    messages: Sequence[Message],
    stored: dict[int, Reading],
    language: str,
    municipality: str | None,
    sessions: sessionmaker[Session],
) -> dict[int, Reading]:
    """Every message of the person in another language, read in `language`: the stored
    translations, and the missing ones translated side by side and stored (`sessions`) for
    next time.
    A message nothing translates gets a Reading without text (the view's notice); it is
    tried again on the next render, which costs nothing while no package is installed."""
    missing = [m for m in messages if needs_reading(m, language) and m.id not in stored]
    if not missing:
        return stored
    translated = await asyncio.gather(
        *(
            translate(message.text or "", message.language, language, municipality=municipality)
            for message in missing
        )
    )
    made = {
        message.id: translation
        for message, translation in zip(missing, translated, strict=True)
        if translation is not None
    }
    if made:
        await asyncio.to_thread(_save, sessions, made, language)
    result = dict(stored)
    for message, translation in zip(missing, translated, strict=True):
        result[message.id] = Reading(
            translation.text if translation else None,
            message.language,
            language,
            translation.pivot if translation else None,
        )
    return result


def _save(sessions: sessionmaker[Session], made: dict[int, Translation], language: str) -> None:
    with sessions.begin() as session:
        for message_id, translation in made.items():
            save_translation(session, message_id, language, translation.text, translation.pivot)


# --- Replies --------------------------------------------------------------------------------


class PreviewKind(StrEnum):
    EMPTY = "empty"  # nothing written yet
    TRANSLATED = "translated"  # the person receives the translation, the original beneath
    AS_WRITTEN = "as_written"  # written in the person's language
    NO_TRANSLATION = "no_translation"  # no package leads to the person's language


@dataclass(frozen=True)
class Preview:
    kind: PreviewKind
    reply: Reply | None = None


@dataclass(frozen=True)
class QuickReply:
    text: str
    language: str  # the language it is written in, which the form sends as source_language
    # The same quick reply in the coordinator's language, when it is written in another.
    gloss: str | None = None


@dataclass(frozen=True)
class ReplyForm:
    """The reply form of a conversation whose person the coordinator answers."""

    coordinator_language: str
    person_language: str
    # Whether a package leads from the coordinator's language to the person's.
    translatable: bool
    source_language: str
    draft: str = ""
    preview: Preview | None = None
    quick_replies: list[QuickReply] = field(default_factory=list)

    @property
    def languages_differ(self) -> bool:
        return self.coordinator_language != self.person_language

    @property
    def source_languages(self) -> tuple[str, ...]:
        """The languages a reply may be written in: the coordinator's, or the person's."""
        if not self.languages_differ:
            return (self.coordinator_language,)
        return (self.coordinator_language, self.person_language)


async def translatable(source: str, target: str) -> bool:
    # The first call reads the packages' metadata from disk: not on the event loop.
    return source == target or await asyncio.to_thread(can_translate, source, target)


def quick_replies_for(
    written: dict[str, list[str]], person_language: str, coordinator_language: str
) -> list[QuickReply]:
    """The quick replies in the person's language where they are written; for a language
    reached only by machine translation, those in the coordinator's language (translated
    on sending like anything the coordinator writes)."""
    language = (
        person_language
        if person_language in written and not is_translated(person_language)
        else coordinator_language
    )
    replies = written.get(language, [])
    # The file lists the same replies in the same order in every language.
    glosses = written.get(coordinator_language, [])
    if language == coordinator_language or len(glosses) != len(replies):
        return [QuickReply(text, language) for text in replies]
    return [QuickReply(text, language, gloss) for text, gloss in zip(replies, glosses, strict=True)]


async def preview(
    text: str,
    source: str,
    person_language: str,
    *,
    municipality: str | None,
    coordinator_name: str | None,
) -> Preview:
    """Exactly what the person receives when `text` is sent (the translator's cache makes
    the translation on sending the same as the one previewed)."""
    if source == person_language:
        return Preview(PreviewKind.EMPTY if not text else PreviewKind.AS_WRITTEN)
    if not text:
        if await translatable(source, person_language):
            return Preview(PreviewKind.EMPTY)
        return Preview(PreviewKind.NO_TRANSLATION)
    reply = await for_person_from_coordinator(
        text,
        source,
        person_language,
        municipality=municipality,
        coordinator_name=coordinator_name,
    )
    if reply.original_text is None:
        return Preview(PreviewKind.NO_TRANSLATION, reply)
    return Preview(PreviewKind.TRANSLATED, reply)


async def from_assistant(
    name: str,
    person_language: str,
    municipality: str | None,
    arguments: dict[str, str],
    *,
    names: Sequence[str] = (),
) -> Reply:
    """One of the assistant's texts that the app sends on the coordinator's behalf, in the
    person's language: written content for the four languages, for a translated language
    the English text machine translated (`names` kept as they are), with the English kept
    as the original."""
    rendered = await asyncio.to_thread(
        render_response, name, person_language, municipality, arguments
    )
    replies = await for_person_from_assistant(
        [
            Reply(
                rendered.text,
                rendered.buttons,
                response_name=name,
                response_arguments=renderable(arguments) or None,
            )
        ],
        person_language,
        municipality=municipality,
        names=names,
    )
    return replies[0]
