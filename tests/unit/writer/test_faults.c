/* Fault injection at the store boundary (SQLite's own fault model: SQLITE_IOERR at
 * step N). Each write path — an order, a refund, a merge, an import, a journey step —
 * runs with the N-th store step failing, for N = 1, 2, … until it succeeds with no
 * fault hit. After every failed attempt: the answer is a clean internal error (no
 * crash, no refusal built on a failed read), the store's rows equal those before the
 * attempt (nothing half-written), and `siyu check` (loyalty_check) is clean. */
#include <check.h>
#include <pgtest.h>
#include <storeread.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "domain/domain.h"
#include "base/json_arena.h"
#include "import/import.h"
#include "journey/journey.h"
#include "loyalty/loyalty.h"
#include "writer/writer.h"

static store_t *st;
static writer_t *w;
static char path[512], pg_name[64];

/* Every row of every table, in one string: "nothing half-written" compares two. The store
 * is read directly (storeread.h), on either engine. */
typedef struct dump_buf {
    char *out;
    size_t len, cap;
    char (*tables)[64];
    int ntables;
} dump_buf;

static void dump_row(void *ctx, const char *const *v, int n)
{
    dump_buf *d = ctx;
    for (int i = 0; i < n; i++) {
        size_t need = (v[i] ? strlen(v[i]) : 4) + 2;
        if (d->len + need + 64 >= d->cap) {
            d->cap = (d->cap + need) * 2;
            d->out = realloc(d->out, d->cap);
        }
        d->len += (size_t)snprintf(d->out + d->len, d->cap - d->len, "%s|", v[i] ? v[i] : "NULL");
    }
    d->out[d->len++] = '\n';
    d->out[d->len] = 0;
}

static void dump_table(void *ctx, const char *const *v, int n)
{
    dump_buf *d = ctx;
    if (n > 0 && v[0] && d->ntables < 256) snprintf(d->tables[d->ntables++], 64, "%s", v[0]);
}

static char *dump(void)
{
    static char tables[256][64];
    dump_buf d = {.cap = 1 << 16, .tables = tables};
    d.out = malloc(d.cap);
    d.out[0] = 0;
    if (sr_each(path, sr_tables_sql(path), dump_table, &d) < 0) {
        free(d.out);
        return NULL;
    }
    for (int t = 0; t < d.ntables; t++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" ORDER BY 1", tables[t]);
        sr_each(path, sql, dump_row, &d);
    }
    return d.out;
}

static int check_clean(void)
{
    store_conn *c;
    siyu_err e;
    siyu_err_init(&e);
    if (store_conn_open(st, &c, &e)) return -1;
    json_t *v = NULL;
    int found = -1;
    if (store_begin(c, false, &e) == 0) {
        found = loyalty_check(c, clock_now(), 5, &v, &e);
        store_rollback(c);
    }
    if (found != 0) {
        char *t = v ? json_dumps(v, JSON_COMPACT) : NULL;
        fprintf(stderr, "siyu check: %d (%s) %s\n", found, e.message, t ? t : "");
        free(t);
    }
    json_decref(v);
    store_conn_close(c);
    return found;
}

/* ---- the operations, each one write through the group committer ---- */

typedef int (*dom_op)(dom *d, void *arg, siyu_err *e);
typedef struct op_call {
    dom_op op;
    void *arg;
} op_call;

static int op_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    op_call *x = arg;
    dom d = {.conn = c, .now = clock_now(), .changes = changes};
    d.who.role = ROLE_ADMIN;
    return x->op(&d, x->arg, e);
}

static int body_op(dom *d, void *arg, siyu_err *e,
                   int (*fn)(dom *, json_t *, json_t **, siyu_err *))
{
    json_t *body = json_loads(arg, 0, NULL), *out = NULL;
    int rc = fn(d, body, &out, e);
    json_decref(body);
    json_decref(out);
    return rc < 0 ? -1 : 0;
}

