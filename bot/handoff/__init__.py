"""The handoff between the assistant and the coordinator: the state machine
(`state_machine.py`) and the recognition of urgent messages (`urgent.py`)."""
