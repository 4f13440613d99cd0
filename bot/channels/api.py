"""The conversation API, /api/v1: the stable contract for clients, tools and the widget, a
channel beside the widget's own endpoints and Telegram."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.conversations.router import EmptyMessageError, Inbound, Router, UnissuedPayloadError
from bot.conversations.store import (
    ConversationStore,
    ConversationView,
    InvalidTokenError,
    UnknownConversationError,
)
from bot.db import get_sessionmaker
from bot.db.models import LanguageSource, utcnow
from bot.http.client_address import client_network, client_pseudonym
from bot.http.errors import ApiError
from bot.http.ratelimit import Limiter, RateLimits, retry_after_header
from bot.language import is_known, is_supported, language_name
from bot.municipality import municipality_exists
from bot.nlg.render import render_response
from bot.privacy.erasure import ErasureReason, erase_conversation
from bot.privacy.tracker import get_tracker_store
from bot.runtime import get_settings
from bot.translation.languages import conversation_languages, reachable

# A request body above this is refused before it is parsed. Generous next to the text limit:
# JSON may escape every character of a 2000-character message as six bytes.
MAX_BODY_BYTES = 64 * 1024
MAX_PAGE = 200
# Telegram conversations are made by the Telegram channel itself, never through the API,
# so no API client can open a conversation in the name of a Telegram user.
CHANNELS = ("api", "web")
# Commands a channel's own controls send (the widget's "talk to a person" button and its
# language menu). Only these become intents; anything else a client sends is refused.
COMMANDS = ("request_human", "choose_language")


class RateLimitedError(ApiError):
    def __init__(self, seconds: float, language: str | None) -> None:
        wait = retry_after_header(seconds)
        text = render_response("utter_rate_limited", language or "", None, {"seconds": wait})
        super().__init__(429, "rate_limited", text.text, retry_after=int(wait))
        self.retry_after = wait

    def response(self) -> JSONResponse:
        response = super().response()
        response.headers["Retry-After"] = self.retry_after
        return response


async def enforce_limit(limiter: Limiter, key: str, language: str | None) -> None:
    wait = await limiter.hit(key)
    if wait is not None:
        raise RateLimitedError(wait, language)


def client_address_key(request: Request) -> str:
    # The client's network (an IPv6 address's /64), after a trusted proxy's header.
    return client_network(request)


def rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


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


async def authorised(request: Request) -> ConversationView:
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
    await enforce_limit(
        rate_limits(request).address_conversations,
        client_address_key(request),
        language if is_known(language) else None,
    )
    if language is not None:
        await _check_language(language)
    municipality = body.get("municipality") or settings.lotsen_default_municipality
    if not isinstance(municipality, str) or not municipality_exists(municipality):
        raise ApiError(422, "unknown_municipality", "No such municipality.")
    # false: the language is only a starting point (the widget's page language), and the
    # person's own messages may still switch it by detection.
    chosen = body.get("language_chosen", True)
    if not isinstance(chosen, bool):
        raise ApiError(422, "not_a_boolean", "language_chosen must be true or false.")
    channel = body.get("channel", "api")
    if channel not in CHANNELS:
        raise ApiError(422, "unknown_channel", f"channel must be one of {', '.join(CHANNELS)}.")
    store: ConversationStore = request.app.state.store
    conversation, token = await asyncio.to_thread(
        store.create,
        channel=channel,
        municipality=municipality,
        language=language or settings.lotsen_default_language,
        language_source=LanguageSource.CHOSEN if language and chosen else LanguageSource.DEFAULT,
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


async def _check_language(language: Any) -> str:
    """A language a conversation can be held in now: one of the four, or a translated one
    whose packages are installed (reading their metadata is kept off the event loop)."""
    if isinstance(language, str) and (
        is_supported(language)
        or (is_known(language) and await asyncio.to_thread(reachable, language))
    ):
        return language
    languages = await asyncio.to_thread(conversation_languages)
    raise ApiError(
        422,
        "unsupported_language",
        f"language must be one of {', '.join(languages)}.",
        languages=languages,
    )


async def _inbound(body: dict[str, Any], conversation: ConversationView) -> Inbound:
    """What the body asks for: typed text, a button's payload, or one allowed command."""
    sent = {key: body[key] for key in ("text", "payload", "command") if body.get(key) is not None}
    if len(sent) != 1:
        raise ApiError(422, "text_or_payload", "Send either text, payload or command.")
    ((kind, value),) = sent.items()
    if not isinstance(value, str):
        raise ApiError(422, "not_a_string", "text, payload and command must be strings.")
    if kind == "text":
        if len(value) > get_settings().lotsen_max_message_chars:
            raise _too_long(conversation.language)
        return Inbound(text=value)
    if kind == "payload":
        return Inbound(payload=value)
    if value not in COMMANDS:
        raise ApiError(422, "unknown_command", f"command must be one of {', '.join(COMMANDS)}.")
    if value == "choose_language":
        language = await _check_language(body.get("language"))
        # The same intent and entity as the language menu's buttons in the content.
        entity = json.dumps({"language": language})
        return Inbound(text=language_name(language), intent=f"choose_language{entity}")
    label = render_response(
        "utter_widget_request_human", conversation.language, conversation.municipality
    )
    return Inbound(text=label.text, intent="request_human")


async def post_message(request: Request) -> JSONResponse:
    limits = rate_limits(request)
    await enforce_limit(limits.address_messages, client_address_key(request), None)
    conversation = await authorised(request)
    await enforce_limit(limits.conversation_messages, conversation.id, conversation.language)
    body = await read_json(request, conversation.language)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "The body must be a JSON object.")
    inbound = replace(
        await _inbound(body, conversation),
        client_network=client_pseudonym(request, get_settings().link_code_secret),
    )
    router: Router = request.app.state.router
    try:
        result = await router.handle(conversation, inbound)
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
    conversation = await authorised(request)
    after_raw = request.query_params.get("after", "0")
    if not after_raw.isdigit():
        raise ApiError(422, "invalid_cursor", "after must be a cursor from this API.")
    after = int(after_raw)
    store: ConversationStore = request.app.state.store
    messages = await asyncio.to_thread(store.messages_after, conversation.id, after, MAX_PAGE)
    if messages and conversation.channel == "web":
        # The widget has fetched them: reminders and coordinator replies are delivered.
        await asyncio.to_thread(store.mark_delivered_up_to, conversation.id, messages[-1].id)
    return JSONResponse(
        {
            "messages": [message.as_json() for message in messages],
            "cursor": messages[-1].id if messages else after,
            "language": conversation.language,
            "state": conversation.state,
        }
    )


async def delete_conversation(request: Request) -> Response:
    """The person's "start over and erase": the conversation is erased everywhere it is
    kept, Rasa's tracker included (bot/privacy/erasure.py)."""
    conversation = await authorised(request)
    await asyncio.to_thread(
        erase_conversation,
        get_sessionmaker(),
        get_tracker_store(),
        conversation.id,
        actor=f"conversation:{conversation.id}",
        reason=ErasureReason.PERSON_ASKED,
        now=utcnow(),
    )
    await rate_limits(request).conversation_messages.forget(conversation.id)
    return Response(status_code=204)


routes = [
    Route("/api/v1/conversations", create_conversation, methods=["POST"]),
    Route("/api/v1/conversations/{conversation_id}", delete_conversation, methods=["DELETE"]),
    Route("/api/v1/conversations/{conversation_id}/messages", post_message, methods=["POST"]),
    Route("/api/v1/conversations/{conversation_id}/messages", list_messages, methods=["GET"]),
]
