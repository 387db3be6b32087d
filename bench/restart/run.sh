#!/bin/bash
# bench/restart/run.sh — start-up and CLI answers with the views' snapshot against a rebuild
# (issue 19, "capacity").
#
#   bench/restart/run.sh [--members N] [--legacy L] [--db PATH]
#
# Builds (or reuses) a demo store of N members (siyu demo --no-serve; default 100 000) in
# bench/out/restart/, plus L members migrated from a former CRM with no orders in siyu
# (--legacy 19900000 makes the 20 M-member chain of the goal: 5 GB of store, 3.2 GB of
# snapshot, about 7 minutes to build), then times: siyu serve from start to /readyz with the views rebuilt
# (--views-snapshot off) and from the snapshot (written by the previous clean stop); siyu
# segment count and siyu report kpi with and without the snapshot; prints each pair, the
# ratio, the snapshot's size and bytes per member, and the load average.
# Environment: SIYU_BENCH_BUILD (build dir, default build-bench/ in Release).
set -euo pipefail
members=100000
legacy=0
db=""
while [ $# -gt 0 ]; do
    case "$1" in
    --members) members=$2; shift 2 ;;
    --legacy) legacy=$2; shift 2 ;;
    --db) db=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SIYU_BENCH_BUILD:-$root/build-bench}
if [ ! -x "$build/src/cli/siyu" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j2 --target siyu >/dev/null
fi
siyu=$build/src/cli/siyu
out=$root/bench/out/restart
mkdir -p "$out"
if [ "$legacy" -gt 0 ]; then db=${db:-$out/chain-$members+$legacy.db}; else db=${db:-$out/chain-$members.db}; fi
if [ ! -f "$db" ]; then
    "$siyu" demo --db "$db" --members "$members" --no-serve >/dev/null 2>&1
    if [ "$legacy" -gt 0 ]; then
        # card numbers L…, phones 130…, spread over the demo's first 20 stores and 7 years
        awk -v n="$legacy" 'BEGIN { srand(7); split("上海 北京 广州 深圳 杭州 成都 厦门 南京 武汉 西安", c, " ");
            for (i = 1; i <= n; i++)
                printf "{\"card_no\":\"L%09d\",\"phone\":\"130%08d\",\"name\":\"会员%d\",\"gender\":\"%s\",\"birthday\":\"%04d-%02d-%02d\",\"city\":\"%s\",\"store_id\":%d,\"channel\":\"store\",\"joined_at\":\"%04d-%02d-%02dT10:00:00+08:00\"}\n",
                    i, i, i, rand() < 0.58 ? "female" : "male", 1960 + int(rand() * 47),
                    1 + int(rand() * 12), 1 + int(rand() * 28), c[1 + int(rand() * 10)], 1 + int(rand() * 20),
                    2018 + int(rand() * 7), 1 + int(rand() * 12), 1 + int(rand() * 28) }' > "$out/legacy.ndjson"
        "$siyu" import members "$out/legacy.ndjson" --db "$db" --batch 20000 --quiet
        rm -f "$out/legacy.ndjson"
    fi
fi
port=$((20000 + RANDOM % 20000))
now() { date +%s.%N; }
ready_after() { # ready_after MODE: seconds from start to /readyz; stops the server cleanly
    local t0 pid
    t0=$(now)
    "$siyu" serve --db "$db" --listen 127.0.0.1:$port --access-log off --views-snapshot "$1" \
        >/dev/null 2>"$out/serve.err" &
    pid=$!
    until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
        kill -0 $pid 2>/dev/null || { cat "$out/serve.err" >&2; exit 1; }
        sleep 0.02
    done
    echo "$(now) - $t0" | bc
    kill -TERM $pid
    wait $pid
}
rebuild=$(ready_after off)
# a server writes as it starts (its jobs): the snapshot is taken after, as a clean stop would
t0=$(now)
"$siyu" views snapshot --db "$db" >/dev/null
write=$(echo "$(now) - $t0" | bc)
snap=$(ready_after "$db.views")
grep -q "from the snapshot" "$out/serve.err" || { cat "$out/serve.err"; exit 1; }
size=$(stat -c %s "$db.views")
t() { local t0; t0=$(now); "$@" >/dev/null; echo "$(now) - $t0" | bc; }
cli_rebuild=$(SIYU_VIEWS_SNAPSHOT=off t "$siyu" segment count 'orders >= 2' --db "$db")
cli_snap=$(t "$siyu" segment count 'orders >= 2' --db "$db")
kpi_rebuild=$(SIYU_VIEWS_SNAPSHOT=off t "$siyu" report kpi --db "$db" --from 2025-01-01 --to 2026-12-31)
kpi_snap=$(t "$siyu" report kpi --db "$db" --from 2025-01-01 --to 2026-12-31)
echo "members: $((members + legacy)); snapshot $size bytes ($((size / (members + legacy))) bytes per member), siyu views snapshot $write s"
printf 'serve to /readyz:      rebuilt %6.2f s   snapshot %6.2f s   ratio %5.1fx\n' "$rebuild" "$snap" "$(echo "$rebuild / $snap" | bc -l)"
printf 'siyu segment count:    rebuilt %6.2f s   snapshot %6.2f s   ratio %5.1fx\n' "$cli_rebuild" "$cli_snap" "$(echo "$cli_rebuild / $cli_snap" | bc -l)"
printf 'siyu report kpi:       rebuilt %6.2f s   snapshot %6.2f s   ratio %5.1fx\n' "$kpi_rebuild" "$kpi_snap" "$(echo "$kpi_rebuild / $kpi_snap" | bc -l)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
