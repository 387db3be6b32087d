#!/bin/bash
# bench/loyalty/run.sh — the loyalty engine's performance figures (issue 3, "Performance").
#
#   bench/loyalty/run.sh [--members N] [--seconds S] [--conns C] [--rounds R] [--pg URL]
#
# Builds Release into build-bench/ and generates the demo chain (siyu gen, default
# 100 000 members, ~1.5 million orders), then in the same run:
#   import   siyu import orders into two stores holding the same brands, stores, staff
#            and members: one with loyalty off (no rules), one with a three-tier ladder,
#            two earn rules (one scoped to a category, with a birthday multiplier), a
#            daily cap, a 7-day pending window, a referral reward and coupon templates.
#            Prints orders/s for each and the overhead loyalty adds (goal: <= 30%).
#            The pair runs R times (default 3), off and on alternating, and the
#            overhead compares the best run of each: on a shared machine a single
#            pair swings by several points either way.
#   redeem   siyu serve on the loyalty store; bench_loadgen --mode redeem: C keep-alive
#            clients, each redeeming 1 point at a time from its own member with a fresh
#            Idempotency-Key (POST /api/v1/members/{id}/points); rate and p50/p99.
#            Then siyu check on the store.
#   --pg     the same again on PostgreSQL (URL of a server, e.g. scripts/pg-test-server.sh's;
#            databases siyu_bench_loyalty_* made there and dropped after, copies by CREATE
#            DATABASE ... TEMPLATE), one import round each way, each figure printed beside
#            SQLite's with the ratio PostgreSQL / SQLite.
# Environment: SIYU_BENCH_BUILD (build dir), SIYU_BENCH_OUT (work dir).
set -euo pipefail

members=100000
seconds=10
conns=64
rounds=3
pg=""
while [ $# -gt 0 ]; do
    case "$1" in
    --members) members=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --pg) pg=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SIYU_BENCH_BUILD:-$root/build-bench}
out=${SIYU_BENCH_OUT:-$root/bench/out/loyalty}
data=$root/bench/out/core/data-$members # shared with bench/core
mkdir -p "$out"

echo "== building Release into $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSIYU_WERROR=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target siyu bench_loadgen >/dev/null
siyu=$build/src/cli/siyu
loadgen=$build/bench/core/bench_loadgen

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b-a}'; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", n / t }'; }
results=()
add() { results+=("$(printf '%-52s %s' "$1" "$2")"); }

if [ ! -s "$data/orders.ndjson" ]; then
    echo "== siyu gen --members $members"
    rm -rf "$data"
    mkdir -p "$(dirname "$data")"
    "$siyu" gen --out "$data" --members "$members" >/dev/null
fi
orders=$(wc -l <"$data/orders.ndjson")

base=$out/base.db
rm -f "$base"*
"$siyu" init --db "$base" >/dev/null
for k in brands stores staff members; do
    "$siyu" import "$k" "$data/$k.ndjson" --db "$base" >/dev/null
done
sqlite3 "$base" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null

# The loyalty configuration goes in over the API, as an operator would set it.
configure() { # $1 = store
    local log=$out/configure.log port token
    token=$("$siyu" token create --db "$1" --role admin)
    "$siyu" serve --db "$1" --listen 127.0.0.1:0 --access-log off >"$log" 2>&1 &
    local p=$!
    for _ in $(seq 100); do
        port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log" | head -1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    api() { curl -sf -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        "http://127.0.0.1:$port$2" -d "$3" >/dev/null; }
    api PUT /api/v1/loyalty/settings '{"points_expiry":{"mode":"end_of_next_year"},"pending_days":7,
        "max_points_per_day":5000,"redeem_points_per_yuan":100,"referral":{"referrer_points":200}}'
    api PUT /api/v1/loyalty/tiers '{"tiers":[{"code":"normal","name":"普通"},
        {"code":"silver","name":"银卡","qualify":{"metric":"net_spend","min":100000},"multiplier":1.2,"discount_pct":5},
        {"code":"gold","name":"金卡","qualify":{"metric":"net_spend","min":500000},"multiplier":1.5,"discount_pct":10}],
        "review":{"schedule":"anniversary","grace_days":30}}'
    api POST /api/v1/loyalty/earn-rules '{"name":"基础积分","points_per_yuan":1}'
    api POST /api/v1/loyalty/earn-rules '{"name":"生鲜双倍","points_per_yuan":2,"categories":["生鲜"],"birthday_multiplier":2}'
    api POST /api/v1/coupon-templates '{"name":"满50减10","kind":"cash_off","value_cents":1000,"min_spend_cents":5000,"valid_days":30,"stock":1000000}'
    api POST /api/v1/coupon-templates '{"name":"6折券","kind":"percent_off","percent":40,"max_off_cents":3000,"valid_days":30,"shareable":true}'
    kill -TERM "$p"; wait "$p" || true
    echo "$token" >"$out/token"
}

