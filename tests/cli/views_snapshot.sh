#!/usr/bin/env bash
# The views' snapshot end to end (docs/architecture.md, "Views snapshot"): a server started from
# the snapshot answers segment counts, a member 360's segment block and the KPI report exactly
# as a server that rebuilt its views; a write after the snapshot (by the CLI, or a server killed
# with -9) makes it stale and it is refused; a damaged or truncated file is refused; the CLI's
# segment count and report kpi answer the same with and without it.
# With SIYU_TEST_DB set to a PostgreSQL URL (tests/pg.cmake), the same on a database made for
# the run, the snapshot at a path given (--views-snapshot, $SIYU_VIEWS_SNAPSHOT).
set -u
SIYU=$1
DIR=$(mktemp -d /tmp/siyu-views-snap.XXXXXX)
DB=$DIR/s.db
PGDB=
case "${SIYU_TEST_DB:-}" in
postgres://* | postgresql://*)
    PGDB=siyu_snap_$$_$RANDOM
    psql "$SIYU_TEST_DB" -qc "CREATE DATABASE $PGDB" >/dev/null || exit 1
    DB=${SIYU_TEST_DB%/*}/$PGDB
    ;;
esac
SNAP=$DIR/s.views
export SIYU_VIEWS_SNAPSHOT=$SNAP
PORT=
PID=
fail() { echo "FAIL: $*" >&2; [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; exit 1; }
cleanup() {
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
    [ -n "$PGDB" ] && psql "$SIYU_TEST_DB" -qc "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT

"$SIYU" demo --db "$DB" --members 1500 --no-serve >/dev/null 2>&1 || fail "demo"
TOK=$("$SIYU" token create --db "$DB" --role admin 2>/dev/null | tail -1)
[ -n "$TOK" ] || fail "token"

# Serves in the background (the snapshot from $SIYU_VIEWS_SNAPSHOT) and waits until ready. The
# system picks the port as siyu binds it and siyu's banner names it: a port this script chose
# could be taken by a test running beside it before siyu listened.
start() {
    "$SIYU" serve --db "$DB" --listen 127.0.0.1:0 --access-log off \
        >"$DIR/out" 2>"$DIR/err" &
    PID=$!
    PORT=
    for _ in $(seq 1 300); do
        [ -n "$PORT" ] || PORT=$(sed -n 's|.* on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$DIR/out" | head -1)
        [ -n "$PORT" ] && curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0
        kill -0 "$PID" 2>/dev/null || break
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
    # the group view reads the facts' orders by their instant: from the snapshot as from SQL
    for src in view sql; do
        api "http://127.0.0.1:$PORT/api/v1/reports/groups?from=2025-01-01&to=2027-12-31&source=$src" |
            python3 -c 'import json,sys;d=json.load(sys.stdin);d.pop("took_ms",None);print(json.dumps(d,sort_keys=True))'
    done > "$DIR/groups.$PORT"
    cmp -s <(sed -n 1p "$DIR/groups.$PORT") <(sed -n 2p "$DIR/groups.$PORT") ||
        fail "the group view and SQL disagree"
    python3 -c 'import json,sys;d=json.loads(open(sys.argv[1]).readline());sys.exit(0 if d["chain"]["orders"] > 0 else 1)' \
        "$DIR/groups.$PORT" || fail "the demo's groups have no orders to compare"
    sed -n 1p "$DIR/groups.$PORT"
}

# 1. a rebuilt server, a write through it, a clean stop: the snapshot is written
SIYU_VIEWS_SNAPSHOT=off start
api -X POST "http://127.0.0.1:$PORT/api/v1/segments" -d '{"name":"big","expr":"orders >= 3"}' >/dev/null ||
    fail "save a segment"
answers >"$DIR/rebuilt.txt"
stop
start
grep -q "rebuilt" "$DIR/err" || fail "first start should rebuild"
api "http://127.0.0.1:$PORT/metrics" | grep -q '^siyu_views_start_seconds{source="store"} [0-9.]*$' ||
    fail "/metrics does not say the views were rebuilt"
answers >"$DIR/rebuilt2.txt"
stop
grep -q "views snapshot written" "$DIR/err" || fail "no snapshot at a clean stop"
[ -s "$SNAP" ] || fail "no $SNAP"

# 2. started from the snapshot: the same answers. The node uses the file's pages in place and
# takes it out of the directory, so a truncation of that path (or a copy over it) cannot reach
# the pages under it (before, the next read of a column faulted the node with SIGBUS).
start
grep -q "from the snapshot" "$DIR/err" || { cat "$DIR/err" >&2; fail "the snapshot was not used"; }
for _ in $(seq 1 50); do grep -q "in use: taken out of the directory" "$DIR/err" && break; sleep 0.1; done
grep -q "in use: taken out of the directory" "$DIR/err" || fail "the snapshot in use was left in the directory"
api "http://127.0.0.1:$PORT/metrics" | grep -q '^siyu_views_start_seconds{source="snapshot"} [0-9.]*$' ||
    fail "/metrics does not say the views came from the snapshot"
[ -e "$SNAP" ] && fail "$SNAP is still there"
: >"$SNAP" # what an operator's copy over the path begins with
answers >"$DIR/snap.txt"
cmp -s "$DIR/rebuilt2.txt" "$DIR/snap.txt" || { diff "$DIR/rebuilt2.txt" "$DIR/snap.txt" >&2; fail "answers differ"; }
[ "$(grep -c '^[0-9]' "$DIR/snap.txt")" = 8 ] || { cat "$DIR/snap.txt" >&2; fail "not every count answered"; }

# 2b. writes the server's views follow (a member, orders, a rule tag, a manual tag's members),
# a clean stop: started from that snapshot, the answers of a rebuild over the same store
api -X POST "http://127.0.0.1:$PORT/api/v1/members" \
    -d '{"phone":"13900139000","name":"李雷","city":"上海","gender":"female","store_id":1}' >/dev/null ||
    fail "a member"
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for i in 1 2 3; do
    api -X POST "http://127.0.0.1:$PORT/api/v1/orders" -d '{"channel":"store","external_id":"SNAP-'$i'",
        "store_id":1,"placed_at":"'"$NOW"'","total_cents":'$((30000 * i))',"member":{"phone":"13900139000"},
        "items":[{"sku":"SNAP-SKU","category":"护肤","qty":'$i',"unit_price_cents":30000}]}' >/dev/null ||
        fail "an order"
done
api -X POST "http://127.0.0.1:$PORT/api/v1/orders" -d '{"channel":"store","external_id":"SNAP-360",
    "store_id":2,"placed_at":"'"$NOW"'","total_cents":8800,"member_id":360,
    "items":[{"sku":"SNAP-SKU2","category":"零食","qty":4,"unit_price_cents":2200}]}' >/dev/null ||
    fail "an order of member 360"
api -X POST "http://127.0.0.1:$PORT/api/v1/tags" -d '{"name":"snap_rule","expr":"orders >= 3 and city = \"上海\""}' >/dev/null ||
    fail "a rule tag"
TAG=$(api -X POST "http://127.0.0.1:$PORT/api/v1/tags" -d '{"name":"snap_manual"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
# a refund of an order and a merge of two members the snapshot held (their columns written
# in place, in the mapping's private copy), and a refund of an order placed since
for m in 777 901; do
    O=$(api "http://127.0.0.1:$PORT/api/v1/orders?member_id=$m" | python3 -c 'import json,sys;d=json.load(sys.stdin)["items"];print(d[0]["id"] if d else "")')
    [ -z "$O" ] || api -X POST "http://127.0.0.1:$PORT/api/v1/orders/$O/refunds" \
        -d '{"external_id":"SNAP-RF-'$m'","amount_cents":100}' >/dev/null || fail "a refund of order $O"
done
O=$(api "http://127.0.0.1:$PORT/api/v1/orders?member_id=360" | python3 -c 'import json,sys;print(max(o["id"] for o in json.load(sys.stdin)["items"]))')
api -X POST "http://127.0.0.1:$PORT/api/v1/orders/$O/refunds" -d '{"external_id":"SNAP-RF-NEW","amount_cents":800}' >/dev/null ||
    fail "a refund of the new order $O"
api -X POST "http://127.0.0.1:$PORT/api/v1/members/900/merge" -d '{"from_member_id":902}' >/dev/null ||
    fail "a merge"
api -X POST "http://127.0.0.1:$PORT/api/v1/tags/$TAG/members" -d '{"member_ids":[360,777,1200]}' >/dev/null ||
    fail "tag members"
stop
grep -q "views snapshot written" "$DIR/err" || fail "no snapshot at the second clean stop"
start
grep -q "from the snapshot" "$DIR/err" || { cat "$DIR/err" >&2; fail "the snapshot was not used after writes"; }
answers >"$DIR/snap2.txt"
stop
cp "$SNAP" "$DIR/keep.views"
SIYU_VIEWS_SNAPSHOT=off start
answers >"$DIR/rebuilt3.txt"
stop
cmp -s "$DIR/rebuilt3.txt" "$DIR/snap2.txt" || { diff "$DIR/rebuilt3.txt" "$DIR/snap2.txt" >&2; fail "answers after writes differ"; }
cmp -s "$DIR/snap.txt" "$DIR/snap2.txt" && fail "the writes changed no answer"
"$SIYU" views snapshot --db "$DB" >/dev/null || fail "views snapshot"
cp "$SNAP" "$DIR/before-kill.views"
start
grep -q "from the snapshot" "$DIR/err" || fail "siyu views snapshot was not used"

# 3. a write, then kill -9: the snapshot on disk is stale and refused (the node took the file
# out of the directory once serving; put back, it is refused by its change sequence)
api -X POST "http://127.0.0.1:$PORT/api/v1/segments" -d '{"name":"small","expr":"orders = 1"}' >/dev/null ||
    fail "save a segment"
kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=
cp "$DIR/before-kill.views" "$SNAP"
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
cp "$SNAP" "$DIR/good.views"
SIZE=$(stat -c %s "$SNAP")
for off in 3 100 200 $((SIZE / 3)) $((SIZE / 2)) $((SIZE - 5)); do
    cp "$DIR/good.views" "$SNAP"
    printf '\xff' | dd of="$SNAP" bs=1 seek="$off" conv=notrunc 2>/dev/null
    cmp -s "$DIR/good.views" "$SNAP" && printf '\x00' | dd of="$SNAP" bs=1 seek="$off" conv=notrunc 2>/dev/null
    start
    grep -q "from the snapshot" "$DIR/err" && fail "a snapshot damaged at byte $off was used"
    grep -q "not used" "$DIR/err" || fail "no reason given for byte $off"
    kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=
done
cp "$DIR/good.views" "$SNAP"
truncate -s $((SIZE - 1000)) "$SNAP"
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
