#!/usr/bin/env bash
# Starts a private PostgreSQL for the store's conformance tests and prints
# the URL to reach it (CARNOT_TEST_POSTGRES). Installs Debian's postgresql
# when its server binaries are missing. Usage: eval "$(.ci/postgres.sh)"
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
dir=$(mktemp -d /tmp/carnot-pg.XXXXXX)
chown postgres "$dir"
port=${CARNOT_PG_PORT:-55432}
runuser -u postgres -- "$bin/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1
runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -w -l "$dir/server.log" \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >&2
echo "export CARNOT_TEST_POSTGRES='postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable'"
echo "export CARNOT_PG_DIR='$dir'"
