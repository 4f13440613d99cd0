#!/usr/bin/env bash
# The Rasa server: 127.0.0.1 only, HTTP API behind a token, telemetry off.
set -eu
cd "$(dirname "$0")/.."
. scripts/env.sh
mkdir -p var
if [ -z "${RASA_API_TOKEN}" ]; then
  echo "RASA_API_TOKEN is empty: Rasa's HTTP API would answer anyone" >&2
  exit 1
fi
exec .venv-rasa/bin/rasa run --enable-api --auth-token="$RASA_API_TOKEN" \
  --interface 127.0.0.1 --port "$RASA_PORT" --model "$RASA_MODEL" \
  --endpoints "${RASA_ENDPOINTS:-endpoints.yml}" --credentials credentials.yml
