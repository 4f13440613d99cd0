"""Signing in and out of the coordinator app, and the guard around every other page.

Every page needs a signed-in coordinator (else a redirect to the sign-in page); every form
post needs the session's CSRF token (else 403).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.coordinator.auth import Accounts, SignedIn, csrf_valid
from bot.coordinator.rendering import headers, redirect, render, texts
from bot.db import get_sessionmaker
from bot.settings import get_settings

SESSION_COOKIE = "lotsen_coordinator"
LOGIN_CSRF_COOKIE = "lotsen_login_csrf"

Handler = Callable[[Request, SignedIn], Awaitable[Response]]


def _secure_cookies() -> bool:
    return get_settings().lotsen_public_url.startswith("https://")


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Signed-in coordinators only; form posts only with the session's CSRF token."""

    async def guarded(request: Request) -> Response:
        accounts = Accounts(get_sessionmaker())
        who = await asyncio.to_thread(accounts.signed_in, request.cookies.get(SESSION_COOKIE))
        if who is None:
            if request.method == "GET" and "text/event-stream" not in request.headers.get(
                "accept", ""
            ):
                return redirect("/coordinator/login")
            return PlainTextResponse("Sign in first.", status_code=401)
        if request.method == "POST":
            form = await request.form()
            token = form.get("csrf_token")
            if not csrf_valid(who.csrf_token, token if isinstance(token, str) else None):
                return headers(PlainTextResponse("Invalid form token.", status_code=403))
        return await handler(request, who)

    return guarded


async def login_page(request: Request) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render("login.html", None, csrf_token=token, error=None)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure_cookies()
    )
    return response


async def login(request: Request) -> Response:
    form = await request.form()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    given = form.get("csrf_token")
    if not expected or not csrf_valid(expected, given if isinstance(given, str) else None):
        return headers(PlainTextResponse("Invalid form token.", status_code=403))
    username, password = str(form.get("username") or ""), str(form.get("password") or "")
    address = request.client.host if request.client else None
    accounts = Accounts(get_sessionmaker())
    secret = await asyncio.to_thread(accounts.sign_in, username, password, address)
    if secret is None:
        return render(
            "login.html",
            None,
            status_code=401,
            csrf_token=expected,
            error=texts("sv")["sign_in_failed"] + " / " + texts("fi")["sign_in_failed"],
        )
    response = redirect("/coordinator/")
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


async def logout(request: Request, who: SignedIn) -> Response:
    accounts = Accounts(get_sessionmaker())
    await asyncio.to_thread(accounts.sign_out, request.cookies.get(SESSION_COOKIE, ""))
    response = redirect("/coordinator/login")
    response.delete_cookie(SESSION_COOKIE, path="/coordinator")
    return response
