"""The conversation view: the transcript with the person's messages translated for the
coordinator, its live refresh, and taking, replying (with a preview of what the person
receives), noting, handing back and closing. A conversation of another municipality is
"not found" for a coordinator (an administrator sees every municipality)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.cases import audit
from bot.conversations.rasa_client import RasaUnavailableError
from bot.conversations.translation import for_person_from_coordinator
from bot.coordinator import translation
from bot.coordinator.assistant import glossary
from bot.coordinator.auth import SignedIn
from bot.coordinator.conversation_service import ConversationService, may_end
from bot.coordinator.live import stream
from bot.coordinator.rendering import (
    coordinator_language,
    flash,
    headers,
    not_found,
    quick_replies,
    redirect,
    render,
    texts,
)
from bot.db import get_sessionmaker
from bot.db.models import Conversation, utcnow
from bot.http.ratelimit import RateLimits, retry_after_header
from bot.privacy.erasure import ErasureReason, erase_conversation
from bot.privacy.export import as_json, download, export_conversation
from bot.privacy.tracker import get_tracker_store

# Where the page opens after taking or replying: the reply form, with the latest messages.
REPLY_ANCHOR = "reply-form"


def _service() -> ConversationService:
    return ConversationService(get_sessionmaker())


async def _transcript_context(
    conversation_id: str, who: SignedIn, *, audited: bool
) -> dict[str, Any] | None:
    """The transcript's data, every message of the person in another language with its
    translation into the coordinator's language (made now for the messages that have none)."""
    language = coordinator_language(who)
    sessions = get_sessionmaker()
    context = await asyncio.to_thread(
        partial(
            ConversationService(sessions).context, conversation_id, who, language, audited=audited
        )
    )
    if context is None:
        return None
    conversation: Conversation = context["conversation"]
    context["readings"], context["glossary"] = await asyncio.gather(
        translation.readings(
            context["messages"],
            context.pop("stored_readings"),
            language,
            conversation.municipality,
            sessions,
        ),
        # The assistant's own answers re-rendered from the content: no translation needed.
        asyncio.to_thread(glossary, context["messages"], language, conversation.municipality),
    )
    return context


async def _reply_form(
    conversation: Conversation,
    who: SignedIn,
    *,
    draft: str = "",
    source_language: str | None = None,
) -> translation.ReplyForm:
    language = coordinator_language(who)
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
        return not_found(who)
    form = await _reply_form(
        context["conversation"], who, draft=draft, source_language=source_language
    )
    confirm = request.query_params.get("confirm")
    return render(
        "conversation.html",
        who,
        flash=flash(request, who),
        reply_form=form,
        confirm=confirm if confirm in ("close", "handback") else None,
        may_end=may_end(context["conversation"], who),
        open_more=request.query_params.get("flash") == "erase_needs_reason",
        **context,
    )


async def conversation_page(request: Request, who: SignedIn) -> Response:
    return await _conversation_response(request, who, audited=True)


async def transcript_fragment(request: Request, who: SignedIn) -> Response:
    context = await _transcript_context(request.path_params["conversation_id"], who, audited=False)
    if context is None:
        return not_found(who)
    return render("_transcript.html", who, **context)


async def conversation_events(request: Request, who: SignedIn) -> Response:
    conversation_id = request.path_params["conversation_id"]
    service = _service()
    if await asyncio.to_thread(service.visible, conversation_id, who) is None:
        return PlainTextResponse("Not found.", status_code=404)
    return stream(partial(service.version, conversation_id))


async def _tell_person(
    conversation_id: str, name: str, who: SignedIn, arguments: dict[str, str] | None = None
) -> bool:
    """A transition's message to the person, in their language, from the assistant."""
    service = _service()
    conversation = await asyncio.to_thread(service.visible, conversation_id, who)
    if conversation is None:
        return False
    message = await translation.from_assistant(
        name, conversation.language, conversation.municipality, arguments or {}
    )
    await asyncio.to_thread(service.tell_person, conversation_id, conversation.language, message)
    return True


