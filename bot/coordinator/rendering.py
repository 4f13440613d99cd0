"""Rendering the coordinator app's pages: the templates, the app's texts in Swedish and
Finnish, and the security headers every response carries. Jinja2 escapes everything a
person wrote, so a message with HTML shows as text."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.bookings.times import HELSINKI, as_utc, format_time
from bot.coordinator.auth import SignedIn
from bot.db.models import utcnow
from bot.language import RIGHT_TO_LEFT, language_name
from bot.settings import PROJECT_ROOT

HERE = Path(__file__).resolve().parent
TEXTS_DIR = PROJECT_ROOT / "data" / "coordinator"
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


def coordinator_language(who: SignedIn) -> str:
    """The language the coordinator reads and writes in (the view's language)."""
    return who.language if who.language in COORDINATOR_LANGUAGES else "sv"


def flash(request: Request, who: SignedIn) -> str | None:
    """The notice a redirect asked for (`?flash=<text name>`), in the coordinator's language."""
    return texts(who.language).get(request.query_params.get("flash", ""), None)


def headers(response: Response) -> Response:
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
            label=partial(_label, words),
            native_name=language_name,
            right_to_left=RIGHT_TO_LEFT,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code)
    headers(response)
    return response


def redirect(url: str) -> Response:
    return headers(RedirectResponse(url, status_code=303))


def not_found(who: SignedIn) -> Response:
    return render("not_found.html", who, status_code=404)


def _label(words: dict[str, str], kind: str, code: str | None) -> str:
    """A code (a channel, a state, an intent) as a word of the view's language; the code
    itself where the texts have none (never empty)."""
    if not code:
        return "–"
    return words.get(f"{kind}_{code}", code)


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
