"""What keeps the app safe to open and to call from browsers: CORS for the embedding sites
that are allowed (and a refusal for every other site), and security headers on every
response. Plain ASGI middleware, so the widget's event stream passes through unbuffered."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.settings import normalise_origin

API_PREFIX = "/api/"
# No inline script or style anywhere, nothing from another site, never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
CORS_ALLOW_METHODS = "GET, POST, DELETE"
# Last-Event-ID: the widget may resume its event stream with it.
CORS_ALLOW_HEADERS = "Authorization, Content-Type, Last-Event-ID"
CORS_MAX_AGE = "600"


class WebSecurityMiddleware:
    def __init__(self, app: ASGIApp, allowed_origins: frozenset[str]) -> None:
        self.app = app
        self.allowed_origins = allowed_origins

    def origin_allowed(self, origin: str, scope: Scope, headers: Headers) -> bool:
        if origin == "null":  # sandboxed frames, file:// pages
            return False
        normalised = normalise_origin(origin)
        if normalised in self.allowed_origins:
            return True
        # The page the app itself served (whatever name it was opened under): a browser
        # sets Host to the address it called, and Origin to the calling page's origin.
        own = normalise_origin(f"{scope.get('scheme', 'http')}://{headers.get('host', '')}")
        return normalised == own

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        cors_origin: str | None = None
        api = scope["path"].startswith(API_PREFIX)
        if api and origin is not None:
            if not self.origin_allowed(origin, scope, headers):
                await _secured(_refused_origin())(scope, receive, send)
                return
            cors_origin = origin
            if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
                await _secured(_preflight(origin))(scope, receive, send)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    response_headers.setdefault(name, value)
                if cors_origin is not None:
                    _add_cors(response_headers, cors_origin)
                elif api:
                    # A cache must not hand one site's answer to another.
                    response_headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _add_cors(headers: MutableHeaders, origin: str) -> None:
    headers["Access-Control-Allow-Origin"] = origin
    headers["Access-Control-Expose-Headers"] = "Retry-After"
    headers.add_vary_header("Origin")


def _preflight(origin: str) -> Response:
    response = Response(status_code=204)
    _add_cors(response.headers, origin)
    response.headers["Access-Control-Allow-Methods"] = CORS_ALLOW_METHODS
    response.headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
    response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    return response


def _refused_origin() -> Response:
    # Refused before anything is read or stored: a site that may not embed the widget
    # cannot open conversations in a visitor's browser either.
    return JSONResponse(
        {
            "error": {
                "code": "origin_not_allowed",
                "message": "This site may not use the Lotsen API.",
            }
        },
        status_code=403,
    )


def _secured(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
