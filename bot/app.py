"""The ASGI app: conversation API, NLG endpoint, health checks, the web widget with its
demo page, the coordinator app, the calendar feed and, when configured, the Telegram
channel (`create_app` factory)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.bookings.calendar import calendar_feed
from bot.bookings.reminders import run_reminders
from bot.channels import api
from bot.channels.telegram import TelegramChannel, telegram_webhook
from bot.channels.telegram_bots import telegram_bots
from bot.channels.telegram_store import TelegramStore
from bot.channels.widget import config as widget_config
from bot.channels.widget import events as widget_events
from bot.channels.widget import frame as widget_frame
from bot.channels.widget import pages as widget_pages
from bot.channels.widget.store import WidgetStore
from bot.content_reload import ContentReloader, watch_content
from bot.conversations.rasa_client import RasaClient
from bot.conversations.router import Router
from bot.conversations.store import ConversationStore
from bot.coordinator import routes as coordinator_routes
from bot.coordinator.signin import COORDINATOR_MAX_BODY_BYTES, coordinator_too_large
from bot.db import get_sessionmaker
from bot.health import healthz, readyz
from bot.http import log_redaction
from bot.http.body_limit import BodyLimitMiddleware
from bot.http.client_address import proxy_headers
from bot.http.errors import ApiError
from bot.http.security import WebSecurityMiddleware
from bot.language import detect_language
from bot.nlg.content import get_catalog
from bot.nlg.endpoint import nlg_endpoint
from bot.privacy.retention import run_daily_purge
from bot.privacy.tracker import get_tracker_store
from bot.runtime import current, get_settings
from bot.shared_state import open_shared_state
from bot.statistics.build import configured_municipalities, run_statistics

logger = logging.getLogger(__name__)


def _warm_up() -> None:
    """Load content and the language detector before the first person waits for them."""
    get_catalog()
    detect_language("Hej, jag undrar hur integrationsplanen fungerar.")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    settings = get_settings()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(limits=limits) as http:
        app.state.http = http
        app.state.store = ConversationStore(get_sessionmaker())
        app.state.widget_store = WidgetStore(get_sessionmaker())
        app.state.rasa = RasaClient(
            http,
            settings.rasa_url,
            settings.rasa_timeout_seconds,
            settings.rasa_api_token,
            channel_secret=settings.rasa_channel_secret,
        )
        app.state.router = Router(app.state.store, app.state.rasa)
        await asyncio.to_thread(_warm_up)
        # One channel per bot (bot/channels/telegram_bots.py): the default municipality's
        # first, then every municipality that names its own.
        channels = [
            TelegramChannel(
                bot, settings, app.state.store, TelegramStore(get_sessionmaker()), app.state.router
            )
            for bot in app.state.telegram_bots
        ]
        for channel in channels:
            await channel.start()
        if not channels:
            logger.warning("Telegram is not configured (TELEGRAM_BOT_TOKEN is empty): no Telegram")
        app.state.telegram_channels = channels
        app.state.telegram_by_path = {channel.bot.webhook_path: channel for channel in channels}
        default_bot = [channel for channel in channels if channel.bot.key == ""]
        app.state.telegram = default_bot[0] if default_bot else None
        reminders = asyncio.create_task(
            run_reminders(get_sessionmaker(), settings.reminder_interval_seconds),
            name="booking reminders",
        )
        purge = asyncio.create_task(
            run_daily_purge(
                get_sessionmaker(), get_tracker_store(), settings.purge_check_interval_seconds
            ),
            name="daily purge",
        )
        statistics = asyncio.create_task(
            run_statistics(
                get_sessionmaker(),
                configured_municipalities(settings.lotsen_municipalities_dir),
                settings.statistics_interval_seconds,
            ),
            name="statistics",
        )
        reloader = await asyncio.to_thread(ContentReloader, current())
        content = asyncio.create_task(
            watch_content(reloader, settings.lotsen_content_check_seconds),
            name="content reload",
        )
        logger.info("Lotsen app ready at %s", settings.lotsen_public_url)
        try:
            yield
        finally:
            for task in (reminders, purge, statistics, content):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for channel in channels:
                await channel.stop()
            await app.state.shared.close()


async def _api_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return error.response()


async def _unexpected_error(_request: Request, error: Exception) -> Response:
    logger.error("unhandled error", exc_info=error)
    return JSONResponse(
        {"error": {"code": "internal_error", "message": "Something went wrong."}},
        status_code=500,
    )


def create_app() -> Starlette:
    log_redaction.install()
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/nlg", nlg_endpoint, methods=["POST"]),
        Route("/calendar/{token}.ics", calendar_feed, methods=["GET"]),
        *api.routes,
        *widget_config.routes,
        *widget_events.routes,
        *widget_pages.routes,
        *widget_frame.routes,
        *coordinator_routes.routes,
    ]
    settings = get_settings()
    # Refuses to start (production) when a bot's variable is missing: named in the error.
    bots = telegram_bots(settings)
    if settings.telegram_mode == "webhook":
        routes.extend(Route(bot.webhook_path, telegram_webhook, methods=["POST"]) for bot in bots)
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={ApiError: _api_error, Exception: _unexpected_error},
        middleware=[
            # Outermost: everything after it sees the address a trusted proxy forwarded.
            proxy_headers(settings.trusted_proxies),
            Middleware(
                WebSecurityMiddleware,
                allowed_origins=settings.widget_allowed_origins,
                framable_paths=frozenset({widget_frame.FRAME_PATH}),
            ),
            # The coordinator app's forms are parsed only below this size.
            Middleware(
                BodyLimitMiddleware,
                limit=COORDINATOR_MAX_BODY_BYTES,
                prefixes=("/coordinator",),
                too_large=coordinator_too_large,
            ),
        ],
    )
    # Rate limits and open event streams: in Redis, shared by every app process, when
    # LOTSEN_REDIS_URL is set; else in this process (bot/shared_state.py). The lifespan
    # closes the Redis connections.
    app.state.shared = open_shared_state(settings)
    app.state.telegram_bots = bots
    app.state.rate_limits = app.state.shared.rate_limits
    return app
