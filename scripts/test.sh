#!/usr/bin/env bash
# Runs the whole test suite: unit tests, then real Asterisk 22 end-to-end tests, on SQLite
# and on PostgreSQL. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/ensure_postgres.sh
printf '\n== tests\n'
set +e
# Two runs side by side (each waits mostly on real calls): the PostgreSQL halves of the
# tests (`-m postgres`, slot 1: its own Asterisk instance and ports) and everything else.
# HOTLINE_TEST_SERIAL=1 runs everything in one process.
if [ "${HOTLINE_TEST_SERIAL:-0}" = 1 ]; then
  .venv/bin/python -m pytest "$@"
  rc=$?
else
  mkdir -p build
  pg_log=build/test-postgres.log
  HOTLINE_TEST_SLOT=1 .venv/bin/python -m pytest -p no:cacheprovider -m postgres "$@" > "$pg_log" 2>&1 &
  pg_pid=$!
  .venv/bin/python -m pytest -m "not postgres" "$@"
  rc_rest=$?
  wait "$pg_pid"
  rc_pg=$?
  printf '\n== tests on PostgreSQL (run beside the others; log %s)\n' "$pg_log"
  if [ "$rc_pg" = 0 ] || [ "$rc_pg" = 5 ]; then tail -n 8 "$pg_log"; else cat "$pg_log"; fi
  # 5 = no test selected: fine for one half (e.g. only unit tests asked for), not for both
  if [ "$rc_rest" = 5 ] && [ "$rc_pg" = 5 ]; then rc=5
  elif [ "$rc_rest" != 0 ] && [ "$rc_rest" != 5 ]; then rc=$rc_rest
  elif [ "$rc_pg" != 0 ] && [ "$rc_pg" != 5 ]; then rc=$rc_pg
  else rc=0
  fi
fi
[ "$rc" = 5 ] && { echo "no tests ran" >&2; exit 1; }
exit "$rc"
