"""The handoff between the assistant and the coordinator: the state machine
(`state_machine.py`) and the recognition of urgent messages (`urgent.py`)."""

# Until bot/coordinator/ imports these from bot.handoff.state_machine (issue 19, merged with
# the coordinator's refactoring), its old import path keeps working. Remove then.
from bot.handoff.state_machine import HandoffReason, close, hand_back, take

__all__ = ["HandoffReason", "close", "hand_back", "take"]
