"""Keeps secrets in URLs out of the access log.

The calendar feed's address holds its secret (calendar programs cannot send headers), and
uvicorn's access log writes every request's path. This filter on the `uvicorn.access`
logger replaces the secret before any handler formats the line.
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
SECRET_PATHS = re.compile(r"/calendar/[^/?#\s\"]+\.ics")
REDACTED_PATH = "/calendar/[redacted].ics"


def redact(text: str) -> str:
    return SECRET_PATHS.sub(REDACTED_PATH, text)


class RedactSecretPaths(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn logs '%s - "%s %s HTTP/%s" %d' with the path as an argument.
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(argument) if isinstance(argument, str) else argument
                for argument in record.args
            )
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_access_log_filter() -> None:
    """Once per process, however many apps it makes."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, RedactSecretPaths) for existing in logger.filters):
        logger.addFilter(RedactSecretPaths())
