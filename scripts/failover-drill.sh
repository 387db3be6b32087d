#!/usr/bin/env bash
# A failover drill: a siyu node writing orders to a PostgreSQL primary with a synchronous
# streaming replica; the primary is stopped (immediate: a crash) and the replica promoted
# while the node goes on; the node finds the new primary by itself (its URL names both
# hosts with target_session_attrs=read-write); every order the node acknowledged is on the
# new primary exactly once, and `siyu check` is clean there. docs/operations.md, "Failover".
#
#   scripts/failover-drill.sh SIYU [WORKDIR]     (SIYU: the siyu binary)
#
# Exits 0 when the drill holds, 1 when it does not, 77 when PostgreSQL's binaries are absent
# (CTest's pg_failover_drill is then skipped). Prints what it measured.
set -euo pipefail
bin=${SIYU_PG_BIN:-/usr/lib/postgresql/15/bin}
siyu=${1:?usage: failover-drill.sh SIYU [WORKDIR]}
for b in initdb pg_ctl pg_basebackup psql; do
    [ -x "$bin/$b" ] || command -v "$b" >/dev/null || {
        echo "failover-drill: skipped: no $bin/$b (install postgresql-15)"
        exit 77
    }
done
psql=$bin/psql
[ -x "$psql" ] || psql=$(command -v psql)
keep=${2:+1} # a WORKDIR given is kept
work=${2:-$(mktemp -d /tmp/siyu-failover-XXXXXX)}
mkdir -p "$work"
work=$(cd "$work" && pwd)

# PostgreSQL refuses to run as root: as root the clusters belong to `postgres` (or siyu-pg),
# as scripts/pg-test-server.sh does it
owner=$(id -un)
if [ "$(id -u)" = 0 ]; then
    if id postgres >/dev/null 2>&1; then owner=postgres; else
        id siyu-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin siyu-pg
        owner=siyu-pg
    fi
    chown "$owner" "$work"
fi
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u "$owner" -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

