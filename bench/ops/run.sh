#!/usr/bin/env bash
# bench/ops: what gzip costs and saves on siyu's large answers, against sending them plain.
#   bench/ops/run.sh [--members N] [--requests N]
# Builds Release into bench/out/build-ops, makes a demo chain (default 20 000 members), serves
# it, and fetches each answer N times (default 200) over one keep-alive connection with curl,
# plain and with Accept-Encoding: gzip. Prints bytes per answer and milliseconds per request,
# and the ratios gzip / plain. On loopback the network is free, so the time ratio shows the
# compression's CPU cost; on a real link the bytes ratio is what a client waits for.
set -euo pipefail
cd "$(dirname "$0")/../.."
members=20000 requests=200
while [ $# -gt 0 ]; do
  case "$1" in
    --members) members=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    *) echo "usage: $0 [--members N] [--requests N]" >&2; exit 2 ;;
  esac
done
out=bench/out/ops
mkdir -p "$out"
bash scripts/build.sh bench/out/build-ops -DCMAKE_BUILD_TYPE=Release >/dev/null
siyu=$PWD/bench/out/build-ops/src/cli/siyu
rm -f "$out"/ops.db*
token=$("$siyu" demo --no-serve --members "$members" --db "$out/ops.db" 2>/dev/null |
        sed -n 's/^siyu: admin token: //p')
port=$(( 20000 + RANDOM % 20000 ))
"$siyu" serve --db "$out/ops.db" --listen "127.0.0.1:$port" --access-log off >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done

# N fetches on one connection; prints "bytes_per_answer ms_per_request"
fetch() {
  local url=$1 enc=$2 urls=() i
  for i in $(seq 1 "$requests"); do urls+=(-o /dev/null "$url"); done
  local t0 t1 bytes
  t0=$(date +%s%N)
  bytes=$(curl -s -H "Authorization: Bearer $token" ${enc:+-H "Accept-Encoding: $enc"} \
          -w '%{size_download}\n' "${urls[@]}" | awk '{s+=$1} END {print s}')
  t1=$(date +%s%N)
  awk -v b="$bytes" -v n="$requests" -v t="$((t1 - t0))" 'BEGIN {printf "%d %.3f\n", b/n, t/n/1e6}'
}

printf '%-28s %12s %12s %8s %10s %10s %8s\n' answer plain_bytes gzip_bytes ratio plain_ms gzip_ms ratio
for path in "/api/v1/members?limit=200" "/api/v1/orders?limit=200" "/api/v1/openapi.json" "/metrics"; do
  read -r pb pt < <(fetch "http://127.0.0.1:$port$path" "")
  read -r gb gt < <(fetch "http://127.0.0.1:$port$path" "gzip")
  awk -v p="$path" -v pb="$pb" -v gb="$gb" -v pt="$pt" -v gt="$gt" \
    'BEGIN {printf "%-28s %12d %12d %8.3f %10.3f %10.3f %8.2f\n", p, pb, gb, gb/pb, pt, gt, gt/pt}'
done
