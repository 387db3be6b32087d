#!/bin/bash
# bench/nodes/run.sh — several nodes on one PostgreSQL (issue 19): write rates and follow delay.
#
#   bench/nodes/run.sh --pg URL [--members N] [--seconds S] [--conns C]
#
# URL names a PostgreSQL server (scripts/pg-test-server.sh start DIR prints one); the script
# makes its own database there. It builds the demo chain into it (siyu demo --no-serve), then
# drives POST /api/v1/orders with bench_loadgen (C keep-alive clients) for S seconds:
#   1. one node,
#   2. two nodes at once (C/2 clients each),
# and prints orders/s for each with the ratio two/one, then the store's size per member
# (pg_database_size) beside a SQLite demo store's of the same chain. Writes of all nodes queue
# on the store's one write lock, so the ratio says how much of a write's cost is the node's own
# work (HTTP, JSON, the domain) rather than the database's.
set -euo pipefail

members=20000
seconds=10
conns=32
pg=""
while [ $# -gt 0 ]; do
    case "$1" in
    --pg) pg=$2; shift 2 ;;
    --members) members=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -n "$pg" ] || { echo "run.sh: --pg URL is required" >&2; exit 2; }

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SIYU_BENCH_BUILD:-$root/build-bench}
out=$(mktemp -d /tmp/siyu-bench-nodes-XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSIYU_WERROR=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target siyu bench_loadgen >/dev/null
siyu=$build/src/cli/siyu
loadgen=$build/bench/core/bench_loadgen

server=${pg%/*}
dbname=siyu_bench_nodes_$$
psql "$server/postgres" -qc "CREATE DATABASE $dbname"
url=$server/$dbname
trap 'kill $(jobs -p) 2>/dev/null || true; psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $dbname WITH (FORCE)"; rm -rf "$out"' EXIT

echo "== demo chain of $members members on PostgreSQL and on SQLite"
"$siyu" demo --no-serve --members "$members" --db "$url" >/dev/null 2>&1
"$siyu" demo --no-serve --members "$members" --db "$out/d.db" >/dev/null 2>&1
token=$("$siyu" token create --db "$url" --role admin)

# NAME -> starts a node on a port the system picks (named in its banner), sets port to it once
# /healthz answers
serve() {
    SIYU_TICK_SECONDS=0 SIYU_SWEEP_SECONDS=0 "$siyu" serve --db "$url" --listen 127.0.0.1:0 \
        --access-log off >"$out/serve-$1.out" 2>"$out/serve-$1.log" &
    for _ in $(seq 300); do
        port=$(sed -n 's|^siyu: serving .* on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$out/serve-$1.out" 2>/dev/null || true)
        [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return
        sleep 0.1
    done
    echo "run.sh: node $1 did not start" >&2; exit 1
}
rate_of() { grep -o 'rate=[0-9.]*' "$1" | head -1 | cut -d= -f2; }

serve a; p1=$port
serve b; p2=$port
echo "== POST /orders, one node, $conns clients, ${seconds}s"
"$loadgen" --port "$p1" --token "$token" --mode orders --conns "$conns" --seconds "$seconds" \
    --members "$members" --run-id one >"$out/one.txt"
one=$(rate_of "$out/one.txt")
echo "== POST /orders, two nodes, $((conns / 2)) clients each, ${seconds}s"
"$loadgen" --port "$p1" --token "$token" --mode orders --conns $((conns / 2)) \
    --seconds "$seconds" --members "$members" --run-id twoa >"$out/a.txt" &
apid=$!
"$loadgen" --port "$p2" --token "$token" --mode orders --conns $((conns / 2)) \
    --seconds "$seconds" --members "$members" --run-id twob >"$out/b.txt"
wait "$apid"
a=$(rate_of "$out/a.txt"); b=$(rate_of "$out/b.txt")
two=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", a + b }')

pgbytes=$(psql "$url" -Atc "SELECT pg_database_size(current_database())")
litebytes=$(stat -c %s "$out/d.db")
printf '%-44s %s\n' "POST /orders, one node (orders/s)" "$one" \
    "POST /orders, two nodes (orders/s)" "$two" \
    "ratio two nodes / one" "$(awk -v a="$two" -v b="$one" 'BEGIN { printf "%.2f", a / b }')" \
    "PostgreSQL bytes per member (demo + load)" "$(awk -v a="$pgbytes" -v m="$members" 'BEGIN { printf "%.0f", a / m }')" \
    "SQLite bytes per member (demo)" "$(awk -v a="$litebytes" -v m="$members" 'BEGIN { printf "%.0f", a / m }')"
