#!/usr/bin/env bash
# Runs the hotline: installs what is missing, starts Asterisk, the engine, the HTTP API and
# the demo agents' SIP phones, on SQLite unless HOTLINE_DB_URL says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/hotline run "$@"
