"""The case views: search by name or case number, a case with its conversations and
bookings, updating its service states and next step, and a new link code."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from bot.coordinator.auth import SignedIn
from bot.coordinator.case_service import CaseService
from bot.coordinator.rendering import flash, not_found, redirect, render
from bot.db import get_sessionmaker
from bot.settings import get_settings


def _case_id(request: Request) -> int | None:
    value = request.path_params["case_id"]
    return int(value) if str(value).isdigit() else None


async def cases_page(request: Request, who: SignedIn) -> Response:
    text = request.query_params.get("q", "")[:100]
    cases = await asyncio.to_thread(CaseService(get_sessionmaker()).search, who, text)
    return render("cases.html", who, cases=cases, q=text)


async def case_page(request: Request, who: SignedIn) -> Response:
    case_id = _case_id(request)
    service = CaseService(get_sessionmaker())
    context = (
        None if case_id is None else await asyncio.to_thread(service.context, case_id, who, "read")
    )
    if context is None:
        return not_found(who)
    return render("case.html", who, flash=flash(request, who), code=None, **context)


async def update_case(request: Request, who: SignedIn) -> Response:
    case_id = _case_id(request)
    form = {key: str(value) for key, value in (await request.form()).items()}
    service = CaseService(get_sessionmaker())
    if case_id is None or not await asyncio.to_thread(service.update, case_id, who, form):
        return not_found(who)
    return redirect(f"/coordinator/cases/{case_id}?flash=saved")


async def case_link_code(request: Request, who: SignedIn) -> Response:
    case_id = _case_id(request)
    service = CaseService(get_sessionmaker())
    secret = get_settings().link_code_secret
    code = (
        None
        if case_id is None
        else await asyncio.to_thread(service.link_code, case_id, who, secret)
    )
    if case_id is None or code is None:
        return not_found(who)
    context = await asyncio.to_thread(service.context, case_id, who, "read")
    assert context is not None
    # Shown once, on this page only; never stored in clear.
    return render("case.html", who, flash=None, code=code, **context)
