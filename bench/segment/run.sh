#!/bin/sh
# bench/segment/run.sh — builds Release into bench/out/build-segment and runs bench_segment.
# Arguments go to bench_segment: --members N, --runs R, --sqlite-runs S, --no-sqlite,
# --no-tailored, --query NAME, and --pg URL (a PostgreSQL server, e.g.
# `bash scripts/pg-test-server.sh start /tmp/pg-bench`'s: the bench makes its databases
# siyu_bench_segment and siyu_bench_segment_store there, fresh each run).
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/bench/out/build-segment"
cmake -S "$root" -B "$out" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out" -j2 --target bench_segment >/dev/null
uptime
"$out/bench/segment/bench_segment" "$@"