node_pid=""
writer_pid=""
cleanup() {
    [ -n "$writer_pid" ] && kill "$writer_pid" 2>/dev/null || true
    [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    for d in primary standby; do
        [ -d "$work/$d" ] && as_owner "$bin/pg_ctl" -D "$work/$d" -m immediate -w stop >/dev/null 2>&1 || true
    done
    [ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT

pgopts() { echo "-p $1 -c listen_addresses=127.0.0.1 -c unix_socket_directories=$work -c max_connections=100"; }
# DIR -> starts PostgreSQL on a free port and prints it. PostgreSQL is given its port: one free
# a moment ago may be taken by the time it binds (tests run side by side), so a start that
# fails is tried again on another.
pg_start() {
    local p
    for _ in 1 2 3 4 5; do
        p=$(free_port)
        if as_owner "$bin/pg_ctl" -D "$work/$1" -l "$work/$1.log" -w -t 60 -o "$(pgopts "$p")" \
            start >/dev/null; then
            echo "$p"
            return 0
        fi
    done
    echo "failover-drill: PostgreSQL ($1) did not start" >&2
    tail -5 "$work/$1.log" >&2
    return 1
}

as_owner "$bin/initdb" -D "$work/primary" -U postgres --auth=trust -E UTF8 --locale=C \
    >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; exit 1; }
p1=$(pg_start primary)
echo "== primary on $p1"
"$psql" "postgresql://postgres@127.0.0.1:$p1/postgres" -qc "CREATE DATABASE drill"

as_owner "$bin/pg_basebackup" -h 127.0.0.1 -p "$p1" -U postgres -D "$work/standby" -R -X stream -c fast
p2=$(pg_start standby)
echo "== streaming replica on $p2 (pg_basebackup -R)"
for _ in $(seq 100); do
    n=$("$psql" "postgresql://postgres@127.0.0.1:$p1/postgres" -Atc \
        "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
    [ "$n" = 1 ] && break
    sleep 0.1
done
# a commit returns when the replica has it: what the node acknowledges survives the primary
"$psql" "postgresql://postgres@127.0.0.1:$p1/postgres" -qc \
    "ALTER SYSTEM SET synchronous_standby_names = '*'" -c "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 100); do
    s=$("$psql" "postgresql://postgres@127.0.0.1:$p1/postgres" -Atc \
        "SELECT sync_state FROM pg_stat_replication")
    [ "$s" = sync ] && break
    sleep 0.1
done
[ "$s" = sync ] || { echo "failover-drill: the replica is not synchronous ($s)" >&2; exit 1; }

url="postgresql://postgres@127.0.0.1:$p1,127.0.0.1:$p2/drill?target_session_attrs=read-write&connect_timeout=2"
"$siyu" init --db "$url" >/dev/null
token=$("$siyu" token create --db "$url" --role admin)
# the node listens on a port the system picks and names it in its banner
SIYU_TICK_SECONDS=1 "$siyu" serve --db "$url" --listen 127.0.0.1:0 --access-log off \
    >"$work/node.log" 2>&1 &
node_pid=$!
port=""
for _ in $(seq 300); do
    [ -n "$port" ] ||
        port=$(sed -n 's|^siyu: serving .* on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$work/node.log" 2>/dev/null || true)
    [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
done
[ -n "$port" ] || { echo "failover-drill: the node did not start" >&2; cat "$work/node.log" >&2; exit 1; }
api() { curl -s --max-time 5 -o "$work/answer" -w '%{http_code}' -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -X "$1" "http://127.0.0.1:$port/api/v1/$2" --data "$3" 2>/dev/null || true; }
[ "$(api POST stores '{"name":"drill","code":"D1","kind":"physical"}')" = 201 ] ||
    { echo "failover-drill: cannot make a store: $(cat "$work/answer")" >&2; exit 1; }

# the writer: one order after another, each acknowledged one (2xx with its id) noted;
# a failed one is retried under the same key until it is acknowledged, as a till does
: >"$work/acked"
: >"$work/failed"
(
    i=0
    while [ ! -e "$work/stop" ]; do
        i=$((i + 1))
        body="{\"channel\":\"store\",\"external_id\":\"F$i\",\"store_id\":1,\"placed_at\":\"2026-11-20T10:00:00+08:00\",\"total_cents\":1200,\"items\":[{\"sku\":\"A\",\"qty\":3,\"unit_price_cents\":400}]}"
        while [ ! -e "$work/stop" ]; do
            code=$(api POST orders "$body")
            case "$code" in
            200 | 201) echo "F$i $(jq -r .id "$work/answer") $(date +%s.%N)" >>"$work/acked"; break ;;
            *) echo "F$i $code $(date +%s.%N)" >>"$work/failed"; sleep 0.05 ;;
            esac
        done
    done
) &
writer_pid=$!
acked() { wc -l <"$work/acked"; }
wait_acked() { # n seconds -> waits until n orders are acknowledged
    for _ in $(seq $(($2 * 10))); do [ "$(acked)" -ge "$1" ] && return 0; sleep 0.1; done
    return 1
}
wait_acked 50 60 || { echo "failover-drill: the node did not write" >&2; exit 1; }

before=$(acked)
echo "== $before orders acknowledged; the primary stops (immediate) and the replica is promoted"
t0=$(date +%s.%N)
as_owner "$bin/pg_ctl" -D "$work/primary" -m immediate -w stop >/dev/null
sleep 1
as_owner "$bin/pg_ctl" -D "$work/standby" -w promote >/dev/null
t1=$(date +%s.%N)
if ! wait_acked $((before + 50)) 60; then
    echo "failover-drill: the node did not come back on the new primary" >&2
    tail -5 "$work/node.log" >&2
    exit 1
fi
touch "$work/stop"
wait "$writer_pid" || true
writer_pid=""
kill "$node_pid"
wait "$node_pid" 2>/dev/null || true
node_pid=""

# every acknowledged order on the new primary, once, with the id the node answered
new="postgresql://postgres@127.0.0.1:$p2/drill"
total=$(acked)
awk '{ print $1 "," $2 }' "$work/acked" >"$work/acked.csv"
"$psql" "$new" -qc "CREATE TABLE drill_acked (external_id TEXT, id BIGINT)" \
    -c "\\copy drill_acked FROM '$work/acked.csv' WITH (FORMAT csv)"
missing=$("$psql" "$new" -Atc "SELECT count(*) FROM drill_acked a WHERE NOT EXISTS
    (SELECT 1 FROM orders o WHERE o.channel = 'store' AND o.external_id = a.external_id
     AND o.id = a.id)")
twice=$("$psql" "$new" -Atc "SELECT count(*) FROM (SELECT external_id FROM orders
    GROUP BY channel, external_id HAVING count(*) > 1) d")
stored=$("$psql" "$new" -Atc "SELECT count(*) FROM orders")
"$psql" "$new" -qc "DROP TABLE drill_acked"
first_after=$(awk -v t="$t1" '$3 > t { print $3; exit }' "$work/acked")
check=$("$siyu" check --db "$new" 2>&1) && checked=clean || checked="not clean: $check"
failed=$(wc -l <"$work/failed")

printf '%-52s %s\n' \
    "orders acknowledged before the failover" "$before" \
    "orders acknowledged in all" "$total" \
    "orders on the new primary" "$stored" \
    "acknowledged orders missing there" "$missing" \
    "orders stored twice" "$twice" \
    "failed attempts (retried under the same key)" "$failed" \
    "primary stopped -> replica promoted (s)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" \
    "promoted -> first acknowledged order (s)" "$(awk -v a="$t1" -v b="$first_after" 'BEGIN { printf "%.1f", b - a }')" \
    "siyu check on the new primary" "$checked"
# a till retries what was not acknowledged, so the store may hold one more order than the
# acknowledgements (the commit that reached the replica while its answer was lost)
[ "$missing" = 0 ] && [ "$twice" = 0 ] && [ "$checked" = clean ] &&
    [ "$stored" -ge "$total" ] && [ "$stored" -le $((total + 1)) ] || {
    echo "failover-drill: FAILED" >&2
    exit 1
}
echo "failover-drill: every acknowledged order survived, once"
