"""Conversations: the gateway's store, the router and the conversation API."""
