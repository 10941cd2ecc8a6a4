#!/usr/bin/env bash
# Start (or reuse) a throwaway PostgreSQL server for the test suite and print its URL.
#
# Installs Debian's postgresql when it is missing and we are root (CI, a fresh machine),
# runs a private cluster under /tmp as the postgres user on port 55432, and creates a
# superuser role "dpl" (tests create and drop one database each). Idempotent.
set -euo pipefail

PORT="${DPL_TEST_PG_PORT:-55432}"
DATA="${DPL_TEST_PG_DATA:-/tmp/dpl-test-pg}"
URL="postgresql://dpl:dpl@127.0.0.1:${PORT}/postgres"

say() { echo "test-postgres: $*" >&2; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(pg_bin)" ]; then
  if [ "$(id -u)" != 0 ]; then
    say "PostgreSQL is not installed and we are not root: install it (apt-get install -y postgresql)"
    say "or set DPL_TEST_DATABASE_URL to a server where the user may CREATE DATABASE."
    exit 1
  fi
  say "installing PostgreSQL (apt-get install -y postgresql)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
BIN="$(pg_bin)"

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

if [ "$(id -u)" = 0 ] || [ "$(id -un)" = postgres ]; then
  if [ ! -s "$DATA/PG_VERSION" ]; then
    say "creating a test cluster in $DATA"
    mkdir -p "$DATA"
    chown postgres:postgres "$DATA"
    chmod 700 "$DATA"
    as_postgres "$BIN/initdb" -D "$DATA" -A trust -U postgres --no-sync >/dev/null
  fi
  if ! as_postgres "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    say "starting PostgreSQL on 127.0.0.1:$PORT"
    as_postgres "$BIN/pg_ctl" -D "$DATA" -w -l "$DATA/server.log" \
      -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
  fi
  as_postgres "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qAt -c \
    "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='dpl') THEN CREATE ROLE dpl LOGIN SUPERUSER PASSWORD 'dpl'; END IF; END\$\$;" >/dev/null
else
  say "not root: cannot start a private cluster; set DPL_TEST_DATABASE_URL instead"
  exit 1
fi
echo "$URL"
