"""Getting stored outbound messages into Telegram chats, and never losing one.

Every message is stored before it is sent. A turn's replies go out at once; when Telegram
cannot take a message even after a few quick retries, it stays pending with its next
attempt time, and the delivery loop sends it later, as it sends coordinator replies and
reminders that were stored outside any turn.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from functools import partial

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ChatAction, MessageLimit
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.channels.telegram_store import DueMessage, TelegramStore
from bot.conversations.store import ConversationStore, MessageView
from bot.db.models import utcnow
from bot.nlg.render import render_response

logger = logging.getLogger(__name__)

# Quick retries inside a turn, while the person waits; after them the delivery loop takes over.
SEND_ATTEMPTS = 3
FIRST_BACKOFF_SECONDS = 0.5
# A longer flood wait than this is left to the delivery loop instead of holding the turn.
MAX_RETRY_AFTER_IN_TURN_SECONDS = 30.0
# Telegram shows "typing…" for about five seconds; renew it before it fades.
TYPING_RENEW_SECONDS = 4.0
CALLBACK_PREFIX = "b"
MORE_PREFIX = "m"
MORE_BUTTON = "utter_telegram_more"

_SENTENCE_END = re.compile(r"[.!?…:;](?=\s)")
_WHITESPACE = re.compile(r"\s")


def telegram_length(text: str) -> int:
    """Telegram counts a message's length in UTF-16 code units (an emoji may be two)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Parts of at most `limit` that Telegram accepts, cut at a paragraph or sentence end if
    one lies in the second half of a part, else at whitespace, else anywhere."""
    parts: list[str] = []
    rest = text.strip()
    while telegram_length(rest) > limit:
        window = _longest_prefix(rest, limit)
        cut = _cut_position(window)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def _longest_prefix(text: str, limit: int) -> str:
    length = 0
    for index, character in enumerate(text):
        length += 2 if ord(character) > 0xFFFF else 1
        if length > limit:
            return text[:index]
    return text


def _cut_position(window: str) -> int:
    half = len(window) // 2
    paragraph = window.rfind("\n\n")
    if paragraph >= half:
        return paragraph
    sentence_ends = [match.end() for match in _SENTENCE_END.finditer(window)]
    if sentence_ends and sentence_ends[-1] >= half:
        return sentence_ends[-1]
    spaces = [match.start() for match in _WHITESPACE.finditer(window)]
    if spaces and spaces[-1] > 0:
        return spaces[-1]
    return len(window)


def first_screen(message: MessageView) -> str:
    """What a message shows at first: a long answer's first screen, else all of it."""
    layout = message.layout
    return layout.plain_first_screen if layout is not None and layout.more else message.text or ""


def keyboard(message: MessageView) -> InlineKeyboardMarkup | None:
    """Buttons as an inline keyboard. Telegram allows 64 bytes of callback data, less than a
    payload with entities needs, so a button is named by its message and position and the
    payload stays on the server. A long answer's "More" comes first: it sends the rest."""
    rows = [
        [
            InlineKeyboardButton(
                str(button.get("title", "")),
                callback_data=f"{CALLBACK_PREFIX}:{message.id}:{index}",
            )
        ]
        for index, button in enumerate(message.buttons)
    ]
    layout = message.layout
    if layout is not None and layout.more:
        title = render_response(MORE_BUTTON, message.language).text
        rows.insert(0, [InlineKeyboardButton(title, callback_data=f"{MORE_PREFIX}:{message.id}")])
    return InlineKeyboardMarkup(rows) if rows else None


def parse_more_data(data: str | None) -> int | None:
    """The message id of a "More" button made by `keyboard`."""
    prefix, _, message_id = (data or "").partition(":")
    return int(message_id) if prefix == MORE_PREFIX and message_id.isdigit() else None


def parse_callback_data(data: str | None) -> tuple[int, int] | None:
    """The message id and button index of callback data made by `keyboard`."""
    prefix, _, rest = (data or "").partition(":")
    message_id, _, index = rest.partition(":")
    if prefix != CALLBACK_PREFIX or not message_id.isdigit() or not index.isdigit():
        return None
    return int(message_id), int(index)


def is_permanent(error: TelegramError) -> bool:
    """A failure no retry can fix: the person blocked the bot, or the chat is gone."""
    if isinstance(error, Forbidden):
        return True
    return isinstance(error, BadRequest) and "chat not found" in str(error).lower()


def _seconds(value: int | float | timedelta) -> float:
    # python-telegram-bot 22 gives an int or a timedelta, depending on PTB_TIMEDELTA.
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@asynccontextmanager
async def typing(bot: Bot, chat_id: int) -> AsyncIterator[None]:
    """Shows "typing…" in the chat for as long as the block runs."""

    async def keep_typing() -> None:
        while True:
            try:
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            except TelegramError as error:
                # A nicety: never worth failing or delaying a turn.
                logger.debug("typing indicator for chat %s failed: %s", chat_id, error)
            await asyncio.sleep(TYPING_RENEW_SECONDS)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


