#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for the tests: `start DIR` creates a cluster in DIR, starts it
# on a free port on 127.0.0.1 and prints its URL; `stop DIR` stops it (DIR stays; remove
# it after). PostgreSQL refuses to run as root, so as root the cluster belongs to the
# `postgres` user Debian's package creates (or to `siyu-pg`, made here if neither exists).
#   url=$(scripts/pg-test-server.sh start /tmp/pg) && SIYU_TEST_PG_URL=$url ctest -R '^pg_'
set -euo pipefail
bin=${SIYU_PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi
[ -x "$bin/initdb" ] || { echo "pg-test-server: no $bin/initdb (install postgresql-15)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$owner" -- "$@"
  else
    "$@"
  fi
}

owner=$(id -un)
if [ "$(id -u)" = 0 ]; then
  if id postgres >/dev/null 2>&1; then
    owner=postgres
  else
    id siyu-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin siyu-pg
    owner=siyu-pg
  fi
fi

case "$cmd" in
start)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ "$(id -u)" = 0 ] && chown "$owner" "$dir" && chmod 700 "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  # A port nobody listens on; if another process takes it first, try the next one.
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      continue
    fi
    # fsync off: a test cluster need not survive the machine, only siyu's crashes
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c fsync=off -c full_page_writes=off -c max_connections=300" \
        start >/dev/null; then
      echo "postgresql://postgres@127.0.0.1:$port/postgres"
      exit 0
    fi
  done
  echo "pg-test-server: could not start PostgreSQL (see $dir/server.log)" >&2
  cat "$dir/server.log" >&2 || true
  exit 1
  ;;
stop)
  [ -d "$dir/data" ] || exit 0
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2
  exit 2
  ;;
esac
