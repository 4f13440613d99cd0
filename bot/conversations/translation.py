"""Machine translation inside conversations: what the gateway and the coordinator app ask of
the translator, and how a machine-translated message reads for the person.

- A person who writes in a translated language (bot/language.py: TRANSLATED_LANGUAGES) is
  understood through English: their message is translated into English for Rasa, and the
  assistant's English answers into their language, with a short notice.
- A coordinator's reply in Swedish or Finnish reaches a person in another language as the
  translation, marked, with the original beneath it.

Every function here works without the `translation` extra and without packages: it then
reports that nothing can be translated, and the caller says so instead of failing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Final

from bot.conversations.store import Reply
from bot.language import TRANSLATION_HUB, content_language, is_translated, language_name
from bot.municipality import UnknownMunicipalityError, get_municipality
from bot.nlg.render import render_response
from bot.translation.service import Translation, get_translator

logger = logging.getLogger(__name__)

# Municipality settings that are names, addresses and contact details: never translated.
PROTECTED_SETTINGS: Final = (
    "municipality_name",
    "coordinator_name",
    "coordinator_phone",
    "coordinator_email",
    "welcome_office_address",
    "website_url",
    "privacy_url",
)
# Numbers too short for the phone pattern that must never be altered.
ALWAYS_PROTECTED: Final = ("112",)


def protected_terms(
    municipality: str | None, language: str, names: Sequence[str] = ()
) -> list[str]:
    """The municipality's names and contact details as written in `language`, and `names`
    (a coordinator's name)."""
    try:
        settings = get_municipality(municipality)
    except UnknownMunicipalityError:
        settings = get_municipality(None)
    values = settings.variables(content_language(language) or language)
    terms = [values[key] for key in PROTECTED_SETTINGS if values.get(key)]
    return [*terms, *ALWAYS_PROTECTED, *(name for name in names if name)]


async def translate(
    text: str,
    source: str,
    target: str,
    *,
    municipality: str | None,
    names: Sequence[str] = (),
) -> Translation | None:
    """`text` in `target`, or None when nothing leads there or the translation failed.
    Runs in the translator's worker pool; the event loop is never held up."""
    if source == target:
        return Translation(text, source, target, None)
    try:
        return await get_translator().translate(
            text, source, target, protected_terms=protected_terms(municipality, source, names)
        )
    except Exception:  # a damaged model is logged and treated as a missing one
        logger.exception("translation %s -> %s failed", source, target)
        return None


async def _rendered_in(
    name: str, person_language: str, municipality: str | None, arguments: dict[str, Any]
) -> str:
    """A content text in the person's language: written content for the four languages,
    for a translated language the English text translated, followed by the English."""
    # render_response writes a translated language's texts in English.
    english_or_own = await asyncio.to_thread(
        render_response, name, person_language, municipality, arguments
    )
    if not is_translated(person_language):
        return english_or_own.text
    translated = await translate(
        english_or_own.text,
        TRANSLATION_HUB,
        person_language,
        municipality=municipality,
        names=[str(value) for value in arguments.values()],
    )
    if translated is None:
        return english_or_own.text
    return f"{translated.text}\n{english_or_own.text}"


async def for_person_from_coordinator(
    text: str,
    source: str,
    person_language: str,
    *,
    municipality: str | None,
    coordinator_name: str | None,
) -> Reply:
    """A coordinator's reply as the person receives it: the translation, a marker, and the
    original beneath. Sent as written when the languages match or nothing can translate."""
    if source == person_language:
        return Reply(text=text, buttons=[])
    names = [coordinator_name] if coordinator_name else []
    translated = await translate(
        text, source, person_language, municipality=municipality, names=names
    )
    if translated is None:
        return Reply(text=text, buttons=[])
    marker = await _rendered_in(
        "utter_machine_translation_original",
        person_language,
        municipality,
        {"source": language_name(source)},
    )
    return Reply(
        text=f"{translated.text}\n\n— {marker}\n{text}",
        buttons=[],
        original_text=text,
        original_language=source,
    )


async def for_person_from_assistant(
    replies: Sequence[Reply],
    person_language: str,
    *,
    municipality: str | None,
    names: Sequence[str] = (),
) -> list[Reply]:
    """The assistant's English answers of one turn in a translated language: each text and
    button title translated (payloads unchanged; `names`, such as a coordinator's, kept as
    they are), the notice after the last one. An answer that cannot be translated goes out
    in English rather than not at all. In any other language the replies are returned as
    they are."""
    if not is_translated(person_language) or not replies:
        return list(replies)

    async def one(reply: Reply) -> Reply:
        texts = await asyncio.gather(
            translate(
                reply.text, TRANSLATION_HUB, person_language, municipality=municipality, names=names
            ),
            *(
                translate(
                    button["title"], TRANSLATION_HUB, person_language, municipality=municipality
                )
                for button in reply.buttons
            ),
        )
        body, *titles = texts
        if body is None:
            return reply
        return replace(
            reply,
            text=body.text,
            buttons=[
                {**button, "title": title.text if title is not None else button["title"]}
                for button, title in zip(reply.buttons, titles, strict=True)
            ],
            original_text=reply.text,
            original_language=TRANSLATION_HUB,
            # The marks belong to the hub language's text; a translation is plain.
            markup=None,
        )

    messages = list(await asyncio.gather(*(one(reply) for reply in replies)))
    if all(message.original_text is None for message in messages):
        return messages  # nothing was translated (no package): nothing to mark
    notice = await _rendered_in(
        "utter_machine_translated_answer", person_language, municipality, {}
    )
    last = messages[-1]
    messages[-1] = replace(
        last,
        text=f"{last.text}\n\n{notice}",
        markup=f"{last.markup}\n\n{notice}" if last.markup else None,
    )
    return messages
