"""The router: every inbound message is stored, then forwarded by the conversation's state.

In state `bot` a message goes to Rasa with the conversation's language as metadata; every
reply is stored before it is returned. Rasa (through an action) can send control messages
(bot/conversations/control.py); the gateway applies them and shows them to nobody.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from bot.conversations import translation
from bot.conversations.control import chosen_language, erase_chat_requested, handoff_request
from bot.conversations.rasa_client import RasaClient, RasaUnavailableError
from bot.conversations.store import ConversationStore, ConversationView, MessageView, Reply
from bot.conversations.text import clean_text
from bot.db.models import ConversationState, LanguageSource, MessageStatus
from bot.handoff.state_machine import HandoffReason, HandoffRequest
from bot.handoff.urgent import is_urgent
from bot.language import (
    TRANSLATION_HUB,
    content_language,
    detect_language,
    is_translated,
    language_name,
)
from bot.nlg.content import get_catalog
from bot.nlg.markup import from_assistant
from bot.nlg.origin import origin_of, renderable
from bot.nlg.render import render_response
from bot.runtime import get_settings
from bot.translation.languages import conversation_languages, reachable

logger = logging.getLogger(__name__)

# The assistant's questions answered with a name or a contact, never with a sentence.
QUESTIONS_FOR_NAMES: Final = frozenset(
    {"utter_ask_booking_contact_name", "utter_ask_booking_contact", "utter_booking_contact_invalid"}
)

# The button in the handoff message: the gateway handles it, Rasa never sees it.
RETURN_TO_ASSISTANT = "/lotsen_return_to_assistant"
# The button after the chat was erased (utter_erase_chat_done): a handoff about the case
# register. The gateway handles it: Rasa's memory of the conversation was just erased.
CASE_DATA_HANDOFF = "/lotsen_case_data_handoff"
# The buttons of Telegram's /delete question (utter_telegram_delete_confirm).
ERASE_CONFIRMED = "/lotsen_erase_confirmed"
ERASE_KEPT = "/lotsen_erase_kept"
# TurnResult.state of a conversation that no longer exists.
ERASED = "erased"
# A message this long usually holds several questions; the assistant answers the one it
# recognised and says so, instead of silently dropping the rest.
LONG_MESSAGE_CHARS = 280


class EmptyMessageError(ValueError):
    pass


class UnissuedPayloadError(ValueError):
    pass


@dataclass(frozen=True)
class TurnResult:
    messages: list[MessageView]
    language: str
    state: str


@dataclass(frozen=True)
class Inbound:
    """What a person sent: typed text, the payload of a button the gateway issued, or a
    channel command (Telegram's /human) that a channel maps to an intent itself. `intent` is
    set only by channel code, never from a request body."""

    text: str | None = None
    payload: str | None = None
    intent: str | None = None
    # The channel's own id of this message (Telegram's update id), set by channel code so
    # a message delivered twice is handled once (DuplicateInboundError the second time).
    external_id: str | None = None
    # The sender's network as a keyed pseudonym (client_address.address_pseudonym; for
    # Telegram the user id), set by channel code and stored with the message, so that the
    # actions count wrong link codes and bookings per network, not per conversation.
    client_network: str | None = None


@dataclass(frozen=True)
class _Received:
    message_id: int
    rasa_text: str
    language: str
    state: str
    # Typed text (not a button's payload or a channel command): the only input translated.
    typed: bool = False
    # The language the message is written in, when it is not the conversation's (a person
    # who chose Swedish may still write English, which the NLU understands as it is).
    message_language: str | None = None


class Router:
    def __init__(self, store: ConversationStore, rasa: RasaClient) -> None:
        self._store = store
        self._rasa = rasa

    async def handle(
        self,
        conversation: ConversationView,
        inbound: Inbound,
        *,
        reply_status: MessageStatus = MessageStatus.SENT,
    ) -> TurnResult:
        """One turn. `reply_status` is `pending` for a push channel that delivers the replies
        itself and marks them sent (see ConversationStore.finish_turn)."""
        # Checking, detecting and storing share one worker thread hop and one transaction.
        received = await asyncio.to_thread(self._receive, conversation, inbound)
        language = received.language
        if inbound.payload == RETURN_TO_ASSISTANT:
            return await self._return_to_assistant(conversation, received, reply_status)
        if inbound.payload == ERASE_CONFIRMED:
            # Everything goes, the message just stored with it; nothing is left to answer in.
            await asyncio.to_thread(self._store.erase, conversation.id, keep_conversation=False)
            return TurnResult(messages=[], language=language, state=ERASED)
        if inbound.payload == ERASE_KEPT:
            return await self._finish(
                conversation, received, ["utter_erase_chat_kept"], reply_status
            )
        if received.state != ConversationState.BOT:
            # Handoff (waiting/human) keeps the bot silent; the coordinator side reads (and
            # translates) it. The state is read after the message is stored, so a handoff
            # that happened since the caller looked the conversation up is respected.
            return TurnResult(messages=[], language=language, state=received.state)
        if inbound.payload == CASE_DATA_HANDOFF:
            return await self._finish(
                conversation,
                received,
                ["utter_handoff_data_request"],
                reply_status,
                handoff=HandoffRequest(HandoffReason.DATA_REQUEST, "delete_my_data"),
            )
        if received.typed and is_urgent(received.rasa_text):
            return await self._urgent(conversation, received, reply_status)
        rasa_text = received.rasa_text
        if received.typed and is_translated(received.message_language or language):
            understood = await self._understand(conversation, received)
            if understood is None:
                return await self._language_unavailable(conversation, received, reply_status)
            if is_urgent(understood):
                return await self._urgent(conversation, received, reply_status)
            rasa_text = understood

        metadata = {
            # Rasa, the actions and the NLG endpoint work in the content language (English
            # for a translated language); the gateway translates the answers.
            "language": content_language(language),
            "person_language": language,
            "municipality": conversation.municipality,
            "channel": conversation.channel,
        }
        try:
            replies = await self._rasa.send(conversation.id, rasa_text, metadata)
        except RasaUnavailableError as error:
            logger.warning("conversation %s: %s", conversation.id, error)
            return await self._finish(
                conversation,
                received,
                ["utter_service_unavailable"],
                reply_status,
                status=MessageStatus.FAILED,
            )

        chosen = chosen_language(replies)
        if (
            chosen is not None
            and is_translated(chosen)
            and not await asyncio.to_thread(reachable, chosen)
        ):
            chosen = None  # offered only where packages are installed; gone since
        if chosen is not None:
            language = chosen
        handoff = handoff_request(replies)
        if erase_chat_requested(replies):
            # The person confirmed. Rasa has saved its tracker by now, so this turn's
            # events go too; the conversation stays, emptied, for the reply offering the
            # coordinator.
            await asyncio.to_thread(self._store.erase, conversation.id, keep_conversation=True)
        outgoing = [_reply(r) for r in replies if r.get("text")]
        if outgoing and len(received.rasa_text) >= LONG_MESSAGE_CHARS:
            hint = render_response("utter_long_message_hint", language, conversation.municipality)
            outgoing.append(
                Reply(
                    hint.text,
                    hint.buttons,
                    markup=hint.markup,
                    response_name="utter_long_message_hint",
                )
            )
        outgoing = await translation.for_person_from_assistant(
            outgoing, language, municipality=conversation.municipality
        )
        stored = await asyncio.to_thread(
            self._store.finish_turn,
            conversation.id,
            received.message_id,
            status=MessageStatus.PROCESSED,
            replies=outgoing,
            language=language,
            chosen_language=chosen is not None,
            reply_status=reply_status,
            handoff=handoff,
        )
        state = ConversationState.WAITING if handoff is not None else received.state
        return TurnResult(messages=stored, language=language, state=state)

    async def _understand(self, conversation: ConversationView, received: _Received) -> str | None:
        """The person's message in English, stored beside it; None if it cannot be made."""
        translated = await translation.translate(
            received.rasa_text,
            received.message_language or received.language,
            TRANSLATION_HUB,
            municipality=conversation.municipality,
        )
        if translated is None:
            return None
        await asyncio.to_thread(
            self._store.save_translation,
            received.message_id,
            TRANSLATION_HUB,
            translated.text,
            translated.pivot,
        )
        return translated.text

    async def _finish(
        self,
        conversation: ConversationView,
        received: _Received,
        responses: list[str],
        reply_status: MessageStatus,
        *,
        status: MessageStatus = MessageStatus.PROCESSED,
        handoff: HandoffRequest | None = None,
        arguments: dict[str, Any] | None = None,
        content: str | None = None,
    ) -> TurnResult:
        """Ends the turn with the gateway's own answers (Rasa had no part in it)."""
        language = received.language
        stored = await self.answer_without_rasa(
            conversation,
            received.message_id,
            responses,
            language=language,
            reply_status=reply_status,
            status=status,
            handoff=handoff,
            arguments=arguments,
            content=content,
        )
        state = ConversationState.WAITING if handoff is not None else received.state
        return TurnResult(messages=stored, language=language, state=state)

    async def answer_without_rasa(
        self,
        conversation: ConversationView,
        message_id: int,
        responses: list[str],
        *,
        language: str,
        reply_status: MessageStatus,
        status: MessageStatus = MessageStatus.PROCESSED,
        handoff: HandoffRequest | None = None,
        arguments: Mapping[str, Any] | None = None,
        content: str | None = None,
    ) -> list[MessageView]:
        """Ends the turn of stored message `message_id` with the gateway's own answers, in
        the person's language (translated from English for a translated language), or in
        the `content` language as written."""

        def rendered() -> list[Reply]:
            return [
                Reply(
                    message.text,
                    message.buttons,
                    markup=message.markup,
                    response_name=name,
                    response_arguments=renderable(arguments) or None,
                )
                for name in responses
                for message in [
                    render_response(name, content or language, conversation.municipality, arguments)
                ]
            ]

        replies = await asyncio.to_thread(rendered)
        if content is None:
            replies = await translation.for_person_from_assistant(
                replies, language, municipality=conversation.municipality
            )
        return await asyncio.to_thread(
            self._store.finish_turn,
            conversation.id,
            message_id,
            status=status,
            replies=replies,
            language=language,
            reply_status=reply_status,
            handoff=handoff,
        )

    async def _language_unavailable(
        self, conversation: ConversationView, received: _Received, reply_status: MessageStatus
    ) -> TurnResult:
        """A language nothing installed reaches: a sentence in it where one was written
        (data/content/translated/), then which languages there are, in English and Swedish,
        and a person to write to. Rasa never sees the message."""
        languages = await asyncio.to_thread(conversation_languages)
        # First a sentence the person can read, if one was written for their language.
        spoken = received.message_language or received.language
        note = await asyncio.to_thread(lambda: get_catalog().unavailable_note(spoken))
        return await self._finish(
            conversation,
            received,
            ["utter_language_unavailable"],
            reply_status,
            arguments={
                "languages": ", ".join(language_name(code) for code in languages),
                "in_your_language": f"{note}\n\n" if note else "",
            },
            content=TRANSLATION_HUB,
        )

    async def _return_to_assistant(
        self, conversation: ConversationView, received: _Received, reply_status: MessageStatus
    ) -> TurnResult:
        """The person leaves the queue (or the coordinator) and goes back to the assistant.
        Rasa is resumed first: if it cannot be, the conversation stays with the coordinator."""
        response, status = "utter_handoff_not_waiting", MessageStatus.PROCESSED
        if received.state in (ConversationState.WAITING, ConversationState.HUMAN):
            try:
                await self._rasa.resume(conversation.id)
            except RasaUnavailableError as error:
                logger.warning("conversation %s: %s", conversation.id, error)
                response, status = "utter_service_unavailable", MessageStatus.FAILED
            else:
                await asyncio.to_thread(self._store.return_to_assistant, conversation.id)
                response = "utter_handoff_returned"
                received = replace(received, state=ConversationState.BOT)
        return await self._finish(conversation, received, [response], reply_status, status=status)

    async def _urgent(
        self, conversation: ConversationView, received: _Received, reply_status: MessageStatus
    ) -> TurnResult:
        """Someone may be in danger: the emergency number at once, and a person takes over.
        Rasa never sees the message, so nothing it could misunderstand is said. Everyone
        gets the emergency number; the head of the queue only once per conversation and not
        for many conversations from one network (a script must not bury a real emergency)."""
        reason = await asyncio.to_thread(
            self._store.urgent_reason, conversation.id, get_settings().urgent_per_network
        )
        return await self._finish(
            conversation,
            received,
            ["utter_handoff_urgent"],
            reply_status,
            handoff=HandoffRequest(reason, "urgent"),
        )

    def _answers_a_language(self, conversation: ConversationView) -> bool:
        """Whether a message's language may say which language the person reads: not when
        it answers a question for a name or a phone number ("Amina Example" reads as
        English, "Mehmet Yılmaz" as Turkish), which would switch the rest of the form."""
        return self._store.last_response_name(conversation.id) not in QUESTIONS_FOR_NAMES

    def _receive(self, conversation: ConversationView, inbound: Inbound) -> _Received:
        language = conversation.language
        detected = False
        message_language = None
        if inbound.intent is not None:
            shown_text = clean_text(inbound.text or "") or f"/{inbound.intent}"
            rasa_text = f"/{inbound.intent}"
        elif inbound.payload is not None:
            button = self._store.issued_button(conversation.id, inbound.payload)
            if button is None:
                raise UnissuedPayloadError(inbound.payload)
            shown_text = str(button.get("title", ""))
            rasa_text = inbound.payload
        else:
            shown_text = clean_text(inbound.text or "")
            if not shown_text:
                raise EmptyMessageError
            rasa_text = shown_text
            found = detect_language(shown_text)
            if found is not None and found != language and self._answers_a_language(conversation):
                message_language = found
                # A language the person chose stays; one only guessed follows their words.
                # A whole message in a language the assistant has no content for says more
                # than an earlier choice: the conversation follows it (machine translated
                # where packages reach it, else with the languages there are and a person).
                if is_translated(found) or conversation.language_source != LanguageSource.CHOSEN:
                    language, detected = found, True
        message_id = self._store.store_inbound(
            conversation.id,
            text=shown_text,
            payload=inbound.payload,
            language=language,
            message_language=message_language,
            detected_language=detected,
            external_id=inbound.external_id,
            client_network=inbound.client_network,
        )
        state = self._store.state_for_turn(conversation.id)
        return _Received(
            message_id=message_id,
            rasa_text=rasa_text,
            language=language,
            state=state,
            typed=inbound.intent is None and inbound.payload is None,
            message_language=message_language,
        )


def _reply(reply: dict[str, Any]) -> Reply:
    """One of Rasa's answers, with the content it was rendered from where Rasa's channel
    passed that on (bot/rasa_channel.py)."""
    origin = origin_of(reply)
    plain_text, markup = from_assistant(str(reply["text"]))
    return Reply(
        plain_text,
        _buttons(reply),
        markup=markup,
        response_name=origin.name if origin else None,
        response_arguments=(origin.arguments or None) if origin else None,
    )


def _buttons(reply: dict[str, Any]) -> list[dict[str, str]]:
    buttons = reply.get("buttons") or []
    return [
        {"title": str(button["title"]), "payload": str(button["payload"])}
        for button in buttons
        if isinstance(button, dict) and "title" in button and "payload" in button
    ]