async def _invisible(request: Request, who: SignedIn) -> Response | None:
    """ "Not found" for a conversation of another municipality (or none), before any form
    is read: whatever the form says, nothing happens to it."""
    conversation_id = request.path_params["conversation_id"]
    if await asyncio.to_thread(_service().visible, conversation_id, who) is None:
        return not_found(who)
    return None


async def take_conversation(request: Request, who: SignedIn) -> Response:
    conversation_id = request.path_params["conversation_id"]
    service = _service()
    conversation = await asyncio.to_thread(service.visible, conversation_id, who)
    if conversation is None:
        return not_found(who)
    # Composed (and for a translated language translated) before taking: a translation is
    # never made inside the transaction.
    message = await translation.from_assistant(
        "utter_handoff_taken",
        conversation.language,
        conversation.municipality,
        {"name": who.first_name},
        names=[who.first_name],
    )
    if await asyncio.to_thread(service.take, conversation_id, who, conversation.language, message):
        return redirect(f"/coordinator/conversations/{conversation_id}#{REPLY_ANCHOR}")
    return redirect("/coordinator/?flash=taken_by_other")


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
        _service().reply_target, request.path_params["conversation_id"], who
    )
    if conversation is None:
        return None
    return _Draft(
        conversation,
        str(form.get("text") or "").strip()[:2000],
        str(form.get("source_language") or coordinator_language(who)),
        previewing=form.get("action") == "preview",
    )


def _unknown_source_language(draft: _Draft, who: SignedIn) -> bool:
    """A reply is written in the coordinator's language (translated on sending) or in the
    person's (sent as written); a form claiming any other language is refused."""
    return draft.source_language not in (
        coordinator_language(who),
        draft.conversation.language,
    )


def _bad_language() -> Response:
    return headers(PlainTextResponse("Unknown source language.", status_code=400))


async def reply(request: Request, who: SignedIn) -> Response:
    """Sends the reply, or with the preview button (the path without JavaScript) shows the
    page again with the draft kept and the translation the person would receive."""
    conversation_id = request.path_params["conversation_id"]
    if (invisible := await _invisible(request, who)) is not None:
        return invisible
    not_yours = redirect(f"/coordinator/conversations/{conversation_id}?flash=not_yours")
    draft = await _draft(request, who)
    if draft is None:
        return not_yours
    if _unknown_source_language(draft, who):
        return _bad_language()
    if draft.previewing:
        limited = await _too_many_previews(request, who)
        if limited is not None:
            return limited
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
            _service().reply, conversation_id, who, draft.conversation.language, message
        ):
            return not_yours
    return redirect(f"/coordinator/conversations/{conversation_id}#{REPLY_ANCHOR}")


async def _too_many_previews(request: Request, who: SignedIn) -> Response | None:
    """Each preview runs the translation models; a stuck script or a held-down key must
    not take them from everyone else."""
    limits: RateLimits = request.app.state.rate_limits
    wait = await limits.coordinator_previews.hit(str(who.id))
    if wait is None:
        return None
    response = PlainTextResponse(texts(who.language).get("too_many_previews", ""), status_code=429)
    response.headers["Retry-After"] = retry_after_header(wait)
    return headers(response)


async def reply_preview(request: Request, who: SignedIn) -> Response:
    """The live preview of the reply form (coordinator.js): what the person would receive."""
    limited = await _too_many_previews(request, who)
    if limited is not None:
        return limited
    draft = await _draft(request, who)
    if draft is None:
        return headers(PlainTextResponse("Not found.", status_code=404))
    if _unknown_source_language(draft, who):
        return _bad_language()
    form = await _reply_form(
        draft.conversation, who, draft=draft.text, source_language=draft.source_language
    )
    return render("_preview.html", who, reply_form=form)


async def note(request: Request, who: SignedIn) -> Response:
    conversation_id = request.path_params["conversation_id"]
    if (invisible := await _invisible(request, who)) is not None:
        return invisible
    text = str((await request.form()).get("text") or "").strip()[:2000]
    if text:
        await asyncio.to_thread(_service().note, conversation_id, who, text)
    return redirect(f"/coordinator/conversations/{conversation_id}#notes")


