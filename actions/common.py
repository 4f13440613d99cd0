"""What every action module needs from the tracker and the dispatcher."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.nlg.content import RenderedMessage
from bot.nlg.render import message_context
from bot.settings import get_settings


def send(dispatcher: CollectingDispatcher, message: RenderedMessage) -> None:
    dispatcher.utter_message(text=message.text, buttons=message.buttons)


def context_of(tracker: Tracker) -> tuple[str, str]:
    """The person's language and municipality, the defaults when the message had none."""
    settings = get_settings()
    language, municipality = message_context(tracker.latest_message)
    return (
        language or settings.lotsen_default_language,
        municipality or settings.lotsen_default_municipality,
    )


def channel_of(tracker: Tracker) -> str:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    channel = metadata.get("channel") if isinstance(metadata, dict) else None
    return channel if isinstance(channel, str) else "api"
