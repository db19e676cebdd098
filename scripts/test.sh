#!/usr/bin/env bash
# Runs the whole test suite: unit tests, then real Asterisk 22 end-to-end tests, on SQLite
# and on PostgreSQL. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/ensure_postgres.sh
printf '\n== layers (import-linter, .importlinter)\n'
.venv/bin/lint-imports --no-cache
printf '\n== tests\n'
set +e
# Three lanes side by side; the tests wait mostly on real calls, so the machine has room:
# - the PostgreSQL halves of the tests (`-m postgres`, slot 1: its own Asterisk instance and
#   ports, the PostgreSQL database `test`), in the background;
# - everything else here (slot 0: SQLite, unit tests, store tests on their own databases);
# - the fault matrix (`-m faults`, slot 2, both databases, PostgreSQL database `test_faults`),
#   then the cluster (`-m cluster`, slot 6: Asterisk nodes in network namespaces behind
#   Kamailio, database `test_cluster`), in the background. The fault tests kill and restart
#   only their own slot's Asterisk and engine.
# HOTLINE_TEST_SERIAL=1 runs everything in one process.
if [ "${HOTLINE_TEST_SERIAL:-0}" = 1 ]; then
  .venv/bin/python -m pytest "$@"
  rc=$?
else
  mkdir -p build
  # Each run has a time limit (seconds) so that a hang fails the suite with its log inside CI's
  # 90 minutes, instead of a timeout that shows nothing; pytest-timeout fails a single test
  # that hangs after 10 minutes (pyproject.toml).
  t0=$SECONDS
  clock() { printf '[%d:%02d] %s\n' $(((SECONDS - t0) / 60)) $(((SECONDS - t0) % 60)) "$*"; }
  limit() { local secs=$1; shift; timeout --kill-after=30 "$secs" "$@"; }
  pg_log=build/test-postgres.log
  faults_log=build/test-faults.log
  cluster_log=build/test-cluster.log
  # A case known to fail is listed here until fixed (and said in its issue's note), so that
  # it is not counted as passing. None now: the two PostgreSQL fault cases left out before
  # failed because the demo phones' baresip spun a core per call (acd/softphones.py).
  known_failing=()
  deselect=(); for t in "${known_failing[@]}"; do deselect+=(--deselect "$t"); done
  clock "tests: SQLite half here; PostgreSQL half, then fault matrix and cluster, beside it"
  HOTLINE_TEST_SLOT=1 limit 2400 .venv/bin/python -m pytest -p no:cacheprovider --durations=8 \
    -m "postgres and not faults" "$@" > "$pg_log" 2>&1 &
  pg_pid=$!
  (
    HOTLINE_TEST_SLOT=2 HOTLINE_TEST_PG_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test_faults \
      limit 1200 .venv/bin/python -m pytest -p no:cacheprovider -s --durations=8 -m faults -k "not with_100" \
      ${deselect[@]+"${deselect[@]}"} "$@" > "$faults_log" 2>&1
    echo $? > build/.rc-faults
    HOTLINE_TEST_SLOT=6 limit 900 .venv/bin/python -m pytest -p no:cacheprovider -s -m cluster "$@" \
      > "$cluster_log" 2>&1
    echo $? > build/.rc-cluster
    # the fault cases at 100 calls last: by then the two database halves are (nearly) done,
    # and their 100 calls at once do not crowd the PostgreSQL half's 60 s database cut
    HOTLINE_TEST_SLOT=2 HOTLINE_TEST_PG_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test_faults \
      limit 600 .venv/bin/python -m pytest -p no:cacheprovider -s --durations=4 -m faults -k with_100 \
      "$@" >> "$faults_log" 2>&1
    r=$?; [ "$r" != 0 ] && [ "$r" != 5 ] && echo "$r" > build/.rc-faults
  ) &
  lane_pid=$!
  limit 2400 .venv/bin/python -m pytest --durations=8 -m "not postgres and not faults" "$@"
  rc_rest=$?
  clock "SQLite half done (rc=$rc_rest; 124 = over the time limit)"
  wait "$pg_pid"
  rc_pg=$?
  printf '\n== tests on PostgreSQL (run beside the others; log %s)\n' "$pg_log"
  clock "PostgreSQL half done (rc=$rc_pg)"
  if [ "$rc_pg" = 0 ] || [ "$rc_pg" = 5 ]; then tail -n 20 "$pg_log"; else cat "$pg_log"; fi
  wait "$lane_pid"
  rc_faults=$(cat build/.rc-faults 2>/dev/null || echo 1)
  rc_cluster=$(cat build/.rc-cluster 2>/dev/null || echo 1)
  printf '\n== fault matrix (beside the others; log %s)\n' "$faults_log"
  if [ "$rc_faults" = 0 ] || [ "$rc_faults" = 5 ]; then grep '^FAULT ' "$faults_log" || true; tail -n 14 "$faults_log"
  else cat "$faults_log"; fi
  printf '\n== cluster (after the fault matrix; log %s)\n' "$cluster_log"
  if [ "$rc_cluster" = 0 ] || [ "$rc_cluster" = 5 ]; then grep '^CLUSTER ' "$cluster_log" || true; tail -n 8 "$cluster_log"
  else cat "$cluster_log"; fi
  clock "all done (faults rc=$rc_faults, cluster rc=$rc_cluster)"
  # 5 = no test selected: fine for some runs (e.g. only unit tests asked for), not for all
  rc=0
  for r in "$rc_rest" "$rc_pg" "$rc_faults" "$rc_cluster"; do
    if [ "$r" != 0 ] && [ "$r" != 5 ]; then rc=$r; break; fi
  done
  if [ "$rc" = 0 ] && [ "$rc_rest" = 5 ] && [ "$rc_pg" = 5 ] && [ "$rc_faults" = 5 ] && [ "$rc_cluster" = 5 ]; then rc=5; fi
fi
[ "$rc" = 5 ] && { echo "no tests ran" >&2; exit 1; }
exit "$rc"
