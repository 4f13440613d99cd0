"""A reply for FakeRasa that runs the project's real actions in this process, so that a
test drives them through the gateway's HTTP API as a person (or an attacker) would: the
sender id is the gateway's conversation id, the metadata the gateway's, and every answer
is rendered from the content as the NLG endpoint would. Only the NLU is stood in for, by
a rule per action (`routes`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.nlg.render import render_response

Route = tuple[Callable[[str], bool], Action, str]


def _run(action: Action, tracker: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    failure: list[BaseException] = []

    def work() -> None:
        # The fake Rasa calls this on its own event loop; the action needs one of its own.
        try:
            asyncio.run(action.run(dispatcher, tracker, {}))
        except BaseException as error:  # re-raised in the caller's thread
            failure.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    messages: list[dict[str, Any]] = dispatcher.messages
    return messages


def actions_reply(routes: list[Route]) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    """FakeRasa.reply that hands a message to the first route whose rule matches it."""

    def reply(body: dict[str, Any]) -> list[dict[str, Any]]:
        text, metadata = str(body["message"]), dict(body.get("metadata") or {})
        route = next((route for route in routes if route[0](text)), None)
        if route is None:
            return [{"recipient_id": body["sender"], "text": f"bot: {text}"}]
        _, action, intent = route
        latest = {"text": text, "intent": {"name": intent}, "entities": [], "metadata": metadata}
        tracker = Tracker(body["sender"], {}, latest, [], False, None, {}, "")
        out: list[dict[str, Any]] = []
        for message in _run(action, tracker):
            if message.get("response"):
                rendered = render_response(
                    message["response"], metadata.get("language"), metadata.get("municipality")
                )
                out.append({"text": rendered.text, "buttons": rendered.buttons})
            else:
                out.append({"text": message.get("text"), "buttons": message.get("buttons") or []})
        return [{"recipient_id": body["sender"], **m} for m in out if m["text"]]

    return reply
