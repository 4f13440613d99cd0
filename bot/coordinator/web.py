"""The coordinator app: server-rendered pages under /coordinator, a little script for the
live parts, no single-page framework.

Every page needs a signed-in coordinator (else a redirect to the sign-in page); every form
post needs the session's CSRF token (else 403); a conversation or case of another
municipality is "not found" for a coordinator (an administrator sees every municipality).
Jinja2 escapes everything a person wrote, so a message with HTML shows as text.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.bookings.admin import SlotInput, SlotInputError, add_slots
from bot.bookings.service import cancel_row
from bot.bookings.times import HELSINKI, as_utc, format_time
from bot.cases import audit
from bot.cases.linking import issue_code
from bot.conversations.rasa_client import RasaUnavailableError
from bot.conversations.store import Reply, pending_message
from bot.coordinator import queries, translation
from bot.coordinator.auth import SignedIn, csrf_valid, sign_in, sign_out, signed_in
from bot.db import get_sessionmaker
from bot.db.models import (
    AssessmentState,
    Booking,
    BookingStatus,
    Conversation,
    ConversationNote,
    ConversationState,
    Coordinator,
    CourseState,
    Message,
    MessageSender,
    PlanState,
    SlotKind,
    utcnow,
)
from bot.handoff import close, hand_back, take
from bot.language import RIGHT_TO_LEFT, content_language, language_name
from bot.municipality import get_municipality
from bot.settings import PROJECT_ROOT, get_settings
from bot.translation.conversation import for_person_from_coordinator

HERE = Path(__file__).resolve().parent
TEXTS_DIR = PROJECT_ROOT / "data" / "coordinator"
SESSION_COOKIE = "lotsen_coordinator"
LOGIN_CSRF_COOKIE = "lotsen_login_csrf"
LIVE_INTERVAL_SECONDS = 1.5
HEARTBEAT_SECONDS = 15.0
# A stream ends after this long and the browser reconnects at once (EventSource does):
# the session is checked again, and no connection outlives a shutdown by much.
STREAM_MAX_SECONDS = 600.0
COORDINATOR_LANGUAGES = ("sv", "fi")
# Short replies a coordinator uses often, in the person's language.
QUICK_REPLIES_FILE = TEXTS_DIR / "quick_replies.yml"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        auto_reload=False,
    )


@lru_cache(maxsize=4)
def texts(language: str) -> dict[str, str]:
    with (TEXTS_DIR / f"{language}.yml").open(encoding="utf-8") as handle:
        loaded: dict[str, str] = yaml.safe_load(handle)
    return loaded


@lru_cache(maxsize=1)
def quick_replies() -> dict[str, list[str]]:
    with QUICK_REPLIES_FILE.open(encoding="utf-8") as handle:
        loaded: dict[str, list[str]] = yaml.safe_load(handle)
    return loaded


def _secure_cookies() -> bool:
    return get_settings().lotsen_public_url.startswith("https://")


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def render(
    template: str, who: SignedIn | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    language = who.language if who and who.language in COORDINATOR_LANGUAGES else "sv"
    words = texts(language)
    html = (
        _environment()
        .get_template(template)
        .render(
            t=words,
            lang=language,
            who=who,
            waited=_minutes_since,
            clock=_clock,
            when=lambda moment: format_time(moment, language, short=True),
            named=partial(_language_in_view, words),
            native_name=language_name,
            right_to_left=RIGHT_TO_LEFT,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code)
    _headers(response)
    return response


def _language_in_view(words: dict[str, str], code: str, form: str = "language") -> str:
    """A language's name in the view's language (`form` "into_language": the phrase for
    "into Ukrainian"); the code itself for a language the texts do not name."""
    return words.get(f"{form}_{code}", code)


def _minutes_since(moment: datetime | None) -> int:
    if moment is None:
        return 0
    return max(0, int((utcnow() - as_utc(moment)).total_seconds() // 60))


def _clock(moment: datetime) -> str:
    return as_utc(moment).astimezone(HELSINKI).strftime("%d.%m. %H:%M")


def _redirect(url: str) -> Response:
    return _headers(RedirectResponse(url, status_code=303))


# --- Sign-in and the guard around every page ------------------------------------------------


def _who(secret: str | None) -> SignedIn | None:
    if not secret:
        return None
    with get_sessionmaker()() as session:
        return signed_in(session, secret, utcnow())


Handler = Callable[[Request, SignedIn], Awaitable[Response]]


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Signed-in coordinators only; form posts only with the session's CSRF token."""

    async def guarded(request: Request) -> Response:
        who = await asyncio.to_thread(_who, request.cookies.get(SESSION_COOKIE))
        if who is None:
            if request.method == "GET" and "text/event-stream" not in request.headers.get(
                "accept", ""
            ):
                return _redirect("/coordinator/login")
            return PlainTextResponse("Sign in first.", status_code=401)
        if request.method == "POST":
            form = await request.form()
            token = form.get("csrf_token")
            if not csrf_valid(who.csrf_token, token if isinstance(token, str) else None):
                return _headers(PlainTextResponse("Invalid form token.", status_code=403))
        return await handler(request, who)

    return guarded