async def _end_handoff(request: Request, who: SignedIn, *, closing: bool) -> Response:
    """Hand back or close: Rasa is resumed first, so the assistant answers again; if it
    cannot be, the conversation stays with the coordinator."""
    conversation_id = request.path_params["conversation_id"]
    if (invisible := await _invisible(request, who)) is not None:
        return invisible
    service = _service()
    if not await asyncio.to_thread(service.may_end, conversation_id, who):
        return redirect(f"/coordinator/conversations/{conversation_id}?flash=not_yours")
    confirmed = (await request.form()).get("confirmed") == "yes"
    if not confirmed and await asyncio.to_thread(service.unanswered, conversation_id):
        # The person's last message is unanswered: asked again, on the page itself (no
        # script needed), before the conversation leaves the coordinator.
        action = "close" if closing else "handback"
        return redirect(f"/coordinator/conversations/{conversation_id}?confirm={action}#confirm")
    try:
        await request.app.state.rasa.resume(conversation_id)
    except RasaUnavailableError:
        return redirect(f"/coordinator/conversations/{conversation_id}?flash=assistant_unreachable")
    if await asyncio.to_thread(service.end, conversation_id, who, closing=closing):
        await _tell_person(
            conversation_id, "utter_handoff_closed" if closing else "utter_handoff_returned", who
        )
    return redirect("/coordinator/")


async def hand_back_conversation(request: Request, who: SignedIn) -> Response:
    return await _end_handoff(request, who, closing=False)


async def close_conversation(request: Request, who: SignedIn) -> Response:
    return await _end_handoff(request, who, closing=True)


async def link_to_case(request: Request, who: SignedIn) -> Response:
    """Links the conversation to a case the coordinator names by its number, after checking
    the person's identity in the chat or at a meeting; audited as `link-direct`."""
    conversation_id = request.path_params["conversation_id"]
    case_number = str((await request.form()).get("case_number") or "")
    outcome = await asyncio.to_thread(_service().link_to_case, conversation_id, who, case_number)
    if (
        outcome == "not_found"
        and await asyncio.to_thread(_service().visible, conversation_id, who) is None
    ):
        return not_found(who)
    return redirect(f"/coordinator/conversations/{conversation_id}?flash=link_{outcome}#summary")


# The reasons a coordinator may give; the audit log keeps the reason, never content.
ERASURE_REASONS = (ErasureReason.PERSON_ASKED, ErasureReason.WRONG_PERSON, ErasureReason.OTHER)


async def erase(request: Request, who: SignedIn) -> Response:
    """Erases the conversation everywhere it is kept (bot/privacy/erasure.py), with a
    reason; audited. The case register stays: it is the municipality's record."""
    conversation_id = request.path_params["conversation_id"]
    service = _service()
    # Another municipality's conversation is not found, whatever the form says.
    if await asyncio.to_thread(service.visible, conversation_id, who) is None:
        return not_found(who)
    reason = str((await request.form()).get("reason") or "")
    if reason not in ERASURE_REASONS:
        return redirect(
            f"/coordinator/conversations/{conversation_id}?flash=erase_needs_reason#erase-form"
        )
    await asyncio.to_thread(
        erase_conversation,
        get_sessionmaker(),
        get_tracker_store(),
        conversation_id,
        actor=f"coordinator:{who.username}",
        reason=ErasureReason(reason),
        now=utcnow(),
    )
    return redirect("/coordinator/?flash=conversation_erased")


async def export(request: Request, who: SignedIn) -> Response:
    """Everything held about the person of this conversation, as a JSON download; audited."""
    conversation_id = request.path_params["conversation_id"]
    document = await asyncio.to_thread(_export_conversation, conversation_id, who)
    if document is None:
        return not_found(who)
    return download(document, f"lotsen-conversation-{conversation_id}.json")


def _export_conversation(conversation_id: str, who: SignedIn) -> str | None:
    with get_sessionmaker().begin() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None or not who.may_see(conversation.municipality):
            return None
        document = export_conversation(session, get_tracker_store(), conversation_id)
        if document is None:
            return None
        links = document["conversation"]["case_links"]
        audit.record(
            session,
            actor=f"coordinator:{who.username}",
            case_id=links[0]["case_id"] if links else None,
            action="export",
            detail=conversation_id,
        )
        return as_json(document)
