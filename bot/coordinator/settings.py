"""The coordinator's settings: the app's language (Swedish or Finnish), and the office
hours from the municipality's settings."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from bot.coordinator.auth import Accounts, SignedIn
from bot.coordinator.rendering import COORDINATOR_LANGUAGES, redirect, render
from bot.db import get_sessionmaker
from bot.municipality import get_municipality
from bot.runtime import get_settings


def _office_hours(who: SignedIn) -> str:
    return get_municipality(who.municipality).variables(who.language).get("opening_hours", "")


async def settings_page(request: Request, who: SignedIn) -> Response:
    accounts = Accounts(get_sessionmaker())
    feed_expires = await asyncio.to_thread(accounts.calendar_feed_expires, who.id)
    return render(
        "settings.html",
        who,
        office_hours=_office_hours(who),
        feed_expires=feed_expires,
        feed_url=None,
        flash=None,
    )


async def renew_calendar_feed(request: Request, who: SignedIn) -> Response:
    """A new feed address (the old one stops working), shown once: only its hash is kept."""
    accounts = Accounts(get_sessionmaker())
    token, expires = await asyncio.to_thread(accounts.renew_calendar_feed, who.id)
    response = render(
        "settings.html",
        who,
        office_hours=_office_hours(who),
        feed_expires=expires,
        feed_url=f"{get_settings().lotsen_public_url}/calendar/{token}.ics",
        flash=None,
    )
    # The page holds the secret: no cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


async def revoke_calendar_feed(request: Request, who: SignedIn) -> Response:
    accounts = Accounts(get_sessionmaker())
    await asyncio.to_thread(accounts.revoke_calendar_feed, who.id)
    return redirect("/coordinator/settings")


async def save_settings(request: Request, who: SignedIn) -> Response:
    language = str((await request.form()).get("language") or "")
    if language in COORDINATOR_LANGUAGES:
        accounts = Accounts(get_sessionmaker())
        await asyncio.to_thread(accounts.set_language, who.id, language)
    return redirect("/coordinator/settings")
