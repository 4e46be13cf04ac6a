#!/usr/bin/env bash
# Services for the service tests: a private PostgreSQL server, Debian's chromium and a CJK font.
#
#   source .ci/services.sh        # from .ci/run (as root); exports MINYI_TEST_POSTGRES_URL
#   bash .ci/services.sh          # same, prints the URL
#
# Idempotent: installs only what is missing (apt), initialises the cluster once, starts it unless
# it is already running. The cluster is private to the tests (its own data directory and port, trust
# authentication on 127.0.0.1 only) and leaves the distribution's default cluster alone.
# Safe under `set -euo pipefail`; changes no shell option of the caller.
# Settings: MINYI_PG_PORT (55432), MINYI_PG_DATA (/var/tmp/minyi-pg), MINYI_PG_DB (minyi_test).

_minyi_services() {
  local port="${MINYI_PG_PORT:-55432}"
  local data="${MINYI_PG_DATA:-/var/tmp/minyi-pg}"
  local db="${MINYI_PG_DB:-minyi_test}"
  local need=() pkg bindir

  for pkg in postgresql chromium fonts-wqy-microhei; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  if [ "${#need[@]}" -gt 0 ]; then
    echo "services: installing ${need[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2
  fi

  bindir="$( (find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null || true) | sort -V | tail -n 1)"
  if [ -z "$bindir" ] || [ ! -x "$bindir/pg_ctl" ]; then
    echo "services: PostgreSQL binaries not found under /usr/lib/postgresql" >&2
    return 1
  fi

  _minyi_as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
  }

  if [ ! -s "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$data"; fi
    chmod 700 "$data"
    _minyi_as_postgres "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >&2
  fi
  if ! _minyi_as_postgres "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    _minyi_as_postgres "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $data -c fsync=off -c max_connections=200" start >&2
  fi
  if [ "$(_minyi_as_postgres "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]; then
    _minyi_as_postgres "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
  fi

  export MINYI_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/$db"
  echo "MINYI_TEST_POSTGRES_URL=$MINYI_TEST_POSTGRES_URL"
}

_minyi_services
unset -f _minyi_services _minyi_as_postgres
