#!/usr/bin/env bash
# The app: conversation API, NLG endpoint, health checks.
set -eu
cd "$(dirname "$0")/.."
. scripts/env.sh
exec .venv/bin/uvicorn bot.app:create_app --factory --host "$LOTSEN_HOST" --port "$LOTSEN_PORT" \
  --no-server-header --no-proxy-headers
