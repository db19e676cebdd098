#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 with a database `test`:
# uses a running one, else starts an installed cluster, else installs one. Never skips.
set -euo pipefail
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_isready >/dev/null 2>&1; then
  echo "postgres: installing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql
fi
if ! ready; then
  echo "postgres: starting the local cluster"
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 30); do ready && break; sleep 1; done
fi
ready || { echo "postgres: not reachable on 127.0.0.1:5432" >&2; exit 1; }
if ! psql -h 127.0.0.1 -U postgres -d postgres -c 'select 1' >/dev/null 2>&1; then
  # a freshly installed cluster asks for passwords on loopback: trust it there, as CI does
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  grep -q '^host all all 127.0.0.1/32 trust' "$hba" || sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
  sleep 1
fi
# `test`: the PostgreSQL half of the suite; `test_faults`: the fault matrix, run beside it
for db in test test_faults; do
  if ! psql -h 127.0.0.1 -U postgres -d "$db" -c 'select 1' >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -d postgres -q -c "create database $db"
  fi
done
echo "postgres: ready (127.0.0.1:5432, databases test, test_faults)"
