"""The Telegram channel: python-telegram-bot inside the app, the way its `customwebhookbot`
example runs it. Every private chat is one conversation of the router, so Telegram gets the
same assistant, handoff and booking as the web.

`TelegramChannel` is the composition root: it builds the `Application`, registers the
handlers, and is started and stopped by the app's lifespan. Webhook mode (production):
Telegram posts updates to `telegram_webhook`, which checks the secret and queues them.
Polling mode (development): python-telegram-bot's Updater fetches them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeAlias

from starlette.requests import Request
from starlette.responses import Response
from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.channels.telegram_bots import TelegramBot
from bot.channels.telegram_delivery import (
    TelegramDelivery,
    parse_callback_data,
    parse_more_data,
    typing,
)
from bot.channels.telegram_store import TelegramStore
from bot.conversations.router import (
    ERASED,
    EmptyMessageError,
    Inbound,
    Router,
    UnissuedPayloadError,
)
from bot.conversations.store import (
    ConversationStore,
    ConversationView,
    DuplicateInboundError,
    MessageView,
)
from bot.db.models import ConversationState, LanguageSource, MessageStatus
from bot.http.client_address import telegram_user_pseudonym
from bot.http.shared_secret import secret_matches
from bot.language import is_supported, is_translated
from bot.nlg.render import render_response
from bot.privacy.retention import retention_days_for_people
from bot.settings import Settings
from bot.translation.languages import reachable

logger = logging.getLogger(__name__)

TelegramApplication: TypeAlias = Application[Any, Any, Any, Any, Any, Any]

# Updates are a few kilobytes; anything far larger is not from Telegram.
MAX_UPDATE_BYTES = 1024 * 1024
# The handler group that runs after all others for an update.
HANDLED_GROUP = 1
# A kept update still not handled this long after it arrived belongs to a process that
# stopped; whoever takes it holds it for the lease.
UNHANDLED_AFTER = timedelta(seconds=30)
UNHANDLED_LEASE = timedelta(minutes=5)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
# Updates of different chats are handled side by side; one chat's in order (a lock per chat).
CONCURRENT_UPDATES = 64
# What is kept of a message the assistant cannot read: what kind it was, never the content.
NOT_TEXT_MARKERS = (
    ("photo", "[photo]"),
    ("voice", "[voice message]"),
    ("video_note", "[video message]"),
    ("video", "[video]"),
    ("audio", "[audio]"),
    ("sticker", "[sticker]"),
    ("animation", "[animation]"),
    ("document", "[file]"),
    ("venue", "[location]"),
    ("location", "[location]"),
    ("contact", "[contact]"),
    ("poll", "[poll]"),
    ("dice", "[dice]"),
    ("story", "[story]"),
)
NOT_TEXT = (
    filters.PHOTO
    | filters.VOICE
    | filters.VIDEO_NOTE
    | filters.VIDEO
    | filters.AUDIO
    | filters.Sticker.ALL
    | filters.ANIMATION
    | filters.Document.ALL
    | filters.VENUE
    | filters.LOCATION
    | filters.CONTACT
    | filters.POLL
    | filters.Dice.ALL
    | filters.STORY
)


def not_text_marker(message: Message) -> str:
    for attribute, marker in NOT_TEXT_MARKERS:
        if getattr(message, attribute, None):
            return marker
    return "[attachment]"


class TelegramChannel:
    """One bot (`bot.channels.telegram_bots`): its chats are conversations of its
    municipality, and only it sends into them."""

    def __init__(
        self,
        bot: TelegramBot,
        settings: Settings,
        store: ConversationStore,
        telegram_store: TelegramStore,
        router: Router,
    ) -> None:
        self.bot = bot
        self._settings = settings
        self._store = store
        self._telegram_store = telegram_store
        self._router = router
        self.application = self._build_application()
        self._delivery = TelegramDelivery(
            self.application.bot,
            store,
            telegram_store,
            retry_base=timedelta(seconds=settings.telegram_delivery_interval_seconds),
            bot_key=bot.key,
        )
        self._chat_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._delivery_task: asyncio.Task[None] | None = None
        self._replay_task: asyncio.Task[None] | None = None

    @property
    def webhook_mode(self) -> bool:
        return self._settings.telegram_mode == "webhook"

    def _build_application(self) -> TelegramApplication:
        settings = self._settings
        builder = (
            Application.builder()
            .token(self.bot.token)
            .base_url(f"{settings.telegram_api_base_url.rstrip('/')}/bot")
            # Every call goes through the rate limiter (Telegram's 30 messages a second
            # overall, 20 a minute per group). It does not retry itself: flood waits and
            # network errors are retried by the delivery, which keeps the message stored.
            .rate_limiter(AIORateLimiter(max_retries=0))
            .concurrent_updates(CONCURRENT_UPDATES)
        )
        if settings.telegram_mode == "webhook":
            # The app's own route receives the updates.
            builder = builder.updater(None)
        application: TelegramApplication = builder.build()

        private = filters.ChatType.PRIVATE
        new_message = filters.UpdateType.MESSAGE & private
        # First: an edited message matches the text filters below as well.
        application.add_handler(
            MessageHandler(filters.UpdateType.EDITED_MESSAGE & private, self.on_edited)
        )
        for command, handler in (
            ("start", self.on_start),
            ("language", self.on_language),
            ("help", self.on_help),
            ("human", self.on_human),
            ("delete_my_data", self.on_delete_my_data),
            ("delete", self.on_delete),
            ("privacy", self.on_privacy),
        ):
            application.add_handler(CommandHandler(command, handler, filters=new_message))
        # Other commands are text too; the router strips the slash.
        application.add_handler(MessageHandler(new_message & filters.TEXT, self.on_text))
        application.add_handler(MessageHandler(new_message & NOT_TEXT, self.on_not_text))
        application.add_handler(CallbackQueryHandler(self.on_button))
        # After every other handler (a later group): the update kept by the webhook is done.
        application.add_handler(TypeHandler(Update, self.on_handled), group=HANDLED_GROUP)
        application.add_error_handler(self.on_error)
        return application

    # --- Lifecycle, called from the app's lifespan. --------------------------------------

    async def start(self) -> None:
        application = self.application
        await application.initialize()  # getMe: fails here if the token is wrong
        if self.webhook_mode:
            await application.bot.set_webhook(
                url=self._settings.lotsen_public_url.rstrip("/") + self.bot.webhook_path,
                secret_token=self.bot.webhook_secret,
                allowed_updates=Update.ALL_TYPES,
            )
        await application.start()
        if application.updater is not None:
            await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        self._delivery_task = asyncio.create_task(
            self._delivery.run(self._settings.telegram_delivery_interval_seconds)
        )
        if self.webhook_mode:
            self._replay_task = asyncio.create_task(
                self._replay_unhandled(self._settings.telegram_delivery_interval_seconds)
            )
        logger.info(
            "Telegram channel of %s started as @%s (%s mode)",
            self.bot.municipality,
            application.bot.username,
            self._settings.telegram_mode,
        )

    async def stop(self) -> None:
        for task in (self._delivery_task, self._replay_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        application = self.application
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            # Handles the updates already queued before it returns.
            await application.stop()
        await application.shutdown()

    # --- Handlers. ------------------------------------------------------------------------

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id = _chat_id(update)
        async with self._chat_lock(chat_id):
            conversation = await self._conversation(update)
            greeted = await self._turn(
                chat_id,
                conversation,
                Inbound(text=_text(update), intent="greet", external_id=self.external_id(update)),
            )
            if greeted:
                # Without a language entity Rasa answers with the language menu.
                conversation = await self._conversation(update)
                await self._turn(
                    chat_id,
                    conversation,
                    Inbound(
                        intent="choose_language", external_id=self.external_id(update, ":menu")
                    ),
                )

    async def on_language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._converse(update, Inbound(text=_text(update), intent="choose_language"))

    async def on_human(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._converse(update, Inbound(text=_text(update), intent="request_human"))

    async def on_delete_my_data(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._converse(update, Inbound(text=_text(update), intent="delete_my_data"))

    async def on_delete(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Asked of the channel: the person can erase the chat during a handoff too. The
        # buttons carry gateway payloads (bot/conversations/router.py, ERASE_CONFIRMED).
        await self._gateway_reply(
            update, "/delete", "utter_telegram_delete_confirm", in_handoff=True
        )

    async def on_privacy(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        conversation_days, contact_days = await asyncio.to_thread(
            retention_days_for_people, self.bot.municipality
        )
        await self._gateway_reply(
            update,
            "/privacy",
            "utter_privacy",
            in_handoff=True,
            arguments={"conversation_days": conversation_days, "contact_days": contact_days},
        )

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Asked of the channel, not of the assistant: answered during a handoff too.
        await self._gateway_reply(update, "/help", "utter_telegram_help", in_handoff=True)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        text = _text(update)
        limit = self._settings.lotsen_max_message_chars
        if len(text) > limit:
            await self._gateway_reply(
                update, "[message too long]", "utter_message_too_long", arguments={"limit": limit}
            )
            return
        await self._converse(update, Inbound(text=text))

    async def on_not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None  # the filter lets only messages through
        await self._gateway_reply(
            update, not_text_marker(update.message), "utter_telegram_not_text"
        )

    async def on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # The first version was answered already; an edit is not a new question.
        await self._gateway_reply(update, "[edited message]", "utter_telegram_edited")

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        if update.effective_chat is None or update.effective_chat.type != "private":
            await _answer(query.answer())
            return
        chat_id = update.effective_chat.id
        async with self._chat_lock(chat_id):
            conversation = await self._conversation(update)
            more = parse_more_data(query.data)
            if more is not None:
                await self._send_rest(query, chat_id, conversation, more)
                return
            button = parse_callback_data(query.data)
            payload = None
            if button is not None:
                window = timedelta(hours=self._settings.telegram_button_window_hours)
                payload = await asyncio.to_thread(
                    self._telegram_store.button_payload, conversation.id, *button, window
                )
            if payload is None:
                # A button from long ago, or data we never made: say so, briefly.
                expired = render_response(
                    "utter_telegram_button_expired",
                    conversation.language,
                    conversation.municipality,
                )
                await _answer(query.answer(text=expired.text))
                return
            # Stops the spinner on the button at once, before the assistant thinks.
            await _answer(query.answer())
            await self._turn(
                chat_id,
                conversation,
                Inbound(payload=payload, external_id=self.external_id(update)),
            )

    async def _send_rest(
        self, query: Any, chat_id: int, conversation: ConversationView, message_id: int
    ) -> None:
        """A long answer's "More": the rest of it, kept with the answer (no turn, no Rasa)."""
        rest = await asyncio.to_thread(
            self._telegram_store.rest_of_answer, conversation.id, message_id
        )
        if rest is None:
            expired = render_response(
                "utter_telegram_button_expired", conversation.language, conversation.municipality
            )
            await _answer(query.answer(text=expired.text))
            return
        await _answer(query.answer())
        await self._delivery.send_rest(chat_id, rest)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # The update itself holds what people wrote; its id is enough to find it.
        update_id = update.update_id if isinstance(update, Update) else None
        logger.error("Telegram update %s failed", update_id, exc_info=context.error)

    # --- The work behind the handlers. ----------------------------------------------------

    async def _converse(self, update: Update, inbound: Inbound) -> None:
        chat_id = _chat_id(update)
        async with self._chat_lock(chat_id):
            conversation = await self._conversation(update)
            with_id = Inbound(
                text=inbound.text,
                payload=inbound.payload,
                intent=inbound.intent,
                external_id=self.external_id(update),
            )
            await self._turn(chat_id, conversation, with_id)

    async def _turn(self, chat_id: int, conversation: ConversationView, inbound: Inbound) -> bool:
        """One turn through the router and its replies into the chat. False when Telegram
        had delivered this update before: it was handled then."""
        # While a coordinator has the conversation the bot is silent: no "typing…" either.
        thinking: AbstractAsyncContextManager[None] = (
            typing(self.application.bot, chat_id)
            if conversation.state == ConversationState.BOT
            else nullcontext()
        )
        # Private chats only: the chat id is the user's id, which counts as their "address".
        inbound = replace(
            inbound,
            client_network=telegram_user_pseudonym(chat_id, self._settings.link_code_secret),
        )
        try:
            async with thinking:
                result = await self._router.handle(
                    conversation, inbound, reply_status=MessageStatus.PENDING
                )
        except DuplicateInboundError:
            logger.info("Telegram %s arrived again; handled already", inbound.external_id)
            return False
        except EmptyMessageError:
            messages = await self._store_gateway_turn(
                conversation, "[empty]", inbound.external_id, "utter_empty_message", None
            )
            await self._delivery.deliver_in_order(chat_id, conversation.id, messages)
            return True
        except UnissuedPayloadError:
            logger.info("conversation %s: a button payload that was not offered", conversation.id)
            return True
        if result.state == ERASED:
            # The conversation is gone with everything in it: this last word is not stored.
            done = render_response(
                "utter_telegram_deleted", conversation.language, conversation.municipality
            )
            await self.application.bot.send_message(chat_id, done.text)
            return True
        await self._delivery.deliver_in_order(chat_id, conversation.id, result.messages)
        return True

    async def _gateway_reply(
        self,
        update: Update,
        marker: str,
        response: str,
        *,
        in_handoff: bool = False,
        arguments: Mapping[str, Any] | None = None,
    ) -> None:
        """Answers from the gateway's own content, without Rasa; keeps only `marker` of what
        the person sent. Silent during a handoff unless `in_handoff`."""
        chat_id = _chat_id(update)
        async with self._chat_lock(chat_id):
            conversation = await self._conversation(update)
            speak = in_handoff or conversation.state == ConversationState.BOT
            try:
                messages = await self._store_gateway_turn(
                    conversation,
                    marker,
                    self.external_id(update),
                    response if speak else None,
                    arguments,
                )
            except DuplicateInboundError:
                return
            await self._delivery.deliver_in_order(chat_id, conversation.id, messages)

    async def _store_gateway_turn(
        self,
        conversation: ConversationView,
        marker: str,
        inbound_external_id: str | None,
        response: str | None,
        arguments: Mapping[str, Any] | None,
    ) -> list[MessageView]:
        inbound_id = await asyncio.to_thread(
            self._store.store_inbound,
            conversation.id,
            text=marker,
            payload=None,
            language=conversation.language,
            external_id=inbound_external_id,
        )
        if response is None:
            return []
        return await self._router.answer_without_rasa(
            conversation,
            inbound_id,
            [response],
            language=conversation.language,
            reply_status=MessageStatus.PENDING,
            arguments=arguments,
        )

    async def _conversation(self, update: Update) -> ConversationView:
        user = update.effective_user
        code = ((user.language_code if user else None) or "").split("-")[0].lower()
        # Telegram's interface language is a good first guess, not the person's choice:
        # the conversation may still switch when they write in another language.
        if is_supported(code) or (is_translated(code) and await asyncio.to_thread(reachable, code)):
            language, source = code, LanguageSource.DETECTED
        else:
            language, source = self._settings.lotsen_default_language, LanguageSource.DEFAULT
        return await asyncio.to_thread(
            self._telegram_store.conversation_for_chat,
            _chat_id(update),
            bot=self.bot.key,
            municipality=self.bot.municipality,
            language=language,
            language_source=source,
        )

    def _chat_lock(self, chat_id: int) -> asyncio.Lock:
        lock = self._chat_locks.get(chat_id)
        if lock is None:
            lock = asyncio.Lock()
            self._chat_locks[chat_id] = lock
        return lock

    # --- The webhook. ----------------------------------------------------------------------

    async def keep(self, update: Update, body: str) -> bool:
        """Stores the update before the webhook answers; False if it is kept already."""
        return await asyncio.to_thread(
            self._telegram_store.keep_update, self.bot.key, update.update_id, body
        )

    async def on_handled(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await asyncio.to_thread(self._telegram_store.forget_update, self.bot.key, update.update_id)

    async def _replay_unhandled(self, interval: float) -> None:
        """Hands the application again the updates a stopped process had kept but not
        handled; runs until cancelled. A message already stored is not answered twice."""
        while True:
            try:
                bodies = await asyncio.to_thread(
                    self._telegram_store.claim_unhandled_updates,
                    self.bot.key,
                    UNHANDLED_AFTER,
                    UNHANDLED_LEASE,
                )
                for body in bodies:
                    update = Update.de_json(json.loads(body), self.application.bot)
                    if update is not None:
                        logger.info("handling update %s again", update.update_id)
                        await self.application.update_queue.put(update)
            except Exception:
                logger.exception("replaying kept Telegram updates failed; next round")
            await asyncio.sleep(interval)

    def secret_matches(self, given: str | None) -> bool:
        return secret_matches(self.bot.webhook_secret, given)

    def external_id(self, update: Update, turn: str = "") -> str:
        return self.bot.external_id(update.update_id, turn)


async def _answer(answering: Any) -> None:
    """Answers a callback query; a failure (query too old) must not stop the turn."""
    try:
        await answering
    except TelegramError as error:
        logger.info("could not answer a callback query: %s", error)


def _chat_id(update: Update) -> int:
    chat = update.effective_chat
    assert chat is not None  # every handler above is for chats
    return chat.id


def _text(update: Update) -> str:
    message = update.effective_message
    return (message.text if message is not None else None) or ""


async def telegram_webhook(request: Request) -> Response:
    """Telegram's calls to one bot's path. The secret is checked before anything is read or
    stored."""
    channels: dict[str, TelegramChannel] = getattr(request.app.state, "telegram_by_path", {})
    channel = channels.get(request.url.path)
    if channel is None:
        return Response(status_code=503)
    if not channel.secret_matches(request.headers.get(SECRET_HEADER)):
        return Response(status_code=403)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_UPDATE_BYTES:
            return Response(status_code=413)
    try:
        update = Update.de_json(json.loads(body), channel.application.bot)
    except (ValueError, TypeError, KeyError, AttributeError):
        logger.warning("webhook call with a body that is not an update")
        return Response(status_code=400)
    if update is None:
        return Response(status_code=400)
    # Stored before Telegram is told it arrived: if this process stops now, another (or
    # this one after its restart) handles it. If storing fails, Telegram gets an error and
    # sends the update again.
    if await channel.keep(update, body.decode("utf-8")):
        # Handled in the background, as in python-telegram-bot's customwebhookbot example.
        await channel.application.update_queue.put(update)
    return Response(status_code=200)
