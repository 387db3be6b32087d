#!/usr/bin/env bash
# The views' snapshot end to end (docs/architecture.md, "Views snapshot"): a server started from
# the snapshot answers segment counts, a member 360's segment block and the KPI report exactly
# as a server that rebuilt its views; a write after the snapshot (by the CLI, or a server killed
# with -9) makes it stale and it is refused; a damaged or truncated file is refused; the CLI's
# segment count and report kpi answer the same with and without it.
set -u
SIYU=$1
DIR=$(mktemp -d /tmp/siyu-views-snap.XXXXXX)
DB=$DIR/s.db
PORT=$((20000 + RANDOM % 20000))
PID=
fail() { echo "FAIL: $*" >&2; [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; exit 1; }
trap '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$DIR"' EXIT

"$SIYU" demo --db "$DB" --members 1500 --no-serve >/dev/null 2>&1 || fail "demo"
TOK=$("$SIYU" token create --db "$DB" --role admin 2>/dev/null | tail -1)
[ -n "$TOK" ] || fail "token"

start() { # start [env…]: serve in the background, wait until ready
    env "$@" "$SIYU" serve --db "$DB" --listen 127.0.0.1:$PORT --access-log off \
        >"$DIR/out" 2>"$DIR/err" &
    PID=$!
    for _ in $(seq 1 200); do
        curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    cat "$DIR/err" >&2
    fail "serve did not become ready"
}
stop() { kill -TERM "$PID"; wait "$PID"; PID=; }
api() { curl -sf -H "Authorization: Bearer $TOK" "$@"; }
answers() { # what a server answers, to compare
    for e in 'orders >= 2' 'spend_365d_cents > 50000 and orders_90d >= 1' \
        'rfm = "重要价值" or lifecycle = "active"' 'city = "上海" and gender = "female"' \
        'segment:"big" and points_balance > 100' 'tier = "gold" or avg_ticket_cents > 30000' \
        'age >= 30 and last_order_days <= 200' 'favourite_category = "护肤"'; do
        api -X POST "http://127.0.0.1:$PORT/api/v1/segments/count" \
            -d "$(printf '{"expr":%s}' "$(printf '%s' "$e" | python3 -c 'import json,sys;print(json.dumps(sys.stdin.read()))')")" |
            python3 -c 'import json,sys;d=json.load(sys.stdin);print(d.get("count"), d.get("expr"))'
    done
    for m in 1 2 360 777 1200; do
        api "http://127.0.0.1:$PORT/api/v1/members/$m" |
            python3 -c 'import json,sys;d=json.load(sys.stdin);print(json.dumps(d,sort_keys=True))'
    done
    api "http://127.0.0.1:$PORT/api/v1/reports/kpi?from=2025-01-01&to=2027-12-31" |
        python3 -c 'import json,sys;d=json.load(sys.stdin);d.pop("took_ms",None);print(json.dumps(d,sort_keys=True))'
}

# 1. a rebuilt server, a write through it, a clean stop: the snapshot is written
start SIYU_VIEWS_SNAPSHOT=off
api -X POST "http://127.0.0.1:$PORT/api/v1/segments" -d '{"name":"big","expr":"orders >= 3"}' >/dev/null ||
    fail "save a segment"
answers >"$DIR/rebuilt.txt"
stop
start
grep -q "rebuilt" "$DIR/err" || fail "first start should rebuild"
answers >"$DIR/rebuilt2.txt"
stop
grep -q "views snapshot written" "$DIR/err" || fail "no snapshot at a clean stop"
[ -s "$DB.views" ] || fail "no $DB.views"

# 2. started from the snapshot: the same answers
start
grep -q "from the snapshot" "$DIR/err" || { cat "$DIR/err" >&2; fail "the snapshot was not used"; }
answers >"$DIR/snap.txt"
cmp -s "$DIR/rebuilt2.txt" "$DIR/snap.txt" || { diff "$DIR/rebuilt2.txt" "$DIR/snap.txt" >&2; fail "answers differ"; }
[ "$(grep -c '^[0-9]' "$DIR/snap.txt")" = 8 ] || { cat "$DIR/snap.txt" >&2; fail "not every count answered"; }

# 3. a write, then kill -9: the snapshot on disk is stale and refused
api -X POST "http://127.0.0.1:$PORT/api/v1/segments" -d '{"name":"small","expr":"orders = 1"}' >/dev/null ||
    fail "save a segment"
kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=
start
grep -q "not used (taken at change" "$DIR/err" || { cat "$DIR/err" >&2; fail "a stale snapshot was not refused after kill -9"; }
stop

# 4. a CLI write while no server runs: refused too
"$SIYU" segment count 'orders >= 2' --db "$DB" >"$DIR/cli_snap.txt" || fail "cli count"
printf 'name,phone\nZhang San,13800138999\n' >"$DIR/m.csv"
"$SIYU" import members "$DIR/m.csv" --db "$DB" --set store_id=1 --quiet >/dev/null 2>&1
start
grep -q "not used (taken at change" "$DIR/err" || { cat "$DIR/err" >&2; fail "a stale snapshot was not refused after an import"; }
stop

# 5. damaged and truncated files are refused (and the server rebuilds)
cp "$DB.views" "$DIR/good.views"
SIZE=$(stat -c %s "$DB.views")
for off in 3 100 200 $((SIZE / 3)) $((SIZE / 2)) $((SIZE - 5)); do
    cp "$DIR/good.views" "$DB.views"
    printf '\xff' | dd of="$DB.views" bs=1 seek="$off" conv=notrunc 2>/dev/null
    cmp -s "$DIR/good.views" "$DB.views" && printf '\x00' | dd of="$DB.views" bs=1 seek="$off" conv=notrunc 2>/dev/null
    start
    grep -q "from the snapshot" "$DIR/err" && fail "a snapshot damaged at byte $off was used"
    grep -q "not used" "$DIR/err" || fail "no reason given for byte $off"
    kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=
done
cp "$DIR/good.views" "$DB.views"
truncate -s $((SIZE - 1000)) "$DB.views"
start
grep -q "from the snapshot" "$DIR/err" && fail "a truncated snapshot was used"
kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=

# 6. the CLI: the same answers with a fresh snapshot and without one
"$SIYU" views snapshot --db "$DB" >/dev/null || fail "views snapshot"
A=$("$SIYU" segment count 'orders >= 2 and city = "上海"' --db "$DB" --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["count"])')
B=$(SIYU_VIEWS_SNAPSHOT=off "$SIYU" segment count 'orders >= 2 and city = "上海"' --db "$DB" --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["count"])')
[ "$A" = "$B" ] || fail "cli count $A with the snapshot, $B rebuilt"
K1=$("$SIYU" report kpi --db "$DB" --from 2025-01-01 --to 2027-12-31 --format json | md5sum)
K2=$(SIYU_VIEWS_SNAPSHOT=off "$SIYU" report kpi --db "$DB" --from 2025-01-01 --to 2027-12-31 --format json | md5sum)
[ "$K1" = "$K2" ] || fail "report kpi differs with the snapshot"
echo "views snapshot: ok"
