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


async def settings_page(request: Request, who: SignedIn) -> Response:
    office_hours = (
        get_municipality(who.municipality).variables(who.language).get("opening_hours", "")
    )
    return render("settings.html", who, office_hours=office_hours, flash=None)


async def save_settings(request: Request, who: SignedIn) -> Response:
    language = str((await request.form()).get("language") or "")
    if language in COORDINATOR_LANGUAGES:
        accounts = Accounts(get_sessionmaker())
        await asyncio.to_thread(accounts.set_language, who.id, language)
    return redirect("/coordinator/settings")
