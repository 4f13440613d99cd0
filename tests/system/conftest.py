"""The tests here start the real processes (Rasa, the action server, the app) and drive them
over HTTP or through a real browser."""

from tests.support.browser import browser, page  # noqa: F401 - a browser per browser-test module
from tests.support.running import system  # noqa: F401 - one running system for the whole session