static int brand_op(dom *d, void *arg, siyu_err *e)
{
    return body_op(d, arg, e, brands_create);
}
static int store_op(dom *d, void *arg, siyu_err *e)
{
    return body_op(d, arg, e, stores_create);
}
static int member_op(dom *d, void *arg, siyu_err *e)
{
    return body_op(d, arg, e, members_create_or_match);
}
static int order_op(dom *d, void *arg, siyu_err *e)
{
    return body_op(d, arg, e, orders_create);
}
static int journey_op(dom *d, void *arg, siyu_err *e)
{
    json_t *body = json_loads(arg, 0, NULL), *out = NULL;
    int rc = journeys_create(d, body, &out, e);
    int64_t id = json_integer_value(json_object_get(out, "id"));
    json_decref(body);
    json_decref(out);
    out = NULL;
    if (rc >= 0) rc = journeys_set_state(d, id, "activate", &out, e);
    json_decref(out);
    return rc < 0 ? -1 : 0;
}

static int64_t refunded_order; /* read from the store: PostgreSQL never gives an id back */

static int refund_op(dom *d, void *arg, siyu_err *e)
{
    json_t *body = json_loads(arg, 0, NULL), *out = NULL;
    int rc = orders_refund(d, refunded_order, body, &out, e);
    json_decref(body);
    json_decref(out);
    return rc < 0 ? -1 : 0;
}

static int merge_op(dom *d, void *arg, siyu_err *e)
{
    json_t *body = json_loads(arg, 0, NULL), *out = NULL;
    int rc = members_merge(d, 1, body, &out, e);
    json_decref(body);
    json_decref(out);
    return rc < 0 ? -1 : 0;
}

static int tick_op(dom *d, void *arg, siyu_err *e)
{
    (void)arg;
    json_t *out = NULL;
    int rc = journey_tick(d, NULL, 0, &out, e);
    json_decref(out);
    return rc < 0 ? -1 : 0;
}

static int submit_op(dom_op op, const void *arg, siyu_err *e)
{
    op_call x = {op, (void *)arg};
    return writer_submit(w, op_fn, &x, NULL, e);
}

/* An import commits in batches of its own: it runs alone on the writer. */
static int import_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    (void)changes;
    const char *text = arg;
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    import_options o;
    import_options_init(&o);
    o.format = IMPORT_NDJSON;
    import_result r;
    principal who = {.role = ROLE_ADMIN};
    int rc = import_stream(c, &who, "orders", in, &o, &r, e);
    fclose(in);
    json_decref(r.errors);
    if (rc == 0 && r.imported != 3)
        rc = siyu_err_set(e, SIYU_INTERNAL, NULL, "import: %lld of 3 imported, %lld rejected",
                          (long long)r.imported, (long long)r.rejected);
    return rc;
}

static int import_op(const void *arg, siyu_err *e)
{
    return writer_exclusive(w, import_fn, (void *)arg, NULL, e);
}

/* Runs one operation with the N-th step failing, N = 1, 2, … until it succeeds with no
 * fault hit; checks every failed attempt. Returns the number of faults survived. */
static store_fault fault_kind = STORE_FAULT_IOERR;

static int with_faults(const char *name, dom_op op, const void *arg, bool import)
{
    int n;
    for (n = 1; n < 5000; n++) {
        char *before = dump();
        long hits = store_fault_hits(st);
        store_fault_set(st, n, fault_kind);
        siyu_err e;
        siyu_err_init(&e);
        int rc = import ? import_op(arg, &e) : submit_op(op, arg, &e);
        store_fault_set(st, 0, STORE_FAULT_IOERR);
        bool hit = store_fault_hits(st) > hits;
        if (!hit) {
            if (rc != 0) fprintf(stderr, "%s: failed with no fault: %s\n", name, e.message);
            CHECK_INT_EQ(rc, 0);
            siyu_err_clear(&e);
            free(before);
            break;
        }
        /* a clean error: internal (5xx), never a refusal built on a failed read */
        if (rc == 0 || e.code != SIYU_INTERNAL)
            fprintf(stderr, "%s: fault at step %d answered rc %d, %s: %s\n", name, n, rc,
                    siyu_code_name(e.code), e.message);
        CHECK(rc != 0);
        CHECK_INT_EQ(e.code, SIYU_INTERNAL);
        siyu_err_clear(&e);
        /* nothing half-written */
        char *after = dump();
        if (strcmp(before, after) != 0)
            fprintf(stderr, "%s: fault at step %d changed the store\n", name, n);
        CHECK(strcmp(before, after) == 0);
        free(before);
        free(after);
        CHECK_INT_EQ(check_clean(), 0);
        if (check_failures_) break; /* one report per path is enough */
    }
    fprintf(stderr, "%s: %d faulted attempts, each clean\n", name, n - 1);
    CHECK(n > 1); /* the path did step on the store */
    return n - 1;
}

