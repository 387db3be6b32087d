#!/bin/bash
# bench/core/run.sh — the core's performance figures (issue 2, "Performance").
#
#   bench/core/run.sh [--members N] [--seconds S] [--conns C] [--only import|http] [--pg URL]
#
# Builds Release into build-bench/, generates the demo chain (siyu gen, default 100 000
# members, ~1.5 million orders) into bench/out/core/, then:
#   import  siyu import orders (NDJSON, with items and inline refunds) into a store holding
#           the chain's brands, stores, staff and members, against the sqlite3 shell's
#           .import of the same rows as CSV (orders, order_items, refunds) into a copy of
#           that same store; prints orders/s for each and the ratio siyu/sqlite3.
#   http    siyu demo --no-serve builds the demo store; siyu serve --access-log off is driven
#           by bench_loadgen: POST /api/v1/orders with C keep-alive clients (SIYU_SYNC=full,
#           the default, and SIYU_SYNC=normal), GET /api/v1/members/{id} at the same
#           concurrency (a first pass keeps every 360, then the measured one; then again
#           while 16 clients post orders, with the share answered from memory) against a
#           minimal libmicrohttpd responder; the orders' rows written by plain SQL on one
#           thread (bench_plain_orders, the storage floor under POST); resident memory idle
#           and after the GET load.
#   --pg    also on PostgreSQL (URL of a server, e.g. scripts/pg-test-server.sh's; the bench
#           makes and drops its own databases there): the same import into a fresh database,
#           the same loads on a PostgreSQL demo store, each printed beside SQLite's with the
#           ratio PostgreSQL / SQLite.
# Environment: SIYU_BENCH_BUILD (build dir), SIYU_BENCH_OUT (work dir).
set -euo pipefail

members=100000
seconds=10
conns=64
only=""
pg=""
while [ $# -gt 0 ]; do
    case "$1" in
    --members) members=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --pg) pg=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SIYU_BENCH_BUILD:-$root/build-bench}
out=${SIYU_BENCH_OUT:-$root/bench/out/core}
mkdir -p "$out"

command -v sqlite3 >/dev/null || { echo "run.sh: needs the sqlite3 shell (apt-get install -y sqlite3)" >&2; exit 2; }

echo "== building Release into $build"
# warnings are not errors here: gcc -O3 warns about things -O2 does not, and a benchmark
# should measure the code, not fail on a new warning
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSIYU_WERROR=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target siyu bench_orders2csv bench_loadgen bench_minimal \
    bench_plain_orders >/dev/null
siyu=$build/src/cli/siyu
conv=$build/bench/core/bench_orders2csv
loadgen=$build/bench/core/bench_loadgen

