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

from bot.coordinator.auth import Accounts, SignedIn, csrf_valid, in_password_pool
from bot.coordinator.rendering import headers, redirect, render, texts
from bot.db import get_sessionmaker
from bot.http.client_address import address_pseudonym, client_ip, client_network
from bot.http.ratelimit import RateLimits, retry_after_header
from bot.runtime import get_settings

SESSION_COOKIE = "lotsen_coordinator"
LOGIN_CSRF_COOKIE = "lotsen_login_csrf"
# Sign-in form posts per network in 15 minutes, counted before any password is hashed: a
# whole office behind one address signs in well within it, a guessing script does not.
SIGN_IN_FORM_LIMIT = 30
SIGN_IN_FORM_WINDOW_SECONDS = 15 * 60


def _both_languages(key: str) -> str:
    return texts("sv")[key] + " / " + texts("fi")[key]


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
    limits: RateLimits = request.app.state.rate_limits
    wait = await limits.sign_in_forms.hit(client_network(request))
    if wait is not None:
        limited = PlainTextResponse(_both_languages("too_many_sign_ins"), status_code=429)
        limited.headers["Retry-After"] = retry_after_header(wait)
        return headers(limited)
    form = await request.form()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    given = form.get("csrf_token")
    if not expected or not csrf_valid(expected, given if isinstance(given, str) else None):
        return headers(PlainTextResponse("Invalid form token.", status_code=403))
    username, password = str(form.get("username") or ""), str(form.get("password") or "")
    # Only a keyed hash of the network is stored with the attempt.
    network = address_pseudonym(client_ip(request), get_settings().link_code_secret)
    accounts = Accounts(get_sessionmaker())
    secret = await in_password_pool(accounts.sign_in, username, password, network)
    if secret is None:
        return render(
            "login.html",
            None,
            status_code=401,
            csrf_token=expected,
            error=_both_languages("sign_in_failed"),
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


# The longest form is a reply of a few thousand characters; nothing needs more.
COORDINATOR_MAX_BODY_BYTES = 64 * 1024


def coordinator_too_large() -> Response:
    return headers(PlainTextResponse(_both_languages("request_too_large"), status_code=413))