int main(void)
{
    json_arena_install(); /* as siyu's main does: the import parses into arenas */
    char dir[] = "/tmp/siyu-faults-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int pg = pgtest_fresh("faults", pg_name, path, sizeof path);
    CHECK(pg >= 0);
    if (pg > 0) snprintf(path, sizeof path, "%s/f.db", dir);
    siyu_err e;
    siyu_err_init(&e);
    store_options create = {.sync = STORE_SYNC_NORMAL, .create = true};
    CHECK_INT_EQ(store_open(path, &create, &st, &e), 0);
    loyalty_install();
    CHECK_INT_EQ(writer_start(st, NULL, NULL, &w, &e), 0);

    /* the chain: a brand, a store, two members, a journey on paid orders */
    CHECK_INT_EQ(submit_op(brand_op, "{\"name\":\"B\"}", &e), 0);
    CHECK_INT_EQ(submit_op(store_op,
                           "{\"code\":\"S1\",\"name\":\"S1\",\"brand_id\":1,\"kind\":\"physical\"}",
                           &e),
                 0);
    CHECK_INT_EQ(
        submit_op(member_op, "{\"phone\":\"13900000001\",\"name\":\"A\",\"store_id\":1}", &e), 0);
    CHECK_INT_EQ(submit_op(member_op, "{\"card_no\":\"K2\",\"name\":\"B\",\"city\":\"杭州\"}", &e),
                 0);
    CHECK_INT_EQ(
        submit_op(journey_op,
                  "{\"name\":\"thanks\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":["
                  "{\"action\":\"send_message\",\"channel\":\"sms\",\"template\":\"thanks\"},"
                  "{\"action\":\"exit\"}]}",
                  &e),
        0);
    if (e.code) fprintf(stderr, "setup: %s\n", e.message);
    siyu_err_clear(&e);

    /* the paths */
    with_faults("order", order_op,
                "{\"channel\":\"store\",\"external_id\":\"O1\",\"store_id\":1,\"member_id\":1,"
                "\"placed_at\":\"2026-11-20T10:00:00+08:00\",\"total_cents\":10000,\"items\":["
                "{\"sku\":\"A\",\"qty\":2,\"unit_price_cents\":5000}]}",
                false);
    /* a busy store (another process holding the lock past the timeout) is the same */
    fault_kind = STORE_FAULT_BUSY;
    with_faults("order (busy)", order_op,
                "{\"channel\":\"store\",\"external_id\":\"O2\",\"store_id\":1,\"member_id\":2,"
                "\"placed_at\":\"2026-11-20T11:00:00+08:00\",\"total_cents\":4000,\"items\":["
                "{\"sku\":\"B\",\"qty\":1,\"unit_price_cents\":4000}]}",
                false);
    fault_kind = STORE_FAULT_IOERR;
    refunded_order = sr_int(path, "SELECT min(id) FROM orders");
    with_faults("refund", refund_op, "{\"external_id\":\"R1\",\"amount_cents\":3000}", false);
    with_faults("journey step", tick_op, NULL, false);
    with_faults("merge", merge_op, "{\"from_member_id\":2}", false);
    with_faults("import", NULL,
                "{\"channel\":\"store\",\"external_id\":\"I1\",\"store_id\":1,\"placed_at\":\"2026-"
                "11-21T10:00:00+08:00\",\"total_cents\":500,\"member\":{\"card_no\":\"IK1\"},"
                "\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":500}]}\n"
                "{\"channel\":\"store\",\"external_id\":\"I2\",\"store_id\":1,\"placed_at\":\"2026-"
                "11-21T11:00:00+08:00\",\"total_cents\":700,\"member_id\":1,\"items\":[{\"sku\":"
                "\"B\",\"qty\":1,\"unit_price_cents\":700}]}\n"
                "{\"channel\":\"mall\",\"external_id\":\"I3\",\"store_id\":1,\"placed_at\":\"2026-"
                "11-21T12:00:00+08:00\",\"total_cents\":900,\"items\":[{\"sku\":\"C\",\"qty\":1,"
                "\"unit_price_cents\":900}]}\n",
                true);
    CHECK_INT_EQ(check_clean(), 0);

    writer_stop(w);
    store_close(st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT_EQ(system(cmd), 0);
    pgtest_drop(pg_name);
    return CHECK_DONE();
}
