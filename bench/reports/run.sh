#!/bin/sh
# bench/reports/run.sh — builds Release into bench/out/build-reports and runs bench_reports.
# Arguments go to bench_reports: --orders N, --runs K, --sql-runs J, --db PATH, --skip-sql, and
# --pg URL (a PostgreSQL server, e.g. `bash scripts/pg-test-server.sh start /tmp/pg-bench`'s:
# the bench keeps its own database siyu_bench_reports_N there).
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/bench/out/build-reports"
cmake -S "$root" -B "$out" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out" -j2 --target bench_reports >/dev/null
uptime
"$out/bench/reports/bench_reports" "$@"
