#!/usr/bin/env bash
# The action server (rasa-sdk), 127.0.0.1 only.
set -eu
cd "$(dirname "$0")/.."
. scripts/env.sh
export SANIC_HOST=127.0.0.1
exec .venv/bin/python -m rasa_sdk --actions actions --port "$ACTION_SERVER_PORT"