now() { date +%s.%N; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", n / t }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
q() { sqlite3 "$1" "$2"; }

results=()
add() { results+=("$(printf '%-44s %s' "$1" "$2")"); }

# ------------------------------------------------------------------ import
bench_import() {
    local data=$out/data-$members
    if [ ! -s "$data/orders.ndjson" ]; then
        echo "== siyu gen --members $members"
        rm -rf "$data"
        local t0; t0=$(now)
        "$siyu" gen --out "$data" --members "$members" >/dev/null
        echo "   generated in $(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}') s"
    fi
    local A=$out/import-siyu.db B=$out/import-sqlite3.db csv=$out/csv-$members
    rm -f "$A"* "$B"*
    echo "== loading brands, stores, staff, members into a fresh store"
    "$siyu" init --db "$A" >/dev/null
    for k in brands stores staff members; do
        "$siyu" import "$k" "$data/$k.ndjson" --db "$A" >/dev/null
    done
    q "$A" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
    cp "$A" "$B"
    if [ ! -s "$csv/orders.csv" ]; then
        echo "== converting orders.ndjson to CSV (not timed)"
        mkdir -p "$csv"
        "$conv" "$data/members.ndjson" "$data/orders.ndjson" "$csv"
    fi
    sync
    local orders; orders=$(wc -l <"$data/orders.ndjson")
    echo "== siyu import orders ($orders orders)"
    local t0 t1 ts tq
    t0=$(now)
    "$siyu" import orders "$data/orders.ndjson" --db "$A"
    t1=$(now); ts=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
    echo "== sqlite3 .import of the same rows as CSV"
    t0=$(now)
    sqlite3 "$B" ".mode csv" ".import --skip 1 $csv/orders.csv orders" \
        ".import --skip 1 $csv/order_items.csv order_items" ".import --skip 1 $csv/refunds.csv refunds"
    t1=$(now); tq=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
    local so si sr qo qi qr
    so=$(q "$A" "select count(*) from orders"); si=$(q "$A" "select count(*) from order_items")
    sr=$(q "$A" "select count(*) from refunds")
    qo=$(q "$B" "select count(*) from orders"); qi=$(q "$B" "select count(*) from order_items")
    qr=$(q "$B" "select count(*) from refunds")
    echo "   siyu:    $so orders, $si items, $sr refunds in $ts s"
    echo "   sqlite3: $qo orders, $qi items, $qr refunds in $tq s"
    local rs rq
    rs=$(rate "$so" "$ts"); rq=$(rate "$qo" "$tq")
    add "import orders: siyu (NDJSON)" "$rs orders/s  ($so orders in $ts s)"
    add "import orders: sqlite3 shell .import (CSV)" "$rq orders/s  ($qo orders in $tq s)"
    add "import ratio siyu / sqlite3" "$(ratio "$rs" "$rq")   (goal: >= 1.00, and >= 200000 orders/s)"
    [ -n "$pg" ] || return 0
    echo "== siyu import orders on PostgreSQL"
    local db; db=$(pg_fresh import)
    "$siyu" init --db "$db" >/dev/null
    for k in brands stores staff members; do
        "$siyu" import "$k" "$data/$k.ndjson" --db "$db" >/dev/null
    done
    t0=$(now)
    "$siyu" import orders "$data/orders.ndjson" --db "$db"
    t1=$(now); local tp; tp=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
    local po; po=$(psql "$db" -Atc "select count(*) from orders")
    echo "   PostgreSQL: $po orders in $tp s"
    local rp; rp=$(rate "$po" "$tp")
    add "import orders: siyu on PostgreSQL" "$rp orders/s  ($po orders in $tp s)"
    add "import ratio PostgreSQL / SQLite (siyu)" "$(ratio "$rp" "$rs")"
    pg_drop import
}

# PostgreSQL databases of this run, on the server --pg names
pg_server=${pg%/*}
pg_name() { echo "siyu_bench_core_$1"; }
export PGOPTIONS="-c client_min_messages=warning"
pg_fresh() { # tag -> prints the URL of a new empty database
    psql "$pg_server/postgres" -qc "DROP DATABASE IF EXISTS $(pg_name "$1") WITH (FORCE)" \
        -c "CREATE DATABASE $(pg_name "$1")" >/dev/null
    echo "$pg_server/$(pg_name "$1")"
}
pg_drop() { psql "$pg_server/postgres" -qc "DROP DATABASE IF EXISTS $(pg_name "$1") WITH (FORCE)" >/dev/null; }

# ------------------------------------------------------------------ http
pid=""
stop_server() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"; wait "$pid" || true
    fi
    pid=""
}
trap stop_server EXIT

start_server() { # $1 = sync mode (full|normal)
    local log=$out/serve-$1.log
    # every server starts on a fresh copy of the demo store, so runs do not see each
    # other's orders and can be compared (and repeated)
    if [ "${on_pg:-}" ]; then
        pg_drop serve
        psql "$pg_server/postgres" -qc "CREATE DATABASE $(pg_name serve) TEMPLATE $(pg_name demo)"
        work=$pg_server/$(pg_name serve)
    else
        rm -f "$work"*
        cp "$demo" "$work"
    fi
    SIYU_SYNC=$1 "$siyu" serve --db "$work" --listen 127.0.0.1:0 --access-log off >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log" | head -1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { cat "$log"; echo "run.sh: server did not start" >&2; exit 1; }
}

mem() { # VmRSS and VmHWM of the server, in MiB
    awk '/^VmRSS|^VmHWM/ { printf "%s %.0f MiB  ", $1, $2 / 1024 }' "/proc/$pid/status"
}

load() { # $1 mode, $2 label
    local line r
    line=$("$loadgen" --port "$port" --token "$token" --mode "$1" --conns "$conns" --threads 2 \
        --seconds "$seconds" --members "$members" --stores 20)
    echo "   $line"
    local r p50 p99 err
    r=$(sed -n 's/.* rate=\([0-9]*\)\/s.*/\1/p' <<<"$line")
    p50=$(sed -n 's/.* p50=\([0-9.]*ms\).*/\1/p' <<<"$line")
    p99=$(sed -n 's/.* p99=\([0-9.]*ms\).*/\1/p' <<<"$line")
    err=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$line")
    add "$2" "$r req/s  p50 $p50  p99 $p99  errors $err"
    last_rate=$r
}

# The GET goal's baseline: a libmicrohttpd responder that sends siyu's own member 360
# (saved from the running server, so the answers are the same size) and does nothing
# else, driven by the same load generator; ratio = siyu / minimal (goal ≥ 0.5).
minimal_get() { # $1 = siyu's GET rate
    local body=$out/member-360.json mlog=$out/minimal.log mport=""
    curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/members/1" >"$body"
    "$build/bench/core/bench_minimal" --body "$body" >"$mlog" 2>&1 &
    local mpid=$!
    for _ in $(seq 1 50); do
        mport=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$mlog" | head -1)
        [ -n "$mport" ] && break
        sleep 0.1
    done
    echo "== bench_minimal: $(head -1 "$mlog")"
    local saved=$port
    port=$mport
    load member "GET, minimal libmicrohttpd responder, $conns clients"
    port=$saved
    kill "$mpid"; wait "$mpid" 2>/dev/null || true
    add "ratio GET siyu / minimal responder" "$(awk -v a="$1" -v b="$last_rate" 'BEGIN { printf "%.2f (goal >= 0.50)", a / b }')"
}

# POST's floor: the rows the orders above made siyu write, by plain SQL on one thread
# (bench_plain_orders: no HTTP, no checks, no views; the same sync and checkpoints) into a
# fresh copy of the same store; ratio = siyu / plain.
plain_orders() { # $1 = siyu's POST rate (sync=full)
    rm -f "$work"*
    cp "$demo" "$work"
    local line r
    line=$("$build/bench/core/bench_plain_orders" --db "$work" --batch 64 --seconds "$seconds" \
        --members "$members" --stores 20)
    echo "   $line"
    r=$(sed -n 's/.* rate=\([0-9]*\)\/s.*/\1/p' <<<"$line")
    add "POST's rows by plain SQL, one thread, batches of 64 (full)" \
        "$r orders/s  $(sed -n 's/.*\(bytes_per_order=[0-9]*\).*/\1/p' <<<"$line")"
    add "ratio POST siyu / plain SQL" "$(awk -v a="$1" -v b="$r" 'BEGIN { printf "%.2f", a / b }')"
}

# GET while orders stream in: each order makes its member's kept 360 stale (the others stay
# kept), so the GET rate and the share of answers served from memory under a chain's writes.
hits_misses() { # "hits misses" of the member cache, from /metrics
    curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/metrics" |
        awk '/^siyu_member_cache_total\{result="hit"\}/ { h = $2 } /^siyu_member_cache_total\{result="miss"\}/ { m = $2 } END { print h + 0, m + 0 }'
}
mixed_get() {
    local before after line orders
    before=$(hits_misses)
    "$loadgen" --port "$port" --token "$token" --mode orders --conns 16 --threads 1 \
        --seconds "$seconds" --members "$members" --stores 20 >"$out/mixed-orders.txt" &
    local opid=$!
    load member "GET /members/{id} while 16 clients post orders, $conns clients"
    wait "$opid" || true
    orders=$(sed -n 's/.* rate=\([0-9]*\)\/s.*/\1/p' "$out/mixed-orders.txt")
    after=$(hits_misses)
    add "  the orders posted meanwhile" "$orders orders/s"
    add "  GETs answered from memory meanwhile" "$(awk -v b="$before" -v a="$after" 'BEGIN { split(b, x, " "); split(a, y, " "); h = y[1] - x[1]; m = y[2] - x[2]; printf "%.1f%% (%d of %d)", 100 * h / (h + m), h, h + m }')"
}

bench_http() {
    demo=$out/demo-$members.db
    if [ ! -s "$demo" ]; then
        echo "== siyu demo --no-serve --members $members (builds the demo store)"
        rm -f "$demo"*
        "$siyu" demo --db "$demo" --members "$members" --no-serve >"$out/demo.log"
    fi
    # a demo store kept from an older siyu: migrated to this one's schema (init is idempotent)
    "$siyu" init --db "$demo" >/dev/null
    if [ ! -s "$out/token-$members" ]; then
        "$siyu" token create --db "$demo" --role admin --name bench >"$out/token-$members"
        q "$demo" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
    fi
    token=$(cat "$out/token-$members")
    work=$out/serve.db
    echo "== siyu serve (SIYU_SYNC=full, the default)"
    start_server full
    sleep 1
    local idle; idle=$(mem)
    echo "   idle: $idle"
    # the first pass renders every member's 360 (and keeps it); the second is the measured one
    load member "GET /members/{id}, first pass (360s rendered and kept), $conns clients"
    load member "GET /members/{id}, $conns clients"
    get_rate=$last_rate
    local siyu_get=$last_rate
    local after; after=$(mem)
    echo "   after GET load: $after"
    mixed_get
    minimal_get "$siyu_get"
    load orders "POST /orders, $conns clients, sync=full"
    post_rate=$last_rate
    local after_post; after_post=$(mem)
    stop_server
    echo "== siyu serve (SIYU_SYNC=normal)"
    start_server normal
    load orders "POST /orders, $conns clients, sync=normal"
    stop_server
    plain_orders "$post_rate"
    add "memory: siyu serve idle" "$idle"
    add "memory: after the GET load" "$after"
    add "memory: after the POST load (full)" "$after_post"
    [ -n "$pg" ] || return 0
    # the same loads on PostgreSQL: the demo chain built once into a template database
    local get_lite=$get_rate post_lite=$post_rate
    if [ "$(psql "$pg_server/postgres" -Atc "SELECT count(*) FROM pg_database WHERE datname = '$(pg_name demo)'")" = 0 ]; then
        echo "== siyu demo --no-serve --members $members on PostgreSQL"
        local demo_pg; demo_pg=$(pg_fresh demo)
        "$siyu" demo --db "$demo_pg" --members "$members" --no-serve >"$out/demo-pg.log"
        "$siyu" token create --db "$demo_pg" --role admin --name bench >"$out/token-pg-$members"
    fi
    token=$(cat "$out/token-pg-$members")
    on_pg=1
    echo "== siyu serve on PostgreSQL (SIYU_SYNC=full)"
    start_server full
    load member "GET /members/{id} on PostgreSQL, $conns clients"
    add "ratio GET PostgreSQL / SQLite" "$(ratio "$last_rate" "$get_lite")"
    load orders "POST /orders on PostgreSQL, $conns clients, sync=full"
    add "ratio POST PostgreSQL / SQLite" "$(ratio "$last_rate" "$post_lite")"
    stop_server
    on_pg=""
    pg_drop serve
    token=$(cat "$out/token-$members")
    # the CLI on a store (each command rebuilds what it needs from the store): the KPI report
    # of the last 12 months and a segment count, on the demo store of each
    local from to lite pgt
    from=$(date -u -d '-365 days' +%F); to=$(date -u +%F)
    timed() { local t0; t0=$(now); "$@" >/dev/null; awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
    lite=$(timed "$siyu" report kpi --db "$demo" --from "$from" --to "$to")
    pgt=$(timed "$siyu" report kpi --db "$pg_server/$(pg_name demo)" --from "$from" --to "$to")
    add "siyu report kpi (12 months): SQLite / PostgreSQL" "$lite s / $pgt s  (ratio PostgreSQL / SQLite $(ratio "$pgt" "$lite"))"
    lite=$(timed "$siyu" segment count 'reach.any and orders >= 3' --db "$demo")
    pgt=$(timed "$siyu" segment count 'reach.any and orders >= 3' --db "$pg_server/$(pg_name demo)")
    add "siyu segment count: SQLite / PostgreSQL" "$lite s / $pgt s  (ratio PostgreSQL / SQLite $(ratio "$pgt" "$lite"))"
}

[ "$only" = "http" ] || bench_import
[ "$only" = "import" ] || bench_http

echo
echo "== results ($(date -u +%Y-%m-%d), $(nproc) cores, $members members, ${seconds}s per load run)"
printf '%s\n' "${results[@]}"
echo "goals: import >= 200000 orders/s and >= sqlite3; POST >= 10000 orders/s with p99 < 20 ms"
