"""rasa-sdk's plugin hook: the action server imports a package of this name at start-up
and calls `init_hooks`. Lotsen's plugin is in bot/action_server.py."""

from bot.action_server import init_hooks

__all__ = ["init_hooks"]
