#!/usr/bin/env bash
# Runs the whole test suite: unit tests, then real Asterisk 22 end-to-end tests, on SQLite
# and on PostgreSQL. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/ensure_postgres.sh
printf '\n== tests\n'
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
# pytest's 5 means no test ran: that is a failure here, never a pass
[ "$rc" = 5 ] && { echo "no tests ran" >&2; exit 1; }
exit "$rc"
