#!/bin/bash
# bench/fission/run.sh — fission's performance figures (issue 17, "Performance").
#
#   bench/fission/run.sh [--members N] [--seconds S] [--conns C]
#                        [--graph-members M] [--graph-edges E] [--only plays|graph]
#                        [--paced R] [--pg URL]
#
# Builds Release into build-bench/, then in the same run:
#   plays   a store with the demo chain's members (siyu gen N, default 100 000, imported);
#           siyu serve (SIYU_SYNC unset: FULL, every group commit fsynced — durable);
#           a lucky wheel with no caps (20 points at 30 %, a gift at 5 % with stock
#           1 000 000, a budget); bench_loadgen --mode play: C keep-alive clients (64),
#           each play a fresh play_id for a random member; then, on the same server and
#           store, bench_loadgen --mode orders (POST /api/v1/orders, the baseline write).
#           Prints both rates and p99s and the ratio plays / orders; then siyu check.
#           --paced R (default 5000; 0: none) adds, on the same server, plays paced at R
#           a second by the same 64 clients (bench_loadgen --rate: latency from each
#           play's scheduled start): the goal's p99 at the goal's rate, where the closed
#           loop gives the p99 at saturation.
#   graph   bench_referrals: M members (20 000 000) of whom E (5 000 000) were referred,
#           written straight into a store; GET /api/v1/reports/referrals' work (K-factor
#           per campaign, channel and month; four KOL rankings) against the plain SQL of a
#           recursive CTE. Goal: under 1 s. With --pg URL (a PostgreSQL server), the same
#           rows copied into a database of its own there, and both sides run on it too,
#           printed beside SQLite's with the ratios (the plays stay on SQLite).
# Environment: SIYU_BENCH_BUILD (build dir), SIYU_BENCH_OUT (work dir).
set -euo pipefail

members=100000
seconds=10
conns=64
gm=20000000
ge=5000000
only=
paced=5000
pg=()
while [ $# -gt 0 ]; do
    case "$1" in
    --members) members=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --graph-members) gm=$2; shift 2 ;;
    --graph-edges) ge=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --paced) paced=$2; shift 2 ;;
    --pg) pg=(--pg "$2"); shift 2 ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SIYU_BENCH_BUILD:-$root/build-bench}
out=${SIYU_BENCH_OUT:-$root/bench/out/fission}
data=$root/bench/out/core/data-$members # shared with bench/core
mkdir -p "$out"

echo "== building Release into $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSIYU_WERROR=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target siyu bench_loadgen bench_referrals >/dev/null
siyu=$build/src/cli/siyu
loadgen=$build/bench/core/bench_loadgen

