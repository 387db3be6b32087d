/* fuzz_store.h — one throwaway store per fuzzing process, seeded so inputs go deep.
 *
 * The store lives in a temp directory (on /dev/shm when there is one: fuzzing runs
 * thousands of transactions a second) and is removed at exit. The seed is a small
 * organisation plus one member and one order, so that inputs can match an identity,
 * attribute to a guide, replay an order (200) or clash with it (409), and refund it:
 *   brand 1; stores 1 S1 physical, 2 M1 mall; staff 1 guide (store 1), 2 guide (store 2),
 *   3 store_manager (store 1); member 1 phone 13800138000 card M00000001 unionid u1,
 *   guide 1; order 1 store/O1 of member 1, total 2580, two lines.
 * Everything the harness needs is called through the public headers only. */
#ifndef SIYU_FUZZ_STORE_H
#define SIYU_FUZZ_STORE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "domain/domain.h"

typedef struct fuzz_store {
    char dir[96];
    char path[128];
    store_t *st;
    dom d;
} fuzz_store;

static fuzz_store fz;

#define FZ_NOW "2026-11-22T12:00:00+08:00"

static __attribute__((unused)) void fz_die(const char *what, const siyu_err *e)
{
    fprintf(stderr, "fuzz setup: %s: %s\n", what, e ? e->message : "");
    abort();
}

static void fz_cleanup(void)
{
    if (!fz.st) return;
    store_conn_close(fz.d.conn);
    store_close(fz.st);
    fz.st = NULL;
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char p[160];
    for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
        snprintf(p, sizeof p, "%s%s", fz.path, suffix[i]);
        unlink(p);
    }
    rmdir(fz.dir);
}

/* Runs one seed call in its own committed transaction; setup must succeed. */
static void fz_seed(int (*fn)(dom *, json_t *, json_t **, siyu_err *), const char *body)
{
    siyu_err e;
    siyu_err_init(&e);
    json_error_t je;
    json_t *b = json_loads(body, 0, &je);
    if (!b) fz_die(body, NULL);
    if (store_begin(fz.d.conn, true, &e)) fz_die("begin", &e);
    if (fn(&fz.d, b, NULL, &e) < 0) fz_die(body, &e);
    if (store_commit(fz.d.conn, &e)) fz_die("commit", &e);
    json_decref(b);
}

/* The seed member (and its order), callable again after a reset. */
static __attribute__((unused)) void fz_seed_member(void)
{
    fz_seed(members_create_or_match,
            "{\"phone\":\"13800138000\",\"card_no\":\"M00000001\",\"unionid\":\"u1\","
            "\"name\":\"张伟\",\"guide_id\":1,\"joined_at\":\"2025-01-01T10:00:00+08:00\"}");
    fz_seed(orders_create,
            "{\"channel\":\"store\",\"external_id\":\"O1\",\"store_id\":1,"
            "\"placed_at\":\"2026-11-01T10:00:00+08:00\",\"total_cents\":2580,"
            "\"member\":{\"card_no\":\"M00000001\"},\"items\":["
            "{\"sku\":\"SKU0001\",\"category\":\"生鲜\",\"qty\":2,\"unit_price_cents\":1000},"
            "{\"sku\":\"SKU0002\",\"qty\":1,\"unit_price_cents\":580}]}");
}

static void fz_open(void)
{
    if (fz.st) return;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fz.dir, sizeof fz.dir, "%s/siyu-fuzz-XXXXXX", base);
    if (!mkdtemp(fz.dir)) fz_die("mkdtemp", NULL);
    snprintf(fz.path, sizeof fz.path, "%s/f.db", fz.dir);
    siyu_err e;
    siyu_err_init(&e);
    /* NORMAL: no fsync per commit; a fuzzing store need not survive power loss */
    store_options o = {.sync = STORE_SYNC_NORMAL, .create = true};
    if (store_open(fz.path, &o, &fz.st, &e) || store_conn_open(fz.st, &fz.d.conn, &e))
        fz_die("open", &e);
    atexit(fz_cleanup);
    fz.d.who.role = ROLE_ADMIN;
    if (time_parse_rfc3339(FZ_NOW, &fz.d.now)) fz_die("now", NULL);
    fz_seed(brands_create, "{\"name\":\"鲜丰\"}");
    fz_seed(stores_create,
            "{\"name\":\"文三路店\",\"code\":\"S1\",\"kind\":\"physical\",\"brand_id\":1}");
    fz_seed(stores_create, "{\"name\":\"线上商城\",\"code\":\"M1\",\"kind\":\"mall\"}");
    fz_seed(staff_create, "{\"name\":\"王芳\",\"role\":\"guide\",\"store_id\":1}");
    fz_seed(staff_create, "{\"name\":\"李娜\",\"role\":\"guide\",\"store_id\":2}");
    fz_seed(staff_create, "{\"name\":\"赵强\",\"role\":\"store_manager\",\"store_id\":1}");
    fz_seed_member();
}

/* The contract of every domain call on untrusted input: 200/201, or -1 with a client
 * error (4xx). A 500 or an unset error on bad input is a bug, so it stops the fuzzer. */
static __attribute__((unused)) void fz_check(const char *what, int rc, const siyu_err *e)
{
    if (rc == 200 || rc == 201) return;
    if (rc != -1) {
        fprintf(stderr, "%s: returned %d\n", what, rc);
        abort();
    }
    if (e->code == SIYU_OK || e->code == SIYU_INTERNAL) {
        fprintf(stderr, "%s: failed with code %s: %s\n", what, siyu_code_name(e->code), e->message);
        abort();
    }
}

#endif