class TelegramDelivery:
    def __init__(
        self,
        bot: Bot,
        store: ConversationStore,
        telegram_store: TelegramStore,
        retry_base: timedelta,
        bot_key: str = "",
    ) -> None:
        self._bot = bot
        # Which bot's chats this delivery serves ('' the default municipality's).
        self._bot_key = bot_key
        self._store = store
        self._telegram_store = telegram_store
        # First wait of the delivery loop before it tries a failed message again; doubled
        # after every further failure.
        self._retry_base = retry_base

    async def deliver_in_order(
        self,
        chat_id: int,
        conversation_id: str,
        messages: list[MessageView],
        delivered_parts: int = 0,
    ) -> bool:
        """Sends a turn's messages one after another; after a failure the rest wait for the
        delivery loop, so the chat never gets them out of order. While an older message of
        the chat still waits for its retry, the turn's messages wait behind it (the loop
        sends them in order). True if all went out now."""
        if not messages:
            return True
        if await asyncio.to_thread(self._store.has_older_pending, conversation_id, messages[0].id):
            # Due at once, but behind the older ones: the loop never takes a message before
            # an older one of its chat.
            ids = [m.id for m in messages]
            await asyncio.to_thread(self._store.postpone_delivery, ids, utcnow())
            return False
        for position, message in enumerate(messages):
            sent = await self._deliver(chat_id, message, delivered_parts if position == 0 else 0)
            if not sent:
                later = [m.id for m in messages[position + 1 :]]
                retry_at = utcnow() + self._retry_base
                await asyncio.to_thread(self._store.postpone_delivery, later, retry_at)
                return False
        return True

    async def deliver_due(self) -> int:
        """One round of the delivery loop; returns how many messages went out."""
        due = await asyncio.to_thread(self._telegram_store.claim_due_messages, self._bot_key)
        by_chat: dict[int, list[DueMessage]] = {}
        for item in due:
            by_chat.setdefault(item.chat_id, []).append(item)
        delivered = 0
        for chat_id, items in by_chat.items():
            for position, item in enumerate(items):
                if not await self._deliver(chat_id, item.message, item.delivered_parts):
                    later = [other.message.id for other in items[position + 1 :]]
                    retry_at = utcnow() + self._retry_base
                    await asyncio.to_thread(self._store.postpone_delivery, later, retry_at)
                    break
                delivered += 1
        return delivered

    async def run(self, interval: float) -> None:
        """The delivery loop; runs until cancelled."""
        while True:
            try:
                await self.deliver_due()
            except Exception:
                logger.exception("Telegram delivery round failed; trying again next round")
            await asyncio.sleep(interval)

    async def _deliver(self, chat_id: int, message: MessageView, delivered_parts: int) -> bool:
        parts = split_text(first_screen(message))
        if not parts:
            logger.warning("message %s has no text to send; marked sent", message.id)
        for number in range(delivered_parts, len(parts)):
            last = number == len(parts) - 1
            try:
                await self._send(chat_id, parts[number], keyboard(message) if last else None)
            except TelegramError as error:
                not_before = None
                if isinstance(error, RetryAfter):
                    not_before = utcnow() + timedelta(seconds=_seconds(error.retry_after))
                retry_at = await asyncio.to_thread(
                    partial(
                        self._store.record_delivery_failure,
                        message.id,
                        error=f"{type(error).__name__}: {error}",
                        base_delay=self._retry_base,
                        not_before=not_before,
                        permanent=is_permanent(error),
                    )
                )
                if retry_at is None:
                    logger.warning(
                        "message %s not delivered (%s); given up", message.id, type(error).__name__
                    )
                else:
                    logger.warning(
                        "message %s not delivered (%s); next attempt at %s",
                        message.id,
                        type(error).__name__,
                        retry_at,
                    )
                return False
            if not last:
                await asyncio.to_thread(self._store.record_parts_delivered, message.id, number + 1)
        await asyncio.to_thread(self._store.mark_delivered, message.id)
        return True

    async def send_rest(self, chat_id: int, text: str) -> None:
        """The rest of an answer the person asked for with "More". It is stored already, as
        part of the answer, so a failure is only logged: the button can be pressed again."""
        try:
            for part in split_text(text):
                await self._send(chat_id, part, None)
        except TelegramError as error:
            logger.warning("the rest of an answer was not delivered (%s)", type(error).__name__)

    async def _send(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> None:
        # Plain text, no parse_mode: nothing anyone wrote is read as markup.
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await self._bot.send_message(chat_id, text, reply_markup=markup)
                return
            except RetryAfter as error:
                wait = _seconds(error.retry_after)
                if attempt == SEND_ATTEMPTS or wait > MAX_RETRY_AFTER_IN_TURN_SECONDS:
                    raise
                logger.info("Telegram asks to wait %.1f s before sending", wait)
                await asyncio.sleep(wait)
            except BadRequest:
                # A NetworkError to python-telegram-bot, but retrying cannot fix it.
                raise
            except NetworkError as error:  # TimedOut is a NetworkError
                if attempt == SEND_ATTEMPTS:
                    raise
                backoff = FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1)
                logger.info("sending failed (%s); retrying in %.1f s", error, backoff)
                await asyncio.sleep(backoff)
