"""Request bodies capped before anything parses them.

Starlette's `request.form()` and `request.json()` read the whole body into memory first;
without a cap a single request could fill the process. This middleware refuses a body
over the limit with 413: at once when `Content-Length` says so, and otherwise as soon as
the bytes received pass the limit (a chunked body has no length to check in advance).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLargeError(Exception):
    pass


class BodyLimitMiddleware:
    """Caps the bodies of requests whose path starts with one of `prefixes`."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        prefixes: tuple[str, ...],
        too_large: Callable[[], Response] | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.prefixes = prefixes
        self.too_large = too_large or (
            lambda: PlainTextResponse("Request body too large.", status_code=413)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.limit + 1
                if declared > self.limit:
                    await self.too_large()(scope, receive, send)
                    return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError:
            if response_started:
                raise
            await self.too_large()(scope, receive, send)
