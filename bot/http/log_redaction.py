"""Secrets and personal data out of the access log.

uvicorn's access log writes every request's path: a coordinator's calendar feed address is
a secret (`/calendar/<token>.ics`), and query strings carry what people typed (the case
search's `?q=<name>`). The filter rewrites both before the line is written."""

from __future__ import annotations

import logging
import re

_CALENDAR = re.compile(r"^/calendar/[^/?]+\.ics")


def redact_path(path: str) -> str:
    path = _CALENDAR.sub("/calendar/[redacted].ics", path)
    base, question, _query = path.partition("?")
    return f"{base}?[redacted]" if question else base


class RedactAccessLog(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access record: (client address, method, path with query, HTTP version,
        # status code).
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_path(args[2]), args[3], args[4])
        return True


def install() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, RedactAccessLog) for existing in access.filters):
        access.addFilter(RedactAccessLog())
