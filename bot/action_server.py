"""The action server behind a shared secret.

rasa-sdk's server runs any action for any tracker posted to it. Rasa sends
`ACTION_SERVER_SECRET` in the `X-Lotsen-Action-Secret` header with every call (endpoints.yml
`action_endpoint: headers:`); this Sanic request middleware refuses every other call with
403 before an action runs. Only `/health` stays open (it says "ok" and nothing else).

It is attached through rasa-sdk's own plugin hook (`rasa_sdk_plugins.init_hooks`, which
rasa-sdk imports from the working directory at start-up), so the server starts as usual
with `python -m rasa_sdk`, in every Sanic worker. The same hook starts the look for edited
content and municipality files (`bot.content_reload`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pluggy
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.content_reload import ContentReloader, watch_content
from bot.http.shared_secret import secret_matches
from bot.runtime import current, get_settings

ACTION_SECRET_HEADER = "X-Lotsen-Action-Secret"  # noqa: S105 - a header name
OPEN_PATHS = ("/health",)

hookimpl = pluggy.HookimplMarker("rasa_sdk")


async def require_secret(request: Request) -> HTTPResponse | None:
    if request.path in OPEN_PATHS:
        return None
    expected = get_settings().action_server_secret
    if not secret_matches(expected, request.headers.get(ACTION_SECRET_HEADER)):
        return response.json({"error": "forbidden"}, status=403)
    return None


async def watch_content_files(app: Sanic[Any, Any]) -> None:
    """Edited content and municipality files are loaded without a restart, as in the app."""
    reloader = await asyncio.to_thread(ContentReloader, current())
    app.add_task(
        watch_content(reloader, get_settings().lotsen_content_check_seconds),
        name="content reload",
    )


class SharedSecretPlugin:
    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic[Any, Any]) -> None:
        app.register_middleware(require_secret, "request")
        app.register_listener(watch_content_files, "after_server_start")


def init_hooks(manager: pluggy.PluginManager) -> None:
    manager.register(SharedSecretPlugin())
