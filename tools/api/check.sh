#!/usr/bin/env bash
# check.sh — the API contract's checks, as CI runs them (scripts/test.sh):
#   1. the OpenAPI document (`siyu openapi`) passes `redocly lint` and Spectral's `oas`
#      ruleset with no error,
#   2. a TypeScript client generated from it by openapi-typescript compiles (tsc, strict),
#      and its typed smoke test (smoke.ts, openapi-fetch) passes against a real
#      `siyu serve` on a small store,
#   3. with RECORDED.jsonl: every answer the end-to-end tests recorded validates against
#      the document (validate.mjs).
# The tools are this folder's npm packages (package-lock.json), installed here by `npm ci`.
#   bash tools/api/check.sh path/to/siyu [RECORDED.jsonl]
set -euo pipefail
siyu=$(realpath "$1")
rec=${2:+$(realpath "$2")}
cd "$(dirname "$0")"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json .installed-lock; then
  echo "== contract: installing the checkers (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json .installed-lock
fi
mkdir -p build
"$siyu" openapi > build/openapi.json

echo "== contract: redocly lint (recommended rules)"
npx --no-install redocly lint --config redocly.yaml --format summary build/openapi.json
echo "== contract: spectral lint (spectral:oas)"
npx --no-install spectral lint --fail-severity error --ruleset .spectral.yaml build/openapi.json

echo "== contract: a TypeScript client (openapi-typescript) compiles"
npx --no-install openapi-typescript build/openapi.json -o build/siyu-api.d.ts --silent
npx --no-install tsc -p tsconfig.json

echo "== contract: the typed client's smoke test against siyu serve"
tmp=$(mktemp -d /tmp/siyu-contract-XXXXXX)
pid=
finish() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap finish EXIT
"$siyu" init --db "$tmp/smoke.db" >/dev/null
tok=$("$siyu" token create --db "$tmp/smoke.db" --role admin)
"$siyu" serve --db "$tmp/smoke.db" --listen 127.0.0.1:0 --access-log off >"$tmp/serve.log" 2>&1 &
pid=$!
url=
for _ in $(seq 100); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/serve.log" | head -1 || true)
  [ -n "$url" ] && curl -sf "$url/healthz" >/dev/null && break
  url=
  sleep 0.1
done
[ -n "$url" ] || { echo "contract: siyu serve did not start" >&2; cat "$tmp/serve.log" >&2; exit 1; }
SIYU_URL=$url SIYU_TOKEN=$tok node build/smoke.js

if [ -n "$rec" ]; then
  echo "== contract: every recorded end-to-end answer validates against the document"
  node validate.mjs build/openapi.json "$rec"
fi
