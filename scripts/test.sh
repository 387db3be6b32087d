#!/usr/bin/env bash
# One command from a bare Debian 12 machine to every test passing:
#   1. unit and end-to-end tests (CTest) on the normal build — on SQLite, and the pg_*
#      tests on a throwaway PostgreSQL 15 this script starts (and stops at the end),
#   2. the same suite under AddressSanitizer + UndefinedBehaviorSanitizer,
#   3. each libFuzzer target for a short run (SIYU_FUZZ_SECONDS, default 20; 0 skips).
set -euo pipefail
cd "$(dirname "$0")/.."
export SIYU_FUZZ_TOOLS=1
bash scripts/setup.sh

echo "== formatting (clang-format, the repository's .clang-format)"
unformatted=$(git ls-files '*.c' '*.h' | while read -r f; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
if [ -n "$unformatted" ]; then
  echo "not formatted (run clang-format -i on them):" $unformatted >&2
  exit 1
fi

pgdir=$(mktemp -d /tmp/siyu-pg-XXXXXX)
answers=$(mktemp /tmp/siyu-answers-XXXXXX)
cleanup() {
  bash scripts/pg-test-server.sh stop "$pgdir" || true
  rm -rf "$pgdir" "$answers"
}
trap cleanup EXIT
SIYU_TEST_PG_URL=$(bash scripts/pg-test-server.sh start "$pgdir")
export SIYU_TEST_PG_URL
echo "== PostgreSQL for the pg_* tests: $SIYU_TEST_PG_URL"

echo "== build and test (every answer of the end-to-end tests recorded for the contract check)"
bash scripts/build.sh build
(cd build && SIYU_RECORD_RESPONSES=$answers ctest --output-on-failure -j2 --timeout 300)

echo "== the API contract: lint, a generated TypeScript client, every recorded answer (tools/api)"
command -v node >/dev/null && command -v npm >/dev/null || {
  echo "the contract check needs Node.js 20 and npm (installed with the machine)" >&2
  exit 1
}
bash tools/api/check.sh build/src/cli/siyu "$answers"

echo "== every other build type builds under -Werror (Release, MinSizeRel)"
for t in Release MinSizeRel; do
  bash scripts/build.sh "build-$(echo "$t" | tr '[:upper:]' '[:lower:]')" -DCMAKE_BUILD_TYPE="$t" >/dev/null
done

echo "== sanitizers (ASan + UBSan)"
bash scripts/build.sh build-asan -DSIYU_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j2 --timeout 600)

secs=${SIYU_FUZZ_SECONDS:-20}
if [ "$secs" != 0 ] && [ -x fuzz/run.sh ]; then
  echo "== fuzzing (${secs}s per target)"
  bash fuzz/run.sh "$secs"
fi
echo "== all tests passed"
