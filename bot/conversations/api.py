"""The conversation API, /api/v1: the stable contract for channels, the widget and tools."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.conversations.router import EmptyMessageError, Inbound, Router, UnissuedPayloadError
from bot.conversations.store import (
    ConversationStore,
    ConversationView,
    InvalidTokenError,
    UnknownConversationError,
)
from bot.db.models import LanguageSource
from bot.language import SUPPORTED_LANGUAGES, is_supported
from bot.municipality import municipality_exists
from bot.nlg.render import render_response
from bot.settings import get_settings

# A request body above this is refused before it is parsed. Generous next to the text limit:
# JSON may escape every character of a 2000-character message as six bytes.
MAX_BODY_BYTES = 64 * 1024
MAX_PAGE = 200
# Telegram conversations are made by the Telegram channel itself, never through the API,
# so no API client can open a conversation in the name of a Telegram user.
CHANNELS = ("api", "web")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self) -> JSONResponse:
        error = {"code": self.code, "message": self.message, **self.extra}
        return JSONResponse({"error": error}, status_code=self.status)


async def read_json(request: Request, language: str | None = None) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_long(language)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise _too_long(language)
    if not body:
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from error


def _too_long(language: str | None) -> ApiError:
    limit = get_settings().lotsen_max_message_chars
    text = render_response("utter_message_too_long", language or "", None, {"limit": limit})
    return ApiError(413, "message_too_long", text.text, limit=limit)


def _bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "A Bearer token is required.")
    return token.strip()


async def _authorised(request: Request) -> ConversationView:
    store: ConversationStore = request.app.state.store
    conversation_id = request.path_params["conversation_id"]
    if len(conversation_id) > 64:
        raise ApiError(404, "not_found", "No such conversation.")
    token = _bearer_token(request)
    try:
        return await asyncio.to_thread(store.authenticate, conversation_id, token)
    except UnknownConversationError as error:
        raise ApiError(404, "not_found", "No such conversation.") from error
    except InvalidTokenError as error:
        raise ApiError(
            401, "unauthorized", "The token does not belong to this conversation."
        ) from error


async def create_conversation(request: Request) -> JSONResponse:
    settings = get_settings()
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "The body must be a JSON object.")
    language = body.get("language")
    if language is not None and not is_supported(language):
        raise ApiError(
            422,
            "unsupported_language",
            f"language must be one of {', '.join(SUPPORTED_LANGUAGES)}.",
        )
    municipality = body.get("municipality") or settings.lotsen_default_municipality
    if not isinstance(municipality, str) or not municipality_exists(municipality):
        raise ApiError(422, "unknown_municipality", "No such municipality.")
    channel = body.get("channel", "api")
    if channel not in CHANNELS:
        raise ApiError(422, "unknown_channel", f"channel must be one of {', '.join(CHANNELS)}.")
    store: ConversationStore = request.app.state.store
    conversation, token = await asyncio.to_thread(
        store.create,
        channel=channel,
        municipality=municipality,
        language=language or settings.lotsen_default_language,
        language_source=LanguageSource.CHOSEN if language else LanguageSource.DEFAULT,
    )
    return JSONResponse(
        {
            "conversation_id": conversation.id,
            "token": token,
            "language": conversation.language,
            "state": conversation.state,
        },
        status_code=201,
    )


async def post_message(request: Request) -> JSONResponse:
    conversation = await _authorised(request)
    body = await read_json(request, conversation.language)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "The body must be a JSON object.")
    text, payload = body.get("text"), body.get("payload")
    if (text is None) == (payload is None):
        raise ApiError(422, "text_or_payload", "Send either text or payload.")
    if not isinstance(text if text is not None else payload, str):
        raise ApiError(422, "not_a_string", "text and payload must be strings.")
    if text is not None and len(text) > get_settings().lotsen_max_message_chars:
        raise _too_long(conversation.language)
    router: Router = request.app.state.router
    try:
        result = await router.handle(conversation, Inbound(text=text, payload=payload))
    except EmptyMessageError as error:
        reply = render_response("utter_empty_message", conversation.language)
        raise ApiError(422, "empty_message", reply.text) from error
    except UnissuedPayloadError as error:
        raise ApiError(422, "unknown_payload", "That button was not offered here.") from error
    return JSONResponse(
        {
            "messages": [message.as_json() for message in result.messages],
            "language": result.language,
            "state": result.state,
            "cursor": result.messages[-1].id if result.messages else None,
        }
    )


async def list_messages(request: Request) -> JSONResponse:
    conversation = await _authorised(request)
    after_raw = request.query_params.get("after", "0")
    if not after_raw.isdigit():
        raise ApiError(422, "invalid_cursor", "after must be a cursor from this API.")
    after = int(after_raw)
    store: ConversationStore = request.app.state.store
    messages = await asyncio.to_thread(store.messages_after, conversation.id, after, MAX_PAGE)
    return JSONResponse(
        {
            "messages": [message.as_json() for message in messages],
            "cursor": messages[-1].id if messages else after,
            "language": conversation.language,
            "state": conversation.state,
        }
    )


routes = [
    Route("/api/v1/conversations", create_conversation, methods=["POST"]),
    Route("/api/v1/conversations/{conversation_id}/messages", post_message, methods=["POST"]),
    Route("/api/v1/conversations/{conversation_id}/messages", list_messages, methods=["GET"]),
]