import_into() { # $1 store (a fresh copy of $2), $2 configured copy; sets $took
    rm -f "$1" "$1-wal" "$1-shm"
    cp "$2" "$1"
    sync
    local t0 t1
    t0=$(now)
    "$siyu" import orders "$data/orders.ndjson" --db "$1" >/dev/null
    t1=$(now)
    took=$(secs "$t0" "$t1")
}

off=$out/off.db on=$out/on.db
rm -f "$off"* "$on"*
cp "$base" "$off.cfg"
cp "$base" "$on.cfg"
echo "== configuring loyalty on one copy"
configure "$on.cfg"
sqlite3 "$on.cfg" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
toff=() ton=()
for r in $(seq "$rounds"); do
    echo "== round $r/$rounds: siyu import orders ($orders orders), loyalty off, then on"
    import_into "$off" "$off.cfg"
    toff+=("$took")
    import_into "$on" "$on.cfg"
    ton+=("$took")
    echo "   off ${toff[-1]} s, on ${ton[-1]} s"
done
rm -f "$off.cfg" "$on.cfg"
n=$(sqlite3 "$on" "select count(*) from orders")
best() { printf '%s\n' "$@" | sort -g | head -1; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
boff=$(best "${toff[@]}") bon=$(best "${ton[@]}")
add "import orders, loyalty off (best of $rounds)" "$(rate "$n" "$boff") orders/s  ($n in $boff s; median $(median "${toff[@]}") s)"
add "import orders, loyalty on (best of $rounds)" "$(rate "$n" "$bon") orders/s  ($n in $bon s; median $(median "${ton[@]}") s)"
add "loyalty overhead on import" "$(awk -v a="$bon" -v b="$boff" 'BEGIN{printf "%+.1f%%", (a/b-1)*100}')   (goal: <= +30%; medians: $(awk -v a="$(median "${ton[@]}")" -v b="$(median "${toff[@]}")" 'BEGIN{printf "%+.1f%%", (a/b-1)*100}'))"
sl=$(sqlite3 "$on" "select count(*) from points_ledger")
st=$(sqlite3 "$on" "select count(*) from tier_history")
add "ledger entries / tier changes written" "$sl / $st"
echo "== siyu check on the loyalty store"
t0=$(now)
"$siyu" check --db "$on"
add "siyu check on the loyalty store" "clean in $(secs "$t0" "$(now)") s"

# redemptions over HTTP on store $1: sets $r $p50 $p99 $err
redeem() {
    local db=$1 log=$out/serve.log pid port line
    "$siyu" serve --db "$db" --listen 127.0.0.1:0 --access-log off >"$log" 2>&1 &
    pid=$!
    trap 'kill -TERM $pid 2>/dev/null || true' EXIT
    for _ in $(seq 300); do
        port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log" | head -1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    ids=$(seq -s, 1 "$conns")
    curl -sf -X POST -H "Authorization: Bearer $token" -H 'Idempotency-Key: bench-fund' \
        -H 'Content-Type: application/json' "http://127.0.0.1:$port/api/v1/points/bulk" \
        -d "{\"delta\":10000000,\"reason\":\"bench\",\"member_ids\":[$ids]}" >/dev/null
    line=$("$loadgen" --port "$port" --token "$token" --mode redeem --conns "$conns" --threads 2 \
        --seconds "$seconds" --members "$members")
    echo "   $line"
    r=$(sed -n 's/.* rate=\([0-9]*\)\/s.*/\1/p' <<<"$line")
    p50=$(sed -n 's/.* p50=\([0-9.]*ms\).*/\1/p' <<<"$line")
    p99=$(sed -n 's/.* p99=\([0-9.]*ms\).*/\1/p' <<<"$line")
    err=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$line")
    kill -TERM "$pid"; wait "$pid" || true
    trap - EXIT
}

echo "== redemptions over HTTP ($conns clients, distinct members)"
token=$(cat "$out/token")
redeem "$on"
add "POST /members/{id}/points, $conns clients" "$r redemptions/s  p50 $p50  p99 $p99  errors $err"
"$siyu" check --db "$on" >/dev/null && add "siyu check after the redemption load" "clean"

# ------------------------------------------------------------------ PostgreSQL
if [ -n "$pg" ]; then
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
    pg_server=${pg%/*}
    pgn() { echo "siyu_bench_loyalty_$1"; }
    pgq() { PGOPTIONS='--client-min-messages=warning' psql "$pg_server/postgres" -qc "$1" >/dev/null; }
    pg_drop() { pgq "DROP DATABASE IF EXISTS $(pgn "$1") WITH (FORCE)"; }
    pg_copy() { pg_drop "$1"; pgq "CREATE DATABASE $(pgn "$1") TEMPLATE $(pgn "$2")"; }
    echo "== PostgreSQL: the same stores on $pg_server"
    pg_drop base; pgq "CREATE DATABASE $(pgn base)"
    "$siyu" init --db "$pg_server/$(pgn base)" >/dev/null
    for k in brands stores staff members; do
        "$siyu" import "$k" "$data/$k.ndjson" --db "$pg_server/$(pgn base)" >/dev/null
    done
    pg_copy offcfg base
    pg_copy oncfg base
    echo "== configuring loyalty on one PostgreSQL copy"
    configure "$pg_server/$(pgn oncfg)"
    pg_import() { # $1 store, $2 configured copy; sets $took
        pg_copy "$1" "$2"
        local t0 t1
        t0=$(now)
        "$siyu" import orders "$data/orders.ndjson" --db "$pg_server/$(pgn "$1")" >/dev/null
        t1=$(now)
        took=$(secs "$t0" "$t1")
    }
    echo "== PostgreSQL: siyu import orders ($orders orders), loyalty off, then on"
    pg_import off offcfg; poff=$took
    pg_import on oncfg; pon=$took
    echo "   off $poff s, on $pon s"
    pn=$(psql "$pg_server/$(pgn on)" -Atc "select count(*) from orders")
    add "import orders, loyalty off, PostgreSQL" "$(rate "$pn" "$poff") orders/s  ($pn in $poff s; PostgreSQL / SQLite $(ratio "$(rate "$pn" "$poff")" "$(rate "$n" "$boff")"))"
    add "import orders, loyalty on, PostgreSQL" "$(rate "$pn" "$pon") orders/s  ($pn in $pon s; PostgreSQL / SQLite $(ratio "$(rate "$pn" "$pon")" "$(rate "$n" "$bon")"))"
    add "loyalty overhead on import, PostgreSQL" "$(awk -v a="$pon" -v b="$poff" 'BEGIN{printf "%+.1f%%", (a/b-1)*100}')"
    pl=$(psql "$pg_server/$(pgn on)" -Atc "select count(*) from points_ledger")
    pt=$(psql "$pg_server/$(pgn on)" -Atc "select count(*) from tier_history")
    same="the same as SQLite's"
    if [ "$pn/$pl/$pt" != "$n/$sl/$st" ]; then same="DIFFERENT FROM SQLITE'S ($n/$sl/$st)"; fi
    add "orders / ledger entries / tier changes, PostgreSQL" "$pn / $pl / $pt  ($same)"
    "$siyu" check --db "$pg_server/$(pgn on)" >/dev/null && add "siyu check on the PostgreSQL loyalty store" "clean"
    echo "== PostgreSQL: redemptions over HTTP ($conns clients, distinct members)"
    sr=$r
    token=$(cat "$out/token")
    redeem "$pg_server/$(pgn on)"
    add "POST /members/{id}/points, $conns clients, PostgreSQL" "$r redemptions/s  p50 $p50  p99 $p99  errors $err  (PostgreSQL / SQLite $(ratio "$r" "$sr"))"
    "$siyu" check --db "$pg_server/$(pgn on)" >/dev/null && add "siyu check after the redemption load, PostgreSQL" "clean"
    for d in base offcfg oncfg off on; do pg_drop "$d"; done
    [ "$same" = "the same as SQLite's" ] || { printf '%s\n' "${results[@]}"; exit 1; }
fi

echo
echo "== results ($(date -u +%Y-%m-%d), $(nproc) cores, $members members, $orders orders)"
printf '%s\n' "${results[@]}"
