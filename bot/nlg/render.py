"""One call that turns a response name into a message for a language and municipality."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.language import content_language, is_supported
from bot.municipality import UnknownMunicipalityError, get_municipality
from bot.nlg.content import RenderedMessage, get_catalog
from bot.runtime import get_settings

logger = logging.getLogger(__name__)

MISSING_RESPONSE_FALLBACK = "utter_default"
FINLAND = ZoneInfo("Europe/Helsinki")


def message_context(latest_message: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """The conversation's language and municipality, as the gateway put them into the
    metadata of the person's latest message (read by the NLG endpoint and the actions)."""
    metadata = (latest_message or {}).get("metadata") or {}
    if not isinstance(metadata, Mapping):
        return None, None
    language, municipality = metadata.get("language"), metadata.get("municipality")
    return (
        language if isinstance(language, str) else None,
        municipality if isinstance(municipality, str) else None,
    )


def example_date(today: date) -> str:
    """A working day a week or so ahead, as people write dates in Finland ("9.12.")."""
    day = today + timedelta(days=7)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return f"{day.day}.{day.month}."


def render_response(
    name: str,
    language: str | None,
    municipality_id: str | None = None,
    arguments: Mapping[str, Any] | None = None,
) -> RenderedMessage:
    settings = get_settings()
    # A translated language is answered in English, which the gateway then translates.
    language = content_language(language)
    if language is None or not is_supported(language):
        language = settings.lotsen_default_language
    try:
        municipality = get_municipality(municipality_id)
    except UnknownMunicipalityError:
        logger.warning("unknown municipality %r, using the default", municipality_id)
        municipality = get_municipality(None)
    variables: dict[str, Any] = municipality.variables(language)
    # An example date in the answers ("for example 3.12. at 10") that is always a coming
    # one: a week from today, in Finland.
    variables["example_date"] = example_date(datetime.now(FINLAND).date())
    for key, value in (arguments or {}).items():
        if isinstance(value, str | int | float):
            variables.setdefault(key, value)
    catalog = get_catalog()
    message = catalog.render(name, language, variables)
    if message is None:
        logger.error("no content for response %s in any language", name)
        message = catalog.render(MISSING_RESPONSE_FALLBACK, language, variables)
    if message is None:
        raise LookupError(f"no content for {name} nor {MISSING_RESPONSE_FALLBACK}")
    return message
