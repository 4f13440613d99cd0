"""Channels that carry conversations to where people are: the JSON API (`api.py`), the web
widget (`widget/`) and Telegram (`telegram*.py`). Each one talks to the router
(bot/conversations/). No channel imports another, except that the widget's endpoints
check the conversation's token the way the API does (`api.authorised`)."""
