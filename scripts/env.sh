# Sourced by the run scripts: every setting's development default, unless the environment
# (or .env, which honcho and the Makefile load) already sets it. .env.example documents them.
set -a
# The dotenv file (LOTSEN_ENV_FILE; unset: .env; empty: none, as the tests run) fills in
# what the environment does not already set; the environment wins.
env_file="${LOTSEN_ENV_FILE-.env}"
if [ -n "$env_file" ] && [ -f "$env_file" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) continue ;; esac
    key="${line%%=*}"
    [ -z "${!key+x}" ] && eval "$line"
  done < "$env_file"
fi
unset env_file
: "${LOTSEN_ENV:=development}"
: "${LOTSEN_HOST:=127.0.0.1}"
: "${LOTSEN_PORT:=8000}"
: "${LOTSEN_PUBLIC_URL:=http://localhost:${LOTSEN_PORT}}"
: "${DATABASE_URL:=sqlite:///$PWD/var/lotsen.db}"
: "${RASA_PORT:=5005}"
: "${RASA_URL:=http://127.0.0.1:${RASA_PORT}}"
: "${RASA_API_TOKEN:=change-me-rasa-api-token}"
: "${RASA_MODEL:=models}"
: "${ACTION_SERVER_PORT:=5055}"
: "${ACTION_SERVER_URL:=http://127.0.0.1:${ACTION_SERVER_PORT}}"
: "${NLG_URL:=http://127.0.0.1:${LOTSEN_PORT}/nlg}"
: "${NLG_TOKEN:=change-me-nlg-token}"
: "${RASA_CHANNEL_SECRET:=change-me-rasa-channel-secret}"
: "${ACTION_SERVER_SECRET:=change-me-action-server-secret}"
: "${RASA_TRACKER_URL:=sqlite:///$PWD/var/rasa-tracker.db}"
RASA_TELEMETRY_ENABLED=false
set +a
