"""Reading the person's answers to the booking questions. A pressed button brings its
choice as the `booking_choice` entity of `/inform{...}`; typed text is read here in the
person's language, matched on word beginnings in the four languages."""

from __future__ import annotations

import asyncio
import re

from rasa_sdk import Tracker

from bot.bookings.repository import BookingRepository
from bot.bookings.service import BookingDetails, Owner
from bot.db.models import BookingPurpose

CHOICE_ENTITY = "booking_choice"

_STOP_WORDS = ("stop", "avbryt", "sluta", "peruuta", "lopeta", "keskeytä", "стоп", "скасу", "зупин")
_PURPOSE_WORDS = {
    BookingPurpose.ASSESSMENT: ("assess", "bedöm", "kartläg", "arvio", "arvioi", "оцін", "оцен"),
    BookingPurpose.PLAN: ("plan", "suunnitel", "план"),
    BookingPurpose.GUIDANCE: (
        "guid",
        "advice",
        "handled",
        "rådgiv",
        "ohjau",
        "neuvo",
        "консульт",
        "порад",
        "супровід",
    ),
}
_LANGUAGE_WORDS = {
    "sv": ("svensk", "swedish", "ruotsi", "швед", "ruots"),
    "fi": ("finsk", "finnish", "suomi", "suome", "фін", "фин"),
    "en": ("engelsk", "english", "englan", "англ"),
    "uk": ("ukrain", "україн", "украин"),
    "ru": ("rysk", "russian", "venäj", "росій", "русск", "російськ"),
    "ar": ("arab", "араб"),
    "fa_AF": ("dari", "дарі", "дари"),
    "fa": ("pers", "farsi", "перс", "фарс"),
    "so": ("somal", "сомал"),
    "ku": ("kurd", "курд"),
    "ti": ("tigrin", "тигрин"),
    "tr": ("turk", "türk", "turkki", "турец", "турецьк"),
}
_NAME_PREFIXES = re.compile(
    r"^(my name is|i am|i'm|jag heter|mitt namn är|nimeni on|olen|мене звати|моє ім'я|"
    r"меня зовут|я)\s+",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")


def payload(intent: str, choice: str) -> str:
    """A button's payload: the intent, with the choice as the booking_choice entity."""
    return f'/{intent}{{"{CHOICE_ENTITY}": "{choice}"}}'


def choice_of(tracker: Tracker) -> str | None:
    """The choice a pressed button carried, if the latest message was a button."""
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == CHOICE_ENTITY and entity.get("value") is not None:
            return str(entity["value"])
    return None


def intent_of(tracker: Tracker) -> str | None:
    name = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    return name if isinstance(name, str) else None


def typed_text(tracker: Tracker) -> str:
    text = str((tracker.latest_message or {}).get("text") or "")
    return "" if text.startswith("/") else text.strip()


def id_in(value: str | None, prefix: str = "") -> int | None:
    """The id in a choice or slot value such as "move:12" (with `prefix` "move:")."""
    if value is None or not value.startswith(prefix):
        return None
    digits = value[len(prefix) :]
    return int(digits) if digits.isdigit() else None


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", text.lower())


def _starts_any(text: str, stems: tuple[str, ...]) -> bool:
    return any(word.startswith(stem) for word in _words(text) for stem in stems)


# Questions answered in the person's own words: there a typed "I want to talk to someone
# about my plan" is an answer, and only the button (or Telegram's /human) asks for a person.
_FREE_TEXT_QUESTIONS = ("booking_purpose", "booking_contact_name", "booking_contact")
_SURE_OF_A_REQUEST_FOR_A_PERSON = 0.9


def asks_for_a_person(tracker: Tracker) -> bool:
    """The person asked for a person in the middle of a booking: the "Talk to a person"
    button (the widget's, a content button or Telegram's /human, all `/request_human`), or,
    where a question has choices, words the assistant is sure mean it."""
    latest = tracker.latest_message or {}
    if str(latest.get("text") or "").startswith("/request_human"):
        return True
    intent = latest.get("intent") or {}
    return (
        intent.get("name") == "request_human"
        and float(intent.get("confidence") or 0.0) >= _SURE_OF_A_REQUEST_FOR_A_PERSON
        and tracker.get_slot("requested_slot") not in _FREE_TEXT_QUESTIONS
    )


def wants_to_stop(tracker: Tracker) -> bool:
    """Stop the booking: the stop button, a stop word, or a request for a person (who is
    then handed the conversation by action_submit_booking)."""
    return (
        choice_of(tracker) == "stop"
        or asks_for_a_person(tracker)
        or _starts_any(typed_text(tracker), _STOP_WORDS)
    )


def language_in(text: str) -> str | None:
    for code, stems in _LANGUAGE_WORDS.items():
        if _starts_any(text, stems):
            return code
    return None


def purpose_answer(tracker: Tracker) -> str | None:
    choice = choice_of(tracker)
    if choice in set(BookingPurpose):
        return choice
    words = _words(typed_text(tracker))
    for purpose, stems in _PURPOSE_WORDS.items():
        # Inside words too: "kotoutumissuunnitelma", "integrationsplanen".
        if any(stem in word for word in words for stem in stems):
            return purpose.value
    if words:
        # The person described their matter in their own words.
        return BookingPurpose.OTHER.value
    return None


def interpreter_language_answer(tracker: Tracker) -> str | None:
    choice = choice_of(tracker)
    if choice is not None and choice in _LANGUAGE_WORDS:
        return choice
    text = typed_text(tracker)
    named = language_in(text)
    if named is not None:
        return named
    words = _words(text)
    if words and len(text) <= 40:
        # A language not in the list: kept as the person wrote it.
        return " ".join(words)
    return None


def contact_name_answer(tracker: Tracker) -> str | None:
    name = _NAME_PREFIXES.sub("", typed_text(tracker)).strip(" .,!")
    if 2 <= len(name) <= 100 and _words(name) and not any(c.isdigit() for c in name):
        return name
    return None


def contact_answer(tracker: Tracker) -> str | None:
    """An e-mail address, else a phone number, in what the person wrote."""
    text = typed_text(tracker)
    email = _EMAIL.search(text)
    if email is not None:
        return email.group(0)
    phone = _PHONE.search(text)
    if phone is not None and 7 <= sum(c.isdigit() for c in phone.group(0)) <= 15:
        return re.sub(r"\s+", " ", phone.group(0))
    return None


async def owner_of(repository: BookingRepository, tracker: Tracker) -> Owner:
    """The conversation and the case linked to its identity, from the database: never from
    a slot, which whoever posts a tracker to the action server could have set."""
    return await asyncio.to_thread(repository.owner, tracker.sender_id)


def details_of(tracker: Tracker) -> BookingDetails:
    """The form's answers so far."""
    interpreter = tracker.get_slot("booking_interpreter") == "yes"
    return BookingDetails(
        purpose=BookingPurpose(tracker.get_slot("booking_purpose") or BookingPurpose.OTHER),
        meeting_language=str(tracker.get_slot("booking_meeting_language") or "sv"),
        interpreter_language=tracker.get_slot("booking_interpreter_language")
        if interpreter
        else None,
        contact_name=tracker.get_slot("booking_contact_name"),
        contact=tracker.get_slot("booking_contact"),
    )