async def login_page(request: Request) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render("login.html", None, csrf_token=token, error=None)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure_cookies()
    )
    return response


def _sign_in(username: str, password: str, address: str | None) -> str | None:
    with get_sessionmaker().begin() as session:
        result = sign_in(session, username, password, address, utcnow())
        return None if result is None else result[0]


async def login(request: Request) -> Response:
    form = await request.form()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    given = form.get("csrf_token")
    if not expected or not csrf_valid(expected, given if isinstance(given, str) else None):
        return _headers(PlainTextResponse("Invalid form token.", status_code=403))
    username, password = str(form.get("username") or ""), str(form.get("password") or "")
    address = request.client.host if request.client else None
    secret = await asyncio.to_thread(_sign_in, username, password, address)
    if secret is None:
        return render(
            "login.html",
            None,
            status_code=401,
            csrf_token=expected,
            error=texts("sv")["sign_in_failed"] + " / " + texts("fi")["sign_in_failed"],
        )
    response = _redirect("/coordinator/")
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=_secure_cookies(),
        path="/coordinator",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def _sign_out(secret: str) -> None:
    with get_sessionmaker().begin() as session:
        sign_out(session, secret)


async def logout(request: Request, who: SignedIn) -> Response:
    await asyncio.to_thread(_sign_out, request.cookies.get(SESSION_COOKIE, ""))
    response = _redirect("/coordinator/login")
    response.delete_cookie(SESSION_COOKIE, path="/coordinator")
    return response


# --- Live updates ---------------------------------------------------------------------------


async def _changes(version: Callable[[], str]) -> AsyncIterator[bytes]:
    """A server-sent event each time `version` changes, and a comment now and then so
    proxies keep the stream open. The version is read in a worker thread. The first event
    comes at once: whatever changed between rendering the page and (re)connecting the
    stream is fetched then, never missed."""
    last = None
    quiet = elapsed = 0.0
    yield b"retry: 3000\n\n"
    while elapsed < STREAM_MAX_SECONDS:
        current = await asyncio.to_thread(version)
        if current != last:
            yield b"event: change\ndata: " + current.encode() + b"\n\n"
            last = current
            quiet = 0.0
        elif quiet >= HEARTBEAT_SECONDS:
            yield b": keep-alive\n\n"
            quiet = 0.0
        await asyncio.sleep(LIVE_INTERVAL_SECONDS)
        quiet += LIVE_INTERVAL_SECONDS
        elapsed += LIVE_INTERVAL_SECONDS


