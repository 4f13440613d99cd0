"""Conversations: the gateway's store, the router, the control messages from the actions,
and machine translation inside a conversation. Every channel talks to the router."""
