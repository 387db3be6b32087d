#!/bin/sh
# bench/guides/run.sh — builds Release into bench/out/build-guides and runs bench_scan with
# SIYU_SYNC unset (FULL) and =normal. Arguments go to bench_scan (--clients, --seconds, and
# --pg URL: the default-worker server once more on a PostgreSQL store on that server).
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/bench/out/build-guides"
cmake -S "$root" -B "$out" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out" -j2 --target siyu bench_scan >/dev/null
"$out/bench/guides/bench_scan" "$out/src/cli/siyu" "$@"
SIYU_SYNC=normal "$out/bench/guides/bench_scan" "$out/src/cli/siyu" "$@"
