"""The widget's settings for a municipality: its languages, limits and public links."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.http.errors import ApiError
from bot.language import SUPPORTED_LANGUAGES, is_supported, language_name
from bot.municipality import UnknownMunicipalityError, get_municipality
from bot.settings import get_settings
from bot.translation.languages import reachable_translated_languages

# Municipality settings the widget may show; the rest (phone numbers and so on) reach the
# person only through the assistant's answers.
PUBLIC_MUNICIPALITY_KEYS = ("municipality_name", "privacy_url")


async def widget_config(request: Request) -> JSONResponse:
    settings = get_settings()
    translated = await asyncio.to_thread(reachable_translated_languages)
    language = request.query_params.get("language", settings.lotsen_default_language)
    if not is_supported(language) and language not in translated:
        language = settings.lotsen_default_language
    try:
        municipality = get_municipality(request.query_params.get("municipality") or None)
    except UnknownMunicipalityError as error:
        raise ApiError(404, "unknown_municipality", "No such municipality.") from error
    variables = municipality.variables(language)
    return JSONResponse(
        {
            "municipality": municipality.id,
            "language": language,
            "languages": list(SUPPORTED_LANGUAGES),
            # Reached through machine translation: the packages installed on the server.
            "translated_languages": [
                {"code": code, "name": language_name(code)} for code in translated
            ],
            "max_message_chars": settings.lotsen_max_message_chars,
            **{key: variables.get(key) for key in PUBLIC_MUNICIPALITY_KEYS},
        },
        headers={"Cache-Control": "public, max-age=300"},
    )


routes = [Route("/api/v1/widget/config", widget_config, methods=["GET"])]
