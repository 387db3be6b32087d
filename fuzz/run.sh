#!/bin/sh
# fuzz/run.sh SECONDS — build the libFuzzer targets with clang (+ASan/UBSan) into
# build-fuzz/ and run each for SECONDS (default 30). New inputs go to a working corpus
# in build-fuzz/corpus/<target> (seeded from fuzz/corpus/<target>, which stays small
# and hand-kept); a crash leaves its input in build-fuzz/artifacts/ and makes the
# script exit 1. Copy a crashing input into fuzz/corpus/<target>/ once it is
# understood, so the normal test run replays it from then on.
#   SIYU_FUZZ_BUILD=DIR   build directory (default: build-fuzz in the repository)
#   SIYU_FUZZ_TARGETS="…" which targets (default: all six)
#   SIYU_FUZZ_JOBS=N      parallel fuzzing processes per target (default 1)
set -eu
secs=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SIYU_FUZZ_BUILD:-$root/build-fuzz}
targets=${SIYU_FUZZ_TARGETS:-fuzz_request fuzz_csv fuzz_time_phone fuzz_messaging fuzz_segment fuzz_snapshot}
jobs=${SIYU_FUZZ_JOBS:-1}

if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz/run.sh: clang is needed (apt-get install -y clang libclang-rt-14-dev)" >&2
    exit 2
fi

# -fsanitize=fuzzer-no-link instruments every library for coverage; the targets link
# libFuzzer itself (fuzz/CMakeLists.txt). Warnings are not errors here: clang and gcc
# disagree on a few flags, and this build is for finding crashes, not style.
CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSIYU_FUZZ=ON -DSIYU_SANITIZE=ON -DSIYU_WERROR=OFF \
    -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link -Wno-unknown-warning-option" >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j"$(nproc)" --target $targets

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p "$build/artifacts"
cd "$build"
status=0
for t in $targets; do
    work="$build/corpus/$t"
    mkdir -p "$work"
    extra=""
    [ -f "$root/fuzz/$t.dict" ] && extra="-dict=$root/fuzz/$t.dict"
    # -jobs spawns workers that log to fuzz-N.log in the current directory; only when asked
    [ "$jobs" -gt 1 ] && extra="$extra -jobs=$jobs -workers=$jobs"
    echo "== $t: ${secs}s"
    # shellcheck disable=SC2086
    if ! "$build/fuzz/$t" -max_total_time="$secs" -timeout=25 -rss_limit_mb=4096 \
        -max_len=8192 -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$t-" $extra \
        "$work" "$root/fuzz/corpus/$t" >"$build/$t.log" 2>&1; then
        echo "== $t: FAILED (log: $build/$t.log, inputs: $build/artifacts/)"
        tail -n 60 "$build/$t.log"
        status=1
    else
        grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$build/$t.log" |
            tr '\n' ' '
        echo
    fi
done
exit $status
