"""The coordinator app's routes under /coordinator: server-rendered pages, a little script
for the live parts, no single-page framework. Every route but signing in goes through the
sign-in guard (`page`)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.coordinator import calendar, cases, conversation, queue, settings, signin
from bot.coordinator.rendering import HERE
from bot.coordinator.signin import page

routes: list[BaseRoute] = [
    Mount(
        "/coordinator",
        routes=[
            Route("/login", signin.login_page, methods=["GET"]),
            Route("/login", signin.login, methods=["POST"]),
            Route("/logout", page(signin.logout), methods=["POST"]),
            Route("/", page(queue.queue_page), methods=["GET"]),
            Route("/queue", page(queue.queue_fragment), methods=["GET"]),
            Route("/events", page(queue.queue_events), methods=["GET"]),
            Route(
                "/conversations/{conversation_id}",
                page(conversation.conversation_page),
                methods=["GET"],
            ),
            Route(
                "/conversations/{conversation_id}/transcript",
                page(conversation.transcript_fragment),
                methods=["GET"],
            ),
            Route(
                "/conversations/{conversation_id}/events",
                page(conversation.conversation_events),
                methods=["GET"],
            ),
            Route(
                "/conversations/{conversation_id}/take",
                page(conversation.take_conversation),
                methods=["POST"],
            ),
            Route(
                "/conversations/{conversation_id}/reply",
                page(conversation.reply),
                methods=["POST"],
            ),
            Route(
                "/conversations/{conversation_id}/preview",
                page(conversation.reply_preview),
                methods=["POST"],
            ),
            Route(
                "/conversations/{conversation_id}/note", page(conversation.note), methods=["POST"]
            ),
            Route(
                "/conversations/{conversation_id}/handback",
                page(conversation.hand_back_conversation),
                methods=["POST"],
            ),
            Route(
                "/conversations/{conversation_id}/close",
                page(conversation.close_conversation),
                methods=["POST"],
            ),
            Route("/cases", page(cases.cases_page), methods=["GET"]),
            Route("/cases/{case_id}", page(cases.case_page), methods=["GET"]),
            Route("/cases/{case_id}", page(cases.update_case), methods=["POST"]),
            Route("/cases/{case_id}/link-code", page(cases.case_link_code), methods=["POST"]),
            Route("/calendar", page(calendar.calendar_page), methods=["GET"]),
            Route("/slots", page(calendar.add_slot), methods=["POST"]),
            Route("/slots/{slot_id}/block", page(calendar.block_slot), methods=["POST"]),
            Route("/slots/{slot_id}/remove", page(calendar.remove_slot), methods=["POST"]),
            Route("/bookings/{booking_id}/cancel", page(calendar.cancel_booking), methods=["POST"]),
            Route("/settings", page(settings.settings_page), methods=["GET"]),
            Route("/settings", page(settings.save_settings), methods=["POST"]),
            Mount("/static", app=StaticFiles(directory=HERE / "static"), name="coordinator-static"),
        ],
    )
]
