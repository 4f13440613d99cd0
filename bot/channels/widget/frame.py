"""The widget's conversation lives in a frame from Lotsen's own origin.

The one tag a municipality puts on its site (`widget.js`) only draws a frame
(`/widget/frame`); the chat itself (`widget-chat.js`), the conversation's id and token and
everything the person reads run inside it. The browser keeps a cross-origin frame's
document and storage from the host page's scripts, so an analytics or tag-manager script
on the municipal site cannot read the conversation or the token that opens it.

The frame may be shown only inside the sites allowed to embed the widget
(`LOTSEN_WIDGET_ALLOWED_ORIGINS`, and the app's own pages): `frame-ancestors` says so to the
browser. The host page learns only what it needs to size the frame (open or closed, the
launcher's size), by `postMessage` to the origin it named, and checked here.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.http.security import CONTENT_SECURITY_POLICY
from bot.language import RIGHT_TO_LEFT, is_supported, is_translated
from bot.municipality import UnknownMunicipalityError, get_municipality
from bot.runtime import get_settings
from bot.settings import normalise_origin

FRAME_PATH = "/widget/frame"


def frame_policy(allowed_origins: frozenset[str]) -> str:
    """The app's policy, but framable by the embedding sites (and nowhere else)."""
    ancestors = " ".join(["'self'", *sorted(allowed_origins)])
    return CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", f"frame-ancestors {ancestors}")


def own_origin(request: Request) -> str:
    return normalise_origin(f"{request.url.scheme}://{request.headers.get('host', '')}")


async def widget_frame(request: Request) -> Response:
    settings = get_settings()
    allowed = settings.widget_allowed_origins | {own_origin(request)}
    host = normalise_origin(request.query_params.get("host", ""))
    if host not in allowed:
        return PlainTextResponse("This site may not embed the Lotsen widget.", status_code=403)
    try:
        municipality = get_municipality(request.query_params.get("municipality") or None)
    except UnknownMunicipalityError:
        return PlainTextResponse("No such municipality.", status_code=404)
    language = request.query_params.get("language", "")[:2].lower()
    if not (is_supported(language) or is_translated(language)):
        language = settings.lotsen_default_language
    direction = "rtl" if language in RIGHT_TO_LEFT else "ltr"
    page = f"""<!doctype html>
<html lang="{escape(language)}" dir="{direction}" data-municipality="{escape(municipality.id)}"
 data-language="{escape(language)}" data-host="{escape(host)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lotsen</title>
<link rel="stylesheet" href="/widget.css">
</head>
<body class="lotsen-frame">
<script src="/widget-chat.js" defer></script>
</body>
</html>
"""
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": frame_policy(frozenset(allowed)),
            "Cache-Control": "no-cache",
        },
    )


routes = [Route(FRAME_PATH, widget_frame, methods=["GET"])]