def _stream(version: Callable[[], str]) -> Response:
    return StreamingResponse(
        _changes(version),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# --- The queue ------------------------------------------------------------------------------


def _queue(
    who: SignedIn,
) -> tuple[list[queries.QueueEntry], dict[int, translation.Reading]]:
    with get_sessionmaker()() as session:
        entries = queries.queue(session, who)
        latest = [e.last_message for e in entries if e.last_message is not None]
        return entries, translation.stored_readings(session, latest, _coordinator_language(who))


async def _queue_context(who: SignedIn) -> dict[str, Any]:
    """The queue, each person's latest message also in the coordinator's language (made
    once and stored, as in the conversation view)."""
    entries, stored = await asyncio.to_thread(_queue, who)
    latest = [e.last_message for e in entries if e.last_message is not None]
    readings = await translation.readings(
        latest, stored, _coordinator_language(who), who.municipality
    )
    return {"entries": entries, "readings": readings}


async def queue_page(request: Request, who: SignedIn) -> Response:
    flash = texts(who.language).get(request.query_params.get("flash", ""), None)
    return render("queue.html", who, flash=flash, **await _queue_context(who))


async def queue_fragment(request: Request, who: SignedIn) -> Response:
    return render("_queue.html", who, **await _queue_context(who))


async def queue_events(request: Request, who: SignedIn) -> Response:
    def version() -> str:
        with get_sessionmaker()() as session:
            return queries.queue_version(session, who)

    return _stream(version)


# --- One conversation -----------------------------------------------------------------------


def _coordinator_language(who: SignedIn) -> str:
    """The language the coordinator reads and writes in (the view's language)."""
    return who.language if who.language in COORDINATOR_LANGUAGES else "sv"


def _conversation_context(
    conversation_id: str, who: SignedIn, *, audited: bool = True
) -> dict[str, Any] | None:
    """The conversation view's data, with the translations of the person's messages made
    before. Opening the view is audited; the live refreshes of an open view are not (they
    would write an entry for every message that arrives)."""
    with get_sessionmaker().begin() as session:
        conversation = queries.conversation_of(session, conversation_id, who)
        if conversation is None:
            return None
        case = queries.linked_case_of(session, conversation_id)
        if audited:
            audit.record(
                session,
                actor=f"coordinator:{who.username}",
                case_id=case.id if case else None,
                action="read_conversation",
                detail=conversation_id,
            )
        session.flush()  # the audit entry is written before the rows are detached
        session.expunge_all()
        messages = queries.transcript(session, conversation_id)
        return {
            "conversation": conversation,
            "messages": messages,
            "stored_readings": translation.stored_readings(
                session, messages, _coordinator_language(who)
            ),
            "notes": queries.notes(session, conversation_id),
            "case": case,
        }


async def _transcript_context(
    conversation_id: str, who: SignedIn, *, audited: bool
) -> dict[str, Any] | None:
    """The transcript's data, every message of the person in another language with its
    translation into the coordinator's language (made now for the messages that have none)."""
    context = await asyncio.to_thread(
        partial(_conversation_context, conversation_id, who, audited=audited)
    )
    if context is None:
        return None
    conversation: Conversation = context["conversation"]
    context["readings"] = await translation.readings(
        context["messages"],
        context.pop("stored_readings"),
        _coordinator_language(who),
        conversation.municipality,
    )
    return context


async def _reply_form(
    conversation: Conversation,
    who: SignedIn,
    *,
    draft: str = "",
    source_language: str | None = None,
) -> translation.ReplyForm:
    language = _coordinator_language(who)
    source = source_language or language
    translatable, preview = await asyncio.gather(
        translation.translatable(language, conversation.language),
        translation.preview(
            draft,
            source,
            conversation.language,
            municipality=conversation.municipality,
            coordinator_name=who.first_name,
        ),
    )
    return translation.ReplyForm(
        coordinator_language=language,
        person_language=conversation.language,
        translatable=translatable,
        source_language=source,
        draft=draft,
        preview=preview,
        quick_replies=translation.quick_replies_for(
            quick_replies(), conversation.language, language
        ),
    )


def _not_found(who: SignedIn) -> Response:
    return render("not_found.html", who, status_code=404)


async def _conversation_response(
    request: Request,
    who: SignedIn,
    *,
    audited: bool,
    draft: str = "",
    source_language: str | None = None,
) -> Response:
    context = await _transcript_context(
        request.path_params["conversation_id"], who, audited=audited
    )
    if context is None:
        return _not_found(who)
    form = await _reply_form(
        context["conversation"], who, draft=draft, source_language=source_language
    )
    flash = texts(who.language).get(request.query_params.get("flash", ""), None)
    return render("conversation.html", who, flash=flash, reply_form=form, **context)


async def conversation_page(request: Request, who: SignedIn) -> Response:
    return await _conversation_response(request, who, audited=True)


async def transcript_fragment(request: Request, who: SignedIn) -> Response:
    context = await _transcript_context(request.path_params["conversation_id"], who, audited=False)
    if context is None:
        return _not_found(who)
    return render("_transcript.html", who, **context)


async def conversation_events(request: Request, who: SignedIn) -> Response:
    conversation_id = request.path_params["conversation_id"]

    def visible() -> bool:
        with get_sessionmaker()() as session:
            return queries.conversation_of(session, conversation_id, who) is not None

    if not await asyncio.to_thread(visible):
        return PlainTextResponse("Not found.", status_code=404)

    def version() -> str:
        with get_sessionmaker()() as session:
            return queries.conversation_version(session, conversation_id)

    return _stream(version)


def _visible_conversation(conversation_id: str, who: SignedIn) -> Conversation | None:
    with get_sessionmaker()() as session:
        return queries.conversation_of(session, conversation_id, who)


def _assistant_row(
    conversation_id: str,
    language: str,
    message: Reply,
    sender: MessageSender = MessageSender.SYSTEM,
    sender_name: str | None = None,
) -> Message:
    """One of the assistant's texts sent on a transition, as the person receives it; for a
    translated language also the English it was translated from."""
    return pending_message(
        conversation_id,
        message.text,
        language,
        sender,
        message.buttons,
        sender_name=sender_name,
        original_text=message.original_text,
        original_language=message.original_language,
    )


def _store_person_message(conversation_id: str, language: str, message: Reply) -> None:
    with get_sessionmaker().begin() as session:
        session.add(_assistant_row(conversation_id, language, message))


async def _person_message(
    conversation_id: str, name: str, who: SignedIn, arguments: dict[str, str] | None = None
) -> bool:
    """A transition's message to the person, in their language, from the assistant."""
    conversation = await asyncio.to_thread(_visible_conversation, conversation_id, who)
    if conversation is None:
        return False
    message = await translation.from_assistant(
        name, conversation.language, conversation.municipality, arguments or {}
    )
    await asyncio.to_thread(_store_person_message, conversation_id, conversation.language, message)
    return True


def _take(conversation_id: str, who: SignedIn, language: str, message: Reply) -> bool:
    """Takes the conversation and tells the person, in one transaction."""
    with get_sessionmaker().begin() as session:
        conversation = queries.conversation_of(session, conversation_id, who)
        if conversation is None or not take(session, conversation_id, who.id, utcnow()):
            return False
        session.add(_assistant_row(conversation_id, language, message))
        return True


async def take_conversation(request: Request, who: SignedIn) -> Response:
    conversation_id = request.path_params["conversation_id"]
    conversation = await asyncio.to_thread(_visible_conversation, conversation_id, who)
    if conversation is not None:
        # Composed (and for a translated language translated) before taking: a translation
        # is never made inside the transaction.
        message = await translation.from_assistant(
            "utter_handoff_taken",
            conversation.language,
            conversation.municipality,
            {"name": who.first_name},
            names=[who.first_name],
        )
        if await asyncio.to_thread(_take, conversation_id, who, conversation.language, message):
            return _redirect(f"/coordinator/conversations/{conversation_id}")
    return _redirect("/coordinator/?flash=taken_by_other")


def _may_reply(conversation: Conversation, who: SignedIn) -> bool:
    return conversation.state == ConversationState.HUMAN and (
        conversation.coordinator_id == who.id or who.is_administrator
    )


def _reply_target(conversation_id: str, who: SignedIn) -> Conversation | None:
    """The conversation, if the coordinator may answer in it now."""
    with get_sessionmaker()() as session:
        conversation = queries.conversation_of(session, conversation_id, who)
        return conversation if conversation is not None and _may_reply(conversation, who) else None


@dataclass(frozen=True)
class _Draft:
    conversation: Conversation
    text: str
    source_language: str
    # The preview button of the form without JavaScript, rather than "send".
    previewing: bool


async def _draft(request: Request, who: SignedIn) -> _Draft | None:
    """The reply form's text and the language it is written in, for a conversation the
    coordinator may answer in (else None)."""
    form = await request.form()
    conversation = await asyncio.to_thread(
        _reply_target, request.path_params["conversation_id"], who
    )
    if conversation is None:
        return None
    return _Draft(
        conversation,
        str(form.get("text") or "").strip()[:2000],
        str(form.get("source_language") or _coordinator_language(who)),
        previewing=form.get("action") == "preview",
    )


def _unknown_source_language(draft: _Draft, who: SignedIn) -> bool:
    """A reply is written in the coordinator's language (translated on sending) or in the
    person's (sent as written); a form claiming any other language is refused."""
    return draft.source_language not in (
        _coordinator_language(who),
        draft.conversation.language,
    )


def _bad_language() -> Response:
    return _headers(PlainTextResponse("Unknown source language.", status_code=400))


def _reply(conversation_id: str, who: SignedIn, language: str, message: Reply) -> bool:
    """Stores the reply as the person receives it (`language`: the one it was composed for)
    and, when that is a translation, what the coordinator wrote."""
    with get_sessionmaker().begin() as session:
        conversation = queries.conversation_of(session, conversation_id, who)
        if conversation is None or not _may_reply(conversation, who):
            return False
        session.add(
            pending_message(
                conversation_id,
                message.text,
                language,
                MessageSender.COORDINATOR,
                sender_name=who.first_name,
                original_text=message.original_text,
                original_language=message.original_language,
            )
        )
        return True


async def reply(request: Request, who: SignedIn) -> Response:
    """Sends the reply, or with the preview button (the path without JavaScript) shows the
    page again with the draft kept and the translation the person would receive."""
    conversation_id = request.path_params["conversation_id"]
    not_yours = _redirect(f"/coordinator/conversations/{conversation_id}?flash=not_yours")
    draft = await _draft(request, who)
    if draft is None:
        return not_yours
    if _unknown_source_language(draft, who):
        return _bad_language()
    if draft.previewing:
        return await _conversation_response(
            request, who, audited=False, draft=draft.text, source_language=draft.source_language
        )
    if draft.text:
        # Translated before the transaction; the translator's cache makes it the one previewed.
        message = await for_person_from_coordinator(
            draft.text,
            draft.source_language,
            draft.conversation.language,
            municipality=draft.conversation.municipality,
            coordinator_name=who.first_name,
        )
        if not await asyncio.to_thread(
            _reply, conversation_id, who, draft.conversation.language, message
        ):
            return not_yours
    return _redirect(f"/coordinator/conversations/{conversation_id}")


async def reply_preview(request: Request, who: SignedIn) -> Response:
    """The live preview of the reply form (coordinator.js): what the person would receive."""
    draft = await _draft(request, who)
    if draft is None:
        return _headers(PlainTextResponse("Not found.", status_code=404))
    if _unknown_source_language(draft, who):
        return _bad_language()
    form = await _reply_form(
        draft.conversation, who, draft=draft.text, source_language=draft.source_language
    )
    return render("_preview.html", who, reply_form=form)


def _note(conversation_id: str, who: SignedIn, text: str) -> None:
    with get_sessionmaker().begin() as session:
        if queries.conversation_of(session, conversation_id, who) is not None:
            session.add(
                ConversationNote(conversation_id=conversation_id, coordinator_id=who.id, text=text)
            )


async def note(request: Request, who: SignedIn) -> Response:
    conversation_id = request.path_params["conversation_id"]
    text = str((await request.form()).get("text") or "").strip()[:2000]
    if text:
        await asyncio.to_thread(_note, conversation_id, who, text)
    return _redirect(f"/coordinator/conversations/{conversation_id}")


def _may_end(conversation_id: str, who: SignedIn) -> bool:
    with get_sessionmaker()() as session:
        conversation = queries.conversation_of(session, conversation_id, who)
        if conversation is None:
            return False
        owner = conversation.coordinator_id
        return owner in (None, who.id) or who.is_administrator


def _end(conversation_id: str, who: SignedIn, *, closing: bool) -> bool:
    with get_sessionmaker().begin() as session:
        change = close if closing else hand_back
        return change(session, conversation_id, f"coordinator:{who.username}", utcnow())


async def _end_handoff(request: Request, who: SignedIn, *, closing: bool) -> Response:
    """Hand back or close: Rasa is resumed first, so the assistant answers again; if it
    cannot be, the conversation stays with the coordinator."""
    conversation_id = request.path_params["conversation_id"]
    if not await asyncio.to_thread(_may_end, conversation_id, who):
        return _redirect(f"/coordinator/conversations/{conversation_id}?flash=not_yours")
    try:
        await request.app.state.rasa.resume(conversation_id)
    except RasaUnavailableError:
        return _redirect(
            f"/coordinator/conversations/{conversation_id}?flash=assistant_unreachable"
        )
    if await asyncio.to_thread(_end, conversation_id, who, closing=closing):
        await _person_message(
            conversation_id, "utter_handoff_closed" if closing else "utter_handoff_returned", who
        )
    return _redirect("/coordinator/")


async def hand_back_conversation(request: Request, who: SignedIn) -> Response:
    return await _end_handoff(request, who, closing=False)


async def close_conversation(request: Request, who: SignedIn) -> Response:
    return await _end_handoff(request, who, closing=True)


# --- Cases ----------------------------------------------------------------------------------

STATE_FIELDS = (
    ("assessment", [s.value for s in AssessmentState]),
    ("plan", [s.value for s in PlanState]),
    ("orientation", [s.value for s in CourseState]),
    ("training", [s.value for s in CourseState]),
)


def _search(who: SignedIn, text: str) -> list[Any]:
    with get_sessionmaker().begin() as session:
        found = queries.search_cases(session, who, text)
        session.flush()  # the audit entry is written before the rows are detached
        session.expunge_all()
        return found


async def cases_page(request: Request, who: SignedIn) -> Response:
    text = request.query_params.get("q", "")[:100]
    return render("cases.html", who, cases=await asyncio.to_thread(_search, who, text), q=text)


def _case_context(case_id: int, who: SignedIn, action: str) -> dict[str, Any] | None:
    with get_sessionmaker().begin() as session:
        case = queries.case_of(session, case_id, who)
        if case is None:
            return None
        audit.record(session, actor=f"coordinator:{who.username}", case_id=case_id, action=action)
        context = {
            "case": case,
            "conversations": queries.conversations_of_case(session, case_id),
            "bookings": queries.bookings_of_case(session, case_id),
            "state_fields": STATE_FIELDS,
        }
        session.flush()  # the audit entry is written before the rows are detached
        session.expunge_all()
        return context


def _case_id(request: Request) -> int | None:
    value = request.path_params["case_id"]
    return int(value) if str(value).isdigit() else None


async def case_page(request: Request, who: SignedIn) -> Response:
    case_id = _case_id(request)
    context = (
        None if case_id is None else await asyncio.to_thread(_case_context, case_id, who, "read")
    )
    if context is None:
        return _not_found(who)
    flash = texts(who.language).get(request.query_params.get("flash", ""), None)
    return render("case.html", who, flash=flash, code=None, **context)


def _update_case(case_id: int, who: SignedIn, form: dict[str, str]) -> bool:
    with get_sessionmaker().begin() as session:
        case = queries.case_of(session, case_id, who)
        if case is None:
            return False
        changed = []
        for field, choices in STATE_FIELDS:
            value = form.get(f"{field}_state")
            if value in choices and getattr(case, f"{field}_state") != value:
                setattr(case, f"{field}_state", value)
                changed.append(f"{field}={value}")
        next_step = form.get("next_step", "").strip()[:2000] or None
        if next_step != case.next_step:
            case.next_step = next_step
            changed.append("next_step")
        audit.record(
            session,
            actor=f"coordinator:{who.username}",
            case_id=case_id,
            action="update",
            detail=", ".join(changed) or None,
        )
        return True


async def update_case(request: Request, who: SignedIn) -> Response:
    case_id = _case_id(request)
    form = {key: str(value) for key, value in (await request.form()).items()}
    if case_id is None or not await asyncio.to_thread(_update_case, case_id, who, form):
        return _not_found(who)
    return _redirect(f"/coordinator/cases/{case_id}?flash=saved")


def _link_code(case_id: int, who: SignedIn) -> str | None:
    with get_sessionmaker().begin() as session:
        if queries.case_of(session, case_id, who) is None:
            return None
        code = issue_code(session, case_id, get_settings().link_code_secret, utcnow())
        audit.record(
            session, actor=f"coordinator:{who.username}", case_id=case_id, action="link-code"
        )
        return f"{code[:3]}-{code[3:]}"


async def case_link_code(request: Request, who: SignedIn) -> Response:
    case_id = _case_id(request)
    code = None if case_id is None else await asyncio.to_thread(_link_code, case_id, who)
    if case_id is None or code is None:
        return _not_found(who)
    context = await asyncio.to_thread(_case_context, case_id, who, "read")
    assert context is not None
    # Shown once, on this page only; never stored in clear.
    return render("case.html", who, flash=None, code=code, **context)


# --- Calendar and bookings ------------------------------------------------------------------


def _week(who: SignedIn, monday: date) -> list[queries.CalendarSlot]:
    with get_sessionmaker()() as session:
        return queries.week_slots(session, who, monday)


def _this_week() -> date:
    return queries.week_start(datetime.now(HELSINKI).date())


async def _calendar(
    who: SignedIn, monday: date, flash: str | None, status_code: int = 200
) -> Response:
    return render(
        "calendar.html",
        who,
        status_code=status_code,
        slots=await asyncio.to_thread(_week, who, monday),
        monday=monday,
        previous=monday - timedelta(days=7),
        following=monday + timedelta(days=7),
        flash=flash,
    )


async def calendar_page(request: Request, who: SignedIn) -> Response:
    try:
        monday = queries.week_start(date.fromisoformat(request.query_params.get("week", "")))
    except ValueError:
        monday = _this_week()
    flash = texts(who.language).get(request.query_params.get("flash", ""))
    return await _calendar(who, monday, flash)


def _add_slot(who: SignedIn, form: dict[str, str]) -> str | None:
    """None when added, else why not."""
    try:
        item = SlotInput(
            coordinator=who.username,
            day=date.fromisoformat(form.get("date", "")),
            start=time.fromisoformat(form.get("start", "")),
            minutes=int(form.get("minutes", "0")),
            kind=SlotKind(form.get("kind", "")),
            location=form.get("location", "").strip() or None,
        )
    except ValueError as error:
        return str(error)
    try:
        with get_sessionmaker().begin() as session:
            add_slots(session, [item], utcnow())
    except SlotInputError as error:
        return str(error)
    return None


async def add_slot(request: Request, who: SignedIn) -> Response:
    form = {key: str(value) for key, value in (await request.form()).items()}
    problem = await asyncio.to_thread(_add_slot, who, form)
    week = form.get("date", "")
    if problem:
        flash = f"{texts(who.language)['slot_error']} {problem}"
        return await _calendar(who, _this_week(), flash, status_code=422)
    return _redirect(f"/coordinator/calendar?week={week}")


def _change_slot(slot_id: int, who: SignedIn, *, remove: bool) -> tuple[bool, str | None]:
    with get_sessionmaker().begin() as session:
        slot = queries.own_slot(session, slot_id, who)
        if slot is None:
            return False, None
        week = as_utc(slot.starts_at).astimezone(HELSINKI).date().isoformat()
        if queries.active_booking_of_slot(session, slot_id) is not None:
            return False, week
        if remove:
            # Past bookings keep their slot row for history; only an unused slot goes.
            if queries.any_booking_of_slot(session, slot_id):
                slot.blocked = True
            else:
                session.delete(slot)
        else:
            slot.blocked = not slot.blocked
        return True, week


def _slot_id(request: Request) -> int:
    value = str(request.path_params["slot_id"])
    return int(value) if value.isdigit() else 0


async def block_slot(request: Request, who: SignedIn) -> Response:
    done, week = await asyncio.to_thread(_change_slot, _slot_id(request), who, remove=False)
    if week is None:
        return _not_found(who)
    return _redirect(
        f"/coordinator/calendar?week={week}" + ("" if done else "&flash=slot_has_booking")
    )


async def remove_slot(request: Request, who: SignedIn) -> Response:
    done, week = await asyncio.to_thread(_change_slot, _slot_id(request), who, remove=True)
    if week is None:
        return _not_found(who)
    return _redirect(
        f"/coordinator/calendar?week={week}" + ("" if done else "&flash=slot_has_booking")
    )


@dataclass(frozen=True)
class _Cancellation:
    """A booking about to be cancelled, and what its person is to be told in which
    conversation (None when the booking was made outside a conversation)."""

    conversation_id: str | None
    language: str
    municipality: str | None
    time: str


def _cancellation(booking_id: int, who: SignedIn) -> _Cancellation | None:
    with get_sessionmaker()() as session:
        booking = session.get(Booking, booking_id)
        if booking is None or booking.status != BookingStatus.BOOKED:
            return None
        if queries.own_slot(session, booking.slot_id, who) is None:
            return None
        conversation = session.get(Conversation, booking.conversation_id or "")
        # The person's language now; the booking keeps the language it was made in, which
        # for a translated language is English (the assistant's working language).
        language = conversation.language if conversation else booking.language
        return _Cancellation(
            conversation_id=conversation.id if conversation else None,
            language=language,
            municipality=conversation.municipality if conversation else None,
            time=format_time(booking.slot.starts_at, content_language(language) or language),
        )


def _cancel_booking(
    booking_id: int, who: SignedIn, cancellation: _Cancellation, message: Reply | None
) -> str | None:
    """Cancels and tells the person; returns the week to show. The booking is checked again
    here: it may have changed while the message was being composed."""
    with get_sessionmaker().begin() as session:
        booking = session.get(Booking, booking_id)
        if booking is None or booking.status != BookingStatus.BOOKED:
            return None
        if queries.own_slot(session, booking.slot_id, who) is None:
            return None
        view = cancel_row(session, booking, utcnow(), f"coordinator:{who.username}")
        if cancellation.conversation_id is not None and message is not None:
            session.add(
                _assistant_row(
                    cancellation.conversation_id,
                    cancellation.language,
                    message,
                    MessageSender.COORDINATOR,
                    sender_name=who.first_name,
                )
            )
        return view.slot.starts_at.astimezone(HELSINKI).date().isoformat()


async def _cancel(booking_id: int, who: SignedIn, note_text: str) -> str | None:
    """Cancels and tells the person in their language (for a translated language the
    English text machine translated, composed before the transaction)."""
    cancellation = await asyncio.to_thread(_cancellation, booking_id, who)
    if cancellation is None:
        return None
    message = None
    if cancellation.conversation_id is not None:
        # The coordinator's own words, in their language: translated like a reply (marked,
        # the original beneath), then kept as they are inside the surrounding text.
        note = note_text
        if note_text:
            note = (
                await for_person_from_coordinator(
                    note_text,
                    _coordinator_language(who),
                    cancellation.language,
                    municipality=cancellation.municipality,
                    coordinator_name=who.first_name,
                )
            ).text
        message = await translation.from_assistant(
            "utter_booking_cancelled_by_coordinator",
            cancellation.language,
            cancellation.municipality,
            {"time": cancellation.time, "message": note},
            names=[who.first_name, note],
        )
    return await asyncio.to_thread(_cancel_booking, booking_id, who, cancellation, message)


async def cancel_booking(request: Request, who: SignedIn) -> Response:
    value = str(request.path_params["booking_id"])
    message = str((await request.form()).get("message") or "").strip()[:500]
    week = await _cancel(int(value), who, message) if value.isdigit() else None
    if week is None:
        return _not_found(who)
    return _redirect(f"/coordinator/calendar?week={week}")


# --- Settings -------------------------------------------------------------------------------


async def settings_page(request: Request, who: SignedIn) -> Response:
    office_hours = (
        get_municipality(who.municipality).variables(who.language).get("opening_hours", "")
    )
    return render("settings.html", who, office_hours=office_hours, flash=None)


def _set_language(who: SignedIn, language: str) -> None:
    with get_sessionmaker().begin() as session:
        coordinator = session.get(Coordinator, who.id)
        if coordinator is not None:
            coordinator.language = language


async def save_settings(request: Request, who: SignedIn) -> Response:
    language = str((await request.form()).get("language") or "")
    if language in COORDINATOR_LANGUAGES:
        await asyncio.to_thread(_set_language, who, language)
    return _redirect("/coordinator/settings")


routes: list[BaseRoute] = [
    Mount(
        "/coordinator",
        routes=[
            Route("/login", login_page, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", page(logout), methods=["POST"]),
            Route("/", page(queue_page), methods=["GET"]),
            Route("/queue", page(queue_fragment), methods=["GET"]),
            Route("/events", page(queue_events), methods=["GET"]),
            Route("/conversations/{conversation_id}", page(conversation_page), methods=["GET"]),
            Route(
                "/conversations/{conversation_id}/transcript",
                page(transcript_fragment),
                methods=["GET"],
            ),
            Route(
                "/conversations/{conversation_id}/events",
                page(conversation_events),
                methods=["GET"],
            ),
            Route(
                "/conversations/{conversation_id}/take", page(take_conversation), methods=["POST"]
            ),
            Route("/conversations/{conversation_id}/reply", page(reply), methods=["POST"]),
            Route(
                "/conversations/{conversation_id}/preview", page(reply_preview), methods=["POST"]
            ),
            Route("/conversations/{conversation_id}/note", page(note), methods=["POST"]),
            Route(
                "/conversations/{conversation_id}/handback",
                page(hand_back_conversation),
                methods=["POST"],
            ),
            Route(
                "/conversations/{conversation_id}/close", page(close_conversation), methods=["POST"]
            ),
            Route("/cases", page(cases_page), methods=["GET"]),
            Route("/cases/{case_id}", page(case_page), methods=["GET"]),
            Route("/cases/{case_id}", page(update_case), methods=["POST"]),
            Route("/cases/{case_id}/link-code", page(case_link_code), methods=["POST"]),
            Route("/calendar", page(calendar_page), methods=["GET"]),
            Route("/slots", page(add_slot), methods=["POST"]),
            Route("/slots/{slot_id}/block", page(block_slot), methods=["POST"]),
            Route("/slots/{slot_id}/remove", page(remove_slot), methods=["POST"]),
            Route("/bookings/{booking_id}/cancel", page(cancel_booking), methods=["POST"]),
            Route("/settings", page(settings_page), methods=["GET"]),
            Route("/settings", page(save_settings), methods=["POST"]),
            Mount("/static", app=StaticFiles(directory=HERE / "static"), name="coordinator-static"),
        ],
    )
]
