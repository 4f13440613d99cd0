"""The web channel: the chat widget a municipality's site embeds with one script tag. Its
settings (`config.py`), the event stream that brings coordinator replies, reminders and
state changes to the open page (`events.py`, reading `store.py`), and the demo page with
the widget's files (`pages.py`, `static/`). The widget sends and fetches messages through
the conversation API (bot/channels/api.py); its sources are in widget/ at the top level."""
