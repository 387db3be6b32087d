#!/bin/bash
# bench/month/run.sh — the chain's month at full size: a longer run of the CI test
# tests/http/test_chain_month.c (same checks, bigger chain, more days), printing its figures.
#
#   bench/month/run.sh [--members N] [--days D] [--seed S]
#
# Defaults: 100 000 members, 90 days, seed 1 (CI runs 20 000 × 60, and 3 000 × 40 under the
# sanitizers). Builds Release into build-bench/ (SIYU_BENCH_BUILD), then runs the test with
# SIYU_MONTH_VERBOSE=1: a line per simulated day (orders, refunds, joins, live views,
# opt-outs, merges, messages received, ticks), the wall time of building the chain and of the
# days, and at the end each check with how many things it checked and how many failed.
# The log goes to bench/out/month/month-N-D.log (SIYU_BENCH_OUT). Exit status: the test's.
set -euo pipefail

members=100000
days=90
seed=1
while [ $# -gt 0 ]; do
    case "$1" in
    --members) members=$2; shift 2 ;;
    --days) days=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SIYU_BENCH_BUILD:-$root/build-bench}
out=${SIYU_BENCH_OUT:-$root/bench/out/month}
mkdir -p "$out"

echo "== building Release into $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSIYU_WERROR=OFF >/dev/null
cmake --build "$build" -j2 --target siyu test_chain_month >/dev/null

log=$out/month-$members-$days.log
echo "== $members members, $days days, seed $seed (log: $log)"
start=$(date +%s.%N)
set +e
SIYU_MONTH_MEMBERS=$members SIYU_MONTH_DAYS=$days SIYU_MONTH_SEED=$seed SIYU_MONTH_VERBOSE=1 \
    "$build/tests/http/test_chain_month" "$build/src/cli/siyu" 2>&1 | tee "$log" |
    grep -E '^(chain|month|checks|[0-9]+ days|  [A-Z] |  (join|birthday|messages|coupons|KPIs))'
rc=${PIPESTATUS[0]}
set -e
end=$(date +%s.%N)
awk -v a="$start" -v b="$end" 'BEGIN { printf "== wall time %.1f s\n", b - a }'
exit "$rc"