if [ "$only" != graph ]; then
    if [ ! -s "$data/members.ndjson" ]; then
        echo "== siyu gen --members $members"
        rm -rf "$data"
        mkdir -p "$(dirname "$data")"
        "$siyu" gen --out "$data" --members "$members" >/dev/null
    fi
    db=$out/plays.db
    rm -f "$db"*
    "$siyu" init --db "$db" >/dev/null
    for k in brands stores staff members; do
        "$siyu" import "$k" "$data/$k.ndjson" --db "$db" >/dev/null
    done
    token=$("$siyu" token create --db "$db" --role admin)
    log=$out/serve.log
    "$siyu" serve --db "$db" --listen 127.0.0.1:0 --access-log off >"$log" 2>&1 &
    pid=$!
    trap 'kill -TERM $pid 2>/dev/null || true' EXIT
    port=
    for _ in $(seq 300); do
        port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log" | head -1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    campaign=$(curl -sf -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        "http://127.0.0.1:$port/api/v1/campaigns" -d '{"kind":"wheel","name":"压测转盘",
        "rules":{"budget_cents":100000000000,"prizes":[{"name":"20积分","points":20,"odds":0.3,
        "stock":null,"cost_cents":20},{"name":"环保袋","gift":"tote","odds":0.05,"stock":1000000,
        "cost_cents":1500}]}}' | grep -o '"id":[0-9]*' | head -1 | cut -d: -f2)
    # CPU the server spent (user + system, all threads, from /proc) and its group commits
    # (writes per batch, seconds per COMMIT with its fsync, from /metrics) around each run:
    # the CPU per request holds on a loaded machine where the rates do not
    tck=$(getconf CLK_TCK)
    cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
    wmetric() {
        curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/metrics" |
            awk -v k="$1" '$1 == k {print $2}'
    }
    measure() { # mode label var [loadgen options] -> the loadgen line, then CPU and batch figures
        local c0 b0 n0 s0 line c1 b1 n1 s1 req
        c0=$(cpu); b0=$(wmetric siyu_writer_batch_size_count); n0=$(wmetric siyu_writer_batch_size_sum)
        s0=$(wmetric siyu_writer_commit_seconds_sum)
        line=$("$loadgen" --port "$port" --token "$token" --mode "$1" --campaign "$campaign" \
            --conns "$conns" --seconds "$seconds" --members "$members" "${@:4}")
        c1=$(cpu); b1=$(wmetric siyu_writer_batch_size_count); n1=$(wmetric siyu_writer_batch_size_sum)
        s1=$(wmetric siyu_writer_commit_seconds_sum)
        req=$(sed -n 's/.* ok=\([0-9]*\) .*/\1/p' <<<"$line")
        echo "   $line"
        awk -v c="$((c1 - c0))" -v t="$tck" -v r="$req" -v b="$(awk -v x="$b1" -v y="$b0" 'BEGIN{print x-y}')" \
            -v n="$(awk -v x="$n1" -v y="$n0" 'BEGIN{print x-y}')" \
            -v s="$(awk -v x="$s1" -v y="$s0" 'BEGIN{print x-y}')" -v l="$2" 'BEGIN{
            printf "   server CPU %.0f us per %s (%.2f s in all); %.1f writes per group commit, %.2f ms per COMMIT\n",
                c / t / (r > 0 ? r : 1) * 1e6, l, c / t, (b > 0 ? n / b : 0), (b > 0 ? s / b * 1000 : 0)}'
        eval "$3=\$line; ${3}_cpu=$((c1 - c0)); ${3}_n=$req"
    }
    echo "== plays: $conns clients, $seconds s, campaign $campaign ($(uptime | sed 's/.*load/load/'))"
    measure play play plays
    if [ "$paced" != 0 ]; then
        echo "== plays paced at $paced/s: $conns clients, $seconds s"
        measure play play pacedrun --rate "$paced"
    fi
    echo "== orders (baseline): $conns clients, $seconds s"
    measure orders order orders
    kill -TERM "$pid"; wait "$pid" || true
    trap - EXIT
    rp=$(sed -n 's/.*rate=\([0-9]*\)\/s.*/\1/p' <<<"$plays")
    ro=$(sed -n 's/.*rate=\([0-9]*\)\/s.*/\1/p' <<<"$orders")
    echo "plays/s $rp, orders/s $ro, ratio plays / orders $(awk -v a="$rp" -v b="$ro" 'BEGIN{printf "%.2f", a/b}') (goal: >= 5000 plays/s, p99 < 30 ms)"
    echo "server CPU per request, orders / plays: $(awk -v a="$plays_cpu" -v na="$plays_n" -v b="$orders_cpu" -v nb="$orders_n" 'BEGIN{printf "%.2f", (b/nb)/(a/na)}') (how many plays one order's CPU pays for)"
    if [ "$paced" != 0 ]; then
        pp=$(sed -n 's/.*p99=\([0-9.]*\)ms.*/\1/p' <<<"$pacedrun")
        pr=$(sed -n 's/.*rate=\([0-9]*\)\/s.*/\1/p' <<<"$pacedrun")
        echo "paced at $paced/s: $pr plays/s answered, p99 $pp ms (goal: p99 < 30 ms at >= 5000 plays/s)"
    fi
    "$siyu" check --db "$db"
fi
if [ "$only" != plays ]; then
    echo "== graph: $gm members, $ge referrals"
    "$build/bench/fission/bench_referrals" --members "$gm" --edges "$ge" --db "$out/referrals.db" "${pg[@]}"
fi
