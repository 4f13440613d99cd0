"""Channels that carry conversations to where people are (Telegram); each one talks to the
router like the conversation API does."""
