"""The demo municipal page at `/`, which embeds the widget exactly as a municipality's site
would, and the widget's files (built by `make widget` into bot/channels/widget/static/)."""

from __future__ import annotations

from functools import lru_cache
from html import escape
from pathlib import Path

import yaml
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.language import LANGUAGE_NAMES, SUPPORTED_LANGUAGES, is_supported
from bot.municipality import get_municipality
from bot.settings import get_settings

STATIC = Path(__file__).resolve().parent / "static"
# The built widget (git-ignored, made by `make widget`) and the demo page's own style.
ASSETS = {
    "/widget.js": ("widget.js", "text/javascript; charset=utf-8"),
    "/widget.css": ("widget.css", "text/css; charset=utf-8"),
    "/demo.css": ("demo.css", "text/css; charset=utf-8"),
}
# The demo page itself is written in the four languages.
LANGUAGES = {code: LANGUAGE_NAMES[code] for code in SUPPORTED_LANGUAGES}
PAGE_TEXT_FILE = Path(__file__).resolve().parent / "demo_page.yml"


@lru_cache(maxsize=1)
def _page_text() -> dict[str, dict[str, str]]:
    with PAGE_TEXT_FILE.open(encoding="utf-8") as handle:
        texts: dict[str, dict[str, str]] = yaml.safe_load(handle)
    return texts


async def demo_page(request: Request) -> HTMLResponse:
    settings = get_settings()
    language = request.query_params.get("lang", "sv")
    if not is_supported(language):
        language = "sv"
    text = _page_text()[language]
    municipality_id = settings.lotsen_default_municipality
    name = get_municipality(municipality_id).variables(language).get("municipality_name", "")
    switcher = "\n".join(
        f'<li><a href="/?lang={code}" lang="{code}" hreflang="{code}"'
        + (' aria-current="page"' if code == language else "")
        + f">{escape(label)}</a></li>"
        for code, label in LANGUAGES.items()
    )
    page = f"""<!doctype html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(text["title"])} – {escape(name)}</title>
<link rel="stylesheet" href="/demo.css">
</head>
<body>
<header class="site-header">
<p class="site-name">{escape(name)}</p>
<nav aria-label="{escape(text["nav"])}"><ul class="languages">
{switcher}
</ul></nav>
</header>
<main>
<h1>{escape(text["title"])}</h1>
<p class="demo-note">{escape(text["demo"])}</p>
<p>{escape(text["intro"])}</p>
<p>{escape(text["chat"])}</p>
</main>
<script src="/widget.js" data-municipality="{escape(municipality_id)}"
 data-language="{language}" defer></script>
</body>
</html>
"""
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


async def static_asset(request: Request) -> Response:
    name, media_type = ASSETS[request.url.path]
    path = STATIC / name
    if not path.is_file():
        return PlainTextResponse("The widget is not built: run `make widget`.", status_code=503)
    # no-cache: browsers revalidate (ETag), so an embedding site gets a new build at once.
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "no-cache"})


async def no_favicon(_request: Request) -> Response:
    # Browsers ask for one on every page; an empty answer keeps their consoles quiet.
    return Response(status_code=204)


routes = [
    Route("/", demo_page, methods=["GET"]),
    Route("/favicon.ico", no_favicon, methods=["GET"]),
    *(Route(path, static_asset, methods=["GET"]) for path in ASSETS),
]
