/* group_view.c — the groups report from memory (group_view.h says what it owns).
 *
 * Layout, compact so 10 million stints take about 240 MB: a stint is 8 bytes at the slot
 * of its store id (ids are dense: group, joined and quit days after 2000-01-01), and 8 for
 * its times (seconds after 2000-01-01 in 32 bits) and 8 for the members it names in arrays
 * apart, so the per-report pass reads 8;
 * a group-day is 8 bytes (day after 2000-01-01, speakers, messages) in its group's sorted
 * list, with running sums at every 32nd so a period's sums read a few dozen. Members with
 * stints have a slot holding their stints' slots. */
#include "views/group_view.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/checked.h"
#include "base/timeutil.h"

#define GV_T0 946684800LL /* 2000-01-01T00:00:00Z */
#define GV_DAY0 10957     /* its day number */
#define GV_NONE UINT32_MAX
#define GV_MAX_STINT_ID 400000000LL

typedef struct gv_day {
    uint16_t day; /* after GV_DAY0 */
    uint16_t speakers;
    uint32_t messages;
} gv_day;

typedef struct gv_group {
    int64_t id, store_id, owner_id, cap;
    char *chat_id, *name, *theme; /* name, theme NULL when NULL */
    char state[16];
    gv_day *days;
    uint32_t nd, cd;
    /* running sums at every GV_CK-th day: ck_*[i] sums days[0 .. i * GV_CK) */
    uint64_t *ck_sp;
    uint64_t *ck_ms;
} gv_group;

/* What the per-report pass reads, 8 bytes: the stint's group and its local days (the
 * report counts joins, quits, members and member-days by day, as the SQL does). Its times
 * (for orders) and the members it names are in arrays apart. */
typedef struct gv_stint {
    uint32_t group;      /* group slot + 1 (0: no customer stint here) | GV_QUITS */
    uint16_t jday, qday; /* after GV_DAY0; qday GV_NODAY: no quit day */
} gv_stint;
typedef struct gv_times {
    uint32_t joined, quit; /* seconds after GV_T0; quit GV_NONE: still in */
} gv_times;
#define GV_QUITS 0x80000000u /* quit, and not by a dismissal */
#define GV_SLOT(g) ((g)&0x7fffffffu)
#define GV_NODAY 0xFFFF
#define GV_CK 32 /* group-days per checkpoint of the running sums */

typedef struct gv_list {
    uint32_t *v;
    uint32_t n, cap;
} gv_list;

/* open addressing int64 -> uint32 (keys never 0) */
typedef struct gv_map {
    int64_t *k;
    uint32_t *v;
    size_t cap, n;
} gv_map;

typedef struct gv_data {
    gv_map group_ix; /* id -> slot */
    gv_group *groups;
    size_t n_groups, cap_groups;
    bool sorted; /* slots in id order */
    gv_stint *stints;
    gv_times *times;
    uint32_t (*sm)[2]; /* per stint: the member slots + 1 its person / unionid name, 0 none */
    size_t cap_stints, n_stints; /* n: highest id + 1 */
    gv_map member_ix;            /* member id -> slot */
    int64_t *m_id;
    gv_list *m_st;
    size_t n_members, cap_members;
    size_t n_days;
    bool broken; /* something did not fit: answer from SQL */
} gv_data;

struct group_view {
    pthread_rwlock_t lock;
    gv_data d;
    reports_t *reports;
    store_t *st;
    atomic_bool stale; /* a read failed or a value did not fit */
    /* the background rebuild: changes arriving meanwhile wait in `pending` */
    pthread_mutex_t rb_lock;
    bool rebuilding, hopeless; /* hopeless: the data itself does not fit */
    pthread_t rb_thread;
    bool rb_joinable;
    dom_change *pending;
    size_t n_pending, cap_pending;
    atomic_uint_fast64_t rebuilds;
};

/* ---------------- small containers ---------------- */

static size_t hash64(int64_t k)
{
    uint64_t x = (uint64_t)k * 0x9E3779B97F4A7C15ULL;
    return (size_t)(x ^ (x >> 29));
}

static uint32_t map_get(const gv_map *m, int64_t k)
{
    if (!m->cap) return GV_NONE;
    size_t mask = m->cap - 1;
    for (size_t i = hash64(k) & mask;; i = (i + 1) & mask) {
        if (m->k[i] == k) return m->v[i];
        if (m->k[i] == 0) return GV_NONE;
    }
}

static void map_put(gv_map *m, int64_t k, uint32_t v)
{
    if ((m->n + 1) * 2 > m->cap) {
        gv_map g = {.cap = m->cap ? m->cap * 2 : 1024};
        g.k = calloc(g.cap, sizeof *g.k);
        g.v = malloc(g.cap * sizeof *g.v);
        for (size_t i = 0; i < m->cap; i++)
            if (m->k[i]) map_put(&g, m->k[i], m->v[i]);
        free(m->k);
        free(m->v);
        *m = g;
    }
    size_t mask = m->cap - 1;
    for (size_t i = hash64(k) & mask;; i = (i + 1) & mask) {
        if (m->k[i] == k) {
            m->v[i] = v;
            return;
        }
        if (m->k[i] == 0) {
            m->k[i] = k;
            m->v[i] = v;
            m->n++;
            return;
        }
    }
}

static void list_add(gv_list *l, uint32_t x)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (l->v[i] == x) return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 2;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = x;
}

static void list_del(gv_list *l, uint32_t x)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (l->v[i] == x) {
            l->v[i] = l->v[--l->n];
            return;
        }
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void data_free(gv_data *d)
{
    for (size_t i = 0; i < d->n_groups; i++) {
        free(d->groups[i].chat_id);
        free(d->groups[i].name);
        free(d->groups[i].theme);
        free(d->groups[i].days);
        free(d->groups[i].ck_sp);
        free(d->groups[i].ck_ms);
    }
    free(d->groups);
    free(d->group_ix.k);
    free(d->group_ix.v);
    free(d->stints);
    free(d->sm);
    free(d->times);
    for (size_t i = 0; i < d->n_members; i++)
        free(d->m_st[i].v);
    free(d->m_st);
    free(d->m_id);
    free(d->member_ix.k);
    free(d->member_ix.v);
    memset(d, 0, sizeof *d);
}

/* ---------------- rows into the layout ---------------- */

/* a group's running-sum checkpoints, after its days changed */
static void group_ck_build(gv_group *g)
{
    uint32_t n = g->nd / GV_CK + 1;
    g->ck_sp = realloc(g->ck_sp, n * sizeof *g->ck_sp);
    g->ck_ms = realloc(g->ck_ms, n * sizeof *g->ck_ms);
    uint64_t sp = 0, ms = 0;
    for (uint32_t i = 0; i < g->nd; i++) {
        if (i % GV_CK == 0) g->ck_sp[i / GV_CK] = sp, g->ck_ms[i / GV_CK] = ms;
        sp += g->days[i].speakers;
        ms += g->days[i].messages;
    }
    if (g->nd % GV_CK == 0) g->ck_sp[g->nd / GV_CK] = sp, g->ck_ms[g->nd / GV_CK] = ms;
}

/* the sums of days[0 .. k) */
static inline void group_prefix(const gv_group *g, uint32_t k, int64_t *sp, int64_t *ms)
{
    uint32_t b = k / GV_CK;
    int64_t a = (int64_t)g->ck_sp[b], m = (int64_t)g->ck_ms[b];
    for (uint32_t i = b * GV_CK; i < k; i++)
        a += g->days[i].speakers, m += g->days[i].messages;
    *sp = a;
    *ms = m;
}

static uint32_t group_slot(gv_data *d, int64_t id)
{
    uint32_t x = map_get(&d->group_ix, id);
    if (x != GV_NONE) return x;
    if (d->n_groups == d->cap_groups) {
        d->cap_groups = d->cap_groups ? d->cap_groups * 2 : 1024;
        d->groups = realloc(d->groups, d->cap_groups * sizeof *d->groups);
    }
    x = (uint32_t)d->n_groups++;
    memset(&d->groups[x], 0, sizeof d->groups[x]);
    d->groups[x].id = id;
    group_ck_build(&d->groups[x]);
    if (x > 0 && d->groups[x - 1].id > id) d->sorted = false;
    map_put(&d->group_ix, id, x);
    return x;
}

/* a Q_GV_GROUP(S) row */
static void group_row(gv_data *d, store_stmt *s)
{
    uint32_t slot = group_slot(d, store_col_int(s, 0)); /* may move d->groups */
    gv_group *g = &d->groups[slot];
    g->store_id = store_col_int(s, 1);
    g->owner_id = store_col_null(s, 2) ? 0 : store_col_int(s, 2);
    free(g->theme);
    free(g->name);
    free(g->chat_id);
    g->theme = dup_or_null(store_col_text(s, 3));
    g->name = dup_or_null(store_col_text(s, 4));
    g->chat_id = strdup(store_col_text(s, 5) ? store_col_text(s, 5) : "");
    g->cap = store_col_int(s, 6);
    snprintf(g->state, sizeof g->state, "%s", store_col_text(s, 7) ? store_col_text(s, 7) : "");
}

/* sets (or clears, speakers = messages = -1) a group-day */
static void day_put(gv_data *d, uint32_t slot, int32_t day, int64_t speakers, int64_t messages)
{
    gv_group *g = &d->groups[slot];
    if (day < GV_DAY0 || day - GV_DAY0 > 65535 || speakers > 65535 || messages > UINT32_MAX ||
        speakers < -1 || messages < -1) {
        d->broken = true;
        return;
    }
    uint16_t k = (uint16_t)(day - GV_DAY0);
    uint32_t lo = 0, hi = g->nd;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (g->days[mid].day < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    bool found = lo < g->nd && g->days[lo].day == k;
    if (speakers < 0) {
        if (found) {
            memmove(&g->days[lo], &g->days[lo + 1], (g->nd - lo - 1) * sizeof *g->days);
            g->nd--;
            d->n_days--;
        }
        return;
    }
    if (!found) {
        if (g->nd == g->cd) {
            g->cd = g->cd ? g->cd * 2 : 8;
            g->days = realloc(g->days, g->cd * sizeof *g->days);
        }
        memmove(&g->days[lo + 1], &g->days[lo], (g->nd - lo) * sizeof *g->days);
        g->nd++;
        d->n_days++;
    }
    g->days[lo] =
        (gv_day){.day = k, .speakers = (uint16_t)speakers, .messages = (uint32_t)messages};
}

static gv_stint *stint_at(gv_data *d, int64_t id)
{
    if (id <= 0 || id > GV_MAX_STINT_ID) {
        d->broken = true;
        return NULL;
    }
    if ((size_t)id >= d->cap_stints) {
        size_t cap = d->cap_stints ? d->cap_stints : 1024;
        while (cap <= (size_t)id) /* by a quarter: 10 M stints are 240 MB */
            cap += cap / 4 + 1024;
        d->stints = realloc(d->stints, cap * sizeof *d->stints);
        memset(d->stints + d->cap_stints, 0, (cap - d->cap_stints) * sizeof *d->stints);
        d->sm = realloc(d->sm, cap * sizeof *d->sm);
        memset(d->sm + d->cap_stints, 0, (cap - d->cap_stints) * sizeof *d->sm);
        d->times = realloc(d->times, cap * sizeof *d->times);
        d->cap_stints = cap;
    }
    if ((size_t)id >= d->n_stints) d->n_stints = (size_t)id + 1;
    return &d->stints[id];
}

/* columns id, group_id, joined_at, joined_day, quit_at, quit_day, quit_scene (Q_GV_STINT(S));
 * members are left as they are */
static void stint_row(gv_data *d, store_stmt *s)
{
    gv_stint *x = stint_at(d, store_col_int(s, 0));
    if (!x) return;
    int64_t joined = store_col_int(s, 2), jday = store_col_int(s, 3) - GV_DAY0;
    bool quit = !store_col_null(s, 4), has_qday = !store_col_null(s, 5);
    int64_t quit_at = quit ? store_col_int(s, 4) : 0;
    int64_t qday = has_qday ? store_col_int(s, 5) - GV_DAY0 : GV_NODAY;
    const char *scene = store_col_text(s, 6);
    /* the layout's limits */
    if (joined < GV_T0 || joined - GV_T0 >= GV_NONE || jday < 0 || jday >= GV_NODAY ||
        (quit && (quit_at < GV_T0 || quit_at - GV_T0 >= GV_NONE)) || qday < 0 || qday > GV_NODAY) {
        d->broken = true;
        return;
    }
    uint32_t slot = group_slot(d, store_col_int(s, 1));
    bool counts = has_qday && scene && strcmp(scene, "dismissed") != 0;
    int64_t id = store_col_int(s, 0);
    x->group = (slot + 1) | (counts ? GV_QUITS : 0);
    x->jday = (uint16_t)jday;
    x->qday = (uint16_t)qday;
    d->times[id].joined = (uint32_t)(joined - GV_T0);
    d->times[id].quit = quit ? (uint32_t)(quit_at - GV_T0) : GV_NONE;
}

static uint32_t member_slot(gv_data *d, int64_t id)
{
    uint32_t x = map_get(&d->member_ix, id);
    if (x != GV_NONE) return x;
    if (d->n_members == d->cap_members) {
        d->cap_members = d->cap_members ? d->cap_members * 2 : 1024;
        d->m_id = realloc(d->m_id, d->cap_members * sizeof *d->m_id);
        d->m_st = realloc(d->m_st, d->cap_members * sizeof *d->m_st);
    }
    x = (uint32_t)d->n_members++;
    d->m_id[x] = id;
    memset(&d->m_st[x], 0, sizeof d->m_st[x]);
    map_put(&d->member_ix, id, x);
    return x;
}

/* the stint at id names member mid too */
static void stint_member_add(gv_data *d, uint32_t id, int64_t mid)
{
    uint32_t m = member_slot(d, mid) + 1;
    uint32_t *x = d->sm[id];
    if (x[0] == m || x[1] == m) return;
    if (x[0] && x[1]) { /* a person and a unionid name at most two */
        d->broken = true;
        return;
    }
    x[x[0] ? 1 : 0] = m;
    list_add(&d->m_st[m - 1], id);
}

static void stint_members_clear(gv_data *d, uint32_t id)
{
    uint32_t *x = d->sm[id];
    for (int k = 0; k < 2; k++)
        if (x[k]) list_del(&d->m_st[x[k] - 1], id), x[k] = 0;
}

/* ---------------- load ---------------- */

static int load_data(store_conn *c, gv_data *d, siyu_err *e)
{
    memset(d, 0, sizeof *d);
    d->sorted = true;
    if (store_begin(c, false, e)) return -1;
    store_stmt *s = store_q(c, Q_GV_GROUPS);
    while (store_step(s) == STORE_ROW)
        group_row(d, s);
    store_reset(s);
    s = store_q(c, Q_GV_DAYS);
    uint32_t slot = GV_NONE;
    int64_t last = 0;
    while (store_step(s) == STORE_ROW) {
        int64_t gid = store_col_int(s, 0);
        if (slot == GV_NONE || gid != last) slot = group_slot(d, gid), last = gid;
        day_put(d, slot, (int32_t)store_col_int(s, 1), store_col_int(s, 2), store_col_int(s, 3));
    }
    store_reset(s);
    s = store_q(c, Q_GV_STINTS);
    while (store_step(s) == STORE_ROW)
        stint_row(d, s);
    store_reset(s);
    s = store_q(c, Q_GV_STINT_MEMBERS);
    while (store_step(s) == STORE_ROW) {
        int64_t id = store_col_int(s, 0);
        if (id > 0 && (size_t)id < d->n_stints && d->stints[id].group)
            stint_member_add(d, (uint32_t)id, store_col_int(s, 1));
    }
    store_reset(s);
    int rc = store_conn_check(c, e);
    store_rollback(c);
    if (rc) {
        data_free(d);
        return rc;
    }
    if (d->cap_stints > d->n_stints) { /* the doubling's slack back */
        d->stints = realloc(d->stints, (d->n_stints ? d->n_stints : 1) * sizeof *d->stints);
        d->sm = realloc(d->sm, (d->n_stints ? d->n_stints : 1) * sizeof *d->sm);
        d->times = realloc(d->times, (d->n_stints ? d->n_stints : 1) * sizeof *d->times);
        d->cap_stints = d->n_stints ? d->n_stints : 1;
    }
    for (size_t i = 0; i < d->n_groups; i++) { /* the lists' slack back, the checkpoints */
        gv_group *g = &d->groups[i];
        if (g->cd > g->nd && g->nd) {
            g->days = realloc(g->days, g->nd * sizeof *g->days);
            g->cd = g->nd;
        }
        group_ck_build(g);
    }
    return 0;
}

static void *rebuild_main(void *arg);

static void start_rebuild(group_view *g)
{
    /* under rb_lock */
    if (g->rebuilding || !g->st) return;
    if (g->rb_joinable) pthread_join(g->rb_thread, NULL), g->rb_joinable = false;
    g->rebuilding = true;
    g->n_pending = 0;
    if (pthread_create(&g->rb_thread, NULL, rebuild_main, g) == 0)
        g->rb_joinable = true;
    else
        g->rebuilding = false;
}

int group_view_load(store_t *st, store_conn *c, reports_t *reports, group_view **out, siyu_err *e)
{
    group_view *g = calloc(1, sizeof *g);
    pthread_rwlock_init(&g->lock, NULL);
    pthread_mutex_init(&g->rb_lock, NULL);
    g->reports = reports;
    g->st = st;
    if (load_data(c, &g->d, e)) {
        group_view_free(g);
        return -1;
    }
    if (g->d.broken) {
        fprintf(stderr, "siyu: group view: a value does not fit its layout; the groups report "
                        "reads SQL\n");
        atomic_store(&g->stale, true);
        g->hopeless = true;
    }
    *out = g;
    return 0;
}

void group_view_free(group_view *g)
{
    if (!g) return;
    pthread_mutex_lock(&g->rb_lock);
    bool join = g->rb_joinable;
    g->rb_joinable = false;
    pthread_mutex_unlock(&g->rb_lock);
    if (join) pthread_join(g->rb_thread, NULL);
    data_free(&g->d);
    free(g->pending);
    pthread_rwlock_destroy(&g->lock);
    pthread_mutex_destroy(&g->rb_lock);
    free(g);
}

/* ---------------- following commits ---------------- */

/* re-reads a stint's row and the members its person and unionid name */
static void reread_stint(gv_data *d, store_conn *c, int64_t id)
{
    if (id <= 0 || id > GV_MAX_STINT_ID) {
        d->broken = true;
        return;
    }
    store_stmt *s = store_q(c, Q_GV_STINT);
    store_bind_int(s, 1, id);
    char person[160] = "", unionid[160] = "";
    bool have = false, unionid_null = true;
    if (store_step(s) == STORE_ROW) {
        if (store_col_int(s, 7) == 0) { /* a customer's */
            have = true;
            stint_row(d, s);
            snprintf(person, sizeof person, "%s", store_col_text(s, 8) ? store_col_text(s, 8) : "");
            unionid_null = store_col_null(s, 9);
            if (!unionid_null) snprintf(unionid, sizeof unionid, "%s", store_col_text(s, 9));
        }
    }
    store_reset(s);
    if ((size_t)id >= d->n_stints) {
        if (!have) return;
    }
    gv_stint *x = stint_at(d, id);
    if (!x) return;
    stint_members_clear(d, (uint32_t)id);
    if (!have) {
        x->group = 0;
        return;
    }
    s = store_q(c, Q_GV_PERSON_MEMBERS);
    store_bind_text(s, 1, person);
    store_bind_text(s, 2, unionid_null ? NULL : unionid);
    while (store_step(s) == STORE_ROW)
        stint_member_add(d, (uint32_t)id, store_col_int(s, 0));
    store_reset(s);
}

static void reread_group(gv_data *d, store_conn *c, int64_t id)
{
    store_stmt *s = store_q(c, Q_GV_GROUP);
    store_bind_int(s, 1, id);
    if (store_step(s) == STORE_ROW) group_row(d, s);
    store_reset(s);
}

static void reread_day(gv_data *d, store_conn *c, int64_t gid, int64_t day)
{
    uint32_t slot = map_get(&d->group_ix, gid);
    if (slot == GV_NONE) {
        reread_group(d, c, gid);
        slot = map_get(&d->group_ix, gid);
        if (slot == GV_NONE) return;
    }
    store_stmt *s = store_q(c, Q_GV_DAY);
    store_bind_int(s, 1, gid);
    store_bind_int(s, 2, day);
    if (store_step(s) == STORE_ROW)
        day_put(d, slot, (int32_t)day, store_col_int(s, 0), store_col_int(s, 1));
    else
        day_put(d, slot, (int32_t)day, -1, -1);
    store_reset(s);
    group_ck_build(&d->groups[slot]);
}

/* A member's identities, merge or erasure may have changed: the stints it names now and
 * those it named are read again, with everyone they name. */
static void reread_member(gv_data *d, store_conn *c, int64_t mid)
{
    size_t n = 0, cap = 16;
    int64_t *ids = malloc(cap * sizeof *ids);
    uint32_t m = map_get(&d->member_ix, mid);
    if (m != GV_NONE) {
        gv_list *l = &d->m_st[m];
        for (uint32_t i = 0; i < l->n; i++) {
            if (n == cap) ids = realloc(ids, (cap *= 2) * sizeof *ids);
            ids[n++] = l->v[i];
        }
    }
    store_stmt *s = store_q(c, Q_GV_MEMBER_STINTS);
    store_bind_int(s, 1, mid);
    while (store_step(s) == STORE_ROW) {
        if (n == cap) ids = realloc(ids, (cap *= 2) * sizeof *ids);
        ids[n++] = store_col_int(s, 0);
    }
    store_reset(s);
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = ids[k] == ids[i];
        if (!seen) reread_stint(d, c, ids[i]);
    }
    free(ids);
}

static void apply_locked(gv_data *d, store_conn *c, const dom_change *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (v[i].kind) {
        case DOM_CHANGE_GROUP:
            if (v[i].other)
                reread_stint(d, c, v[i].other);
            else
                reread_group(d, c, v[i].id);
            break;
        case DOM_CHANGE_GROUP_DAY:
            reread_day(d, c, v[i].id, v[i].other);
            break;
        case DOM_CHANGE_MEMBER:
        case DOM_CHANGE_REACH:
            reread_member(d, c, v[i].id);
            break;
        case DOM_CHANGE_MERGE:
            reread_member(d, c, v[i].id);
            reread_member(d, c, v[i].other);
            break;
        default:
            break;
        }
    }
}

static bool touches(const dom_change *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        switch (v[i].kind) {
        case DOM_CHANGE_GROUP:
        case DOM_CHANGE_GROUP_DAY:
        case DOM_CHANGE_MEMBER:
        case DOM_CHANGE_REACH:
        case DOM_CHANGE_MERGE:
            return true;
        default:
            break;
        }
    return false;
}

void group_view_apply(group_view *g, store_conn *c, const dom_change *v, size_t n)
{
    if (!touches(v, n)) return;
    pthread_mutex_lock(&g->rb_lock);
    if (atomic_load(&g->stale) && !g->hopeless) start_rebuild(g); /* a failed one: again */
    if (g->rebuilding) {                                          /* kept for the new copy */
        if (g->n_pending + n > g->cap_pending) {
            g->cap_pending = (g->n_pending + n) * 2;
            g->pending = realloc(g->pending, g->cap_pending * sizeof *g->pending);
        }
        memcpy(g->pending + g->n_pending, v, n * sizeof *v);
        g->n_pending += n;
        pthread_mutex_unlock(&g->rb_lock);
        return;
    }
    pthread_mutex_unlock(&g->rb_lock);
    if (atomic_load(&g->stale)) return; /* the data does not fit the layout: SQL answers */
    pthread_rwlock_wrlock(&g->lock);
    apply_locked(&g->d, c, v, n);
    bool bad = g->d.broken || store_conn_failed(c);
    pthread_rwlock_unlock(&g->lock);
    if (bad) {
        fprintf(stderr,
                "siyu: group view: %s; rebuilding it (the groups report reads SQL "
                "meanwhile)\n",
                g->d.broken ? "a value does not fit its layout" : "a read failed");
        atomic_store(&g->stale, true);
        pthread_mutex_lock(&g->rb_lock);
        start_rebuild(g);
        pthread_mutex_unlock(&g->rb_lock);
    }
}

void group_view_rebuild(group_view *g)
{
    atomic_store(&g->stale, true);
    pthread_mutex_lock(&g->rb_lock);
    start_rebuild(g);
    pthread_mutex_unlock(&g->rb_lock);
}

static void *rebuild_main(void *arg)
{
    group_view *g = arg;
    siyu_err e;
    siyu_err_init(&e);
    store_conn *c = NULL;
    gv_data fresh;
    bool ok = store_conn_open(g->st, &c, &e) == 0 && load_data(c, &fresh, &e) == 0;
    if (ok && fresh.broken) {
        data_free(&fresh);
        ok = false; /* the data itself does not fit: SQL for good */
        pthread_mutex_lock(&g->rb_lock);
        g->hopeless = true;
        pthread_mutex_unlock(&g->rb_lock);
    }
    for (;;) {
        /* the changes that came while building, re-read into the new copy */
        pthread_mutex_lock(&g->rb_lock);
        size_t n = g->n_pending;
        dom_change *v = NULL;
        if (n && ok) {
            v = malloc(n * sizeof *v);
            memcpy(v, g->pending, n * sizeof *v);
        }
        g->n_pending = 0;
        if (!n || !ok) {
            if (ok) {
                pthread_rwlock_wrlock(&g->lock);
                data_free(&g->d);
                g->d = fresh;
                pthread_rwlock_unlock(&g->lock);
                atomic_store(&g->stale, false);
                atomic_fetch_add(&g->rebuilds, 1);
            }
            g->rebuilding = false;
            pthread_mutex_unlock(&g->rb_lock);
            break;
        }
        pthread_mutex_unlock(&g->rb_lock);
        if (store_begin(c, false, &e) == 0) {
            apply_locked(&fresh, c, v, n);
            if (store_conn_failed(c)) ok = false;
            store_conn_clear(c);
            store_rollback(c);
        } else {
            ok = false;
        }
        free(v);
        if (!ok) data_free(&fresh);
    }
    if (!ok) fprintf(stderr, "siyu: group view: the rebuild failed: %s\n", e.message);
    siyu_err_clear(&e);
    store_conn_close(c);
    return NULL;
}

/* ---------------- answering ---------------- */

typedef struct answer {
    const gv_data *d;
    const groups_ask *q;
    int32_t *row; /* per group slot: its row, -1 out of scope */
    group_board_row *v;
    bool over;
    uint32_t *seen; /* rows an order was counted in */
    size_t cap_seen;
} answer;

static void on_order(void *ctx, const reports_order_ref *o)
{
    answer *a = ctx;
    const gv_data *d = a->d;
    uint32_t m = map_get(&d->member_ix, o->member_id);
    if (m == GV_NONE) return;
    const gv_list *l = &d->m_st[m];
    size_t ns = 0;
    int64_t within = a->q->within_days * 86400;
    for (uint32_t i = 0; i < l->n; i++) {
        const gv_stint *x = &d->stints[l->v[i]];
        const gv_times *t = &d->times[l->v[i]];
        if (!x->group) continue;
        int32_t r = a->row[GV_SLOT(x->group) - 1];
        if (r < 0) continue;
        int64_t joined = GV_T0 + t->joined;
        if (o->placed_at < joined) continue;
        if (t->quit != GV_NONE && o->placed_at >= GV_T0 + t->quit) continue;
        if (within && o->placed_at >= joined + within) continue;
        bool dup = false;
        for (size_t k = 0; k < ns && !dup; k++)
            dup = a->seen[k] == (uint32_t)r;
        if (dup) continue;
        if (ns == a->cap_seen)
            a->seen = realloc(a->seen,
                              (a->cap_seen = a->cap_seen ? a->cap_seen * 2 : 16) * sizeof *a->seen);
        a->seen[ns++] = (uint32_t)r;
        group_board_row *b = &a->v[r];
        b->orders++;
        b->sales = ck_add_sat(b->sales, o->total - o->refunded, &a->over);
    }
}

/* snprintf(dst, size, "%s", src) without its cost (50 000 groups, four strings each) */
static void copy_cut(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size) n = size - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* qsort has no context argument: the groups being sorted, under sort_lock */
static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;
static const gv_group *sort_groups;
static int by_id(const void *x, const void *y)
{
    int64_t a = sort_groups[*(const uint32_t *)x].id, b = sort_groups[*(const uint32_t *)y].id;
    return a < b ? -1 : a > b;
}

int group_view_figures(void *ctx, const groups_ask *q, groups_figures *out)
{
    group_view *g = ctx;
    static int off = -1;
    if (off < 0) {
        const char *env = getenv("SIYU_GROUPS_VIEW");
        off = env && strcmp(env, "off") == 0;
    }
    if (!g || off || atomic_load(&g->stale)) return -1;
    pthread_rwlock_rdlock(&g->lock);
    const gv_data *d = &g->d;
    if (d->broken || atomic_load(&g->stale)) {
        pthread_rwlock_unlock(&g->lock);
        return -1;
    }
    size_t ng = d->n_groups;
    uint32_t *slots = malloc((ng ? ng : 1) * sizeof *slots);
    size_t n = 0;
    for (size_t i = 0; i < ng; i++) {
        const gv_group *gr = &d->groups[i];
        if (!gr->chat_id) continue; /* named by a stint, its row not read yet */
        if (q->store_id && gr->store_id != q->store_id) continue;
        if (q->guide && gr->owner_id != q->guide) continue;
        slots[n++] = (uint32_t)i;
    }
    if (!d->sorted) {
        pthread_mutex_lock(&sort_lock);
        sort_groups = d->groups;
        qsort(slots, n, sizeof *slots, by_id);
        pthread_mutex_unlock(&sort_lock);
    }
    answer a = {.d = d, .q = q};
    a.row = malloc((ng ? ng : 1) * sizeof *a.row);
    for (size_t i = 0; i < ng; i++)
        a.row[i] = -1;
    a.v = calloc(n ? n : 1, sizeof *a.v);
    int32_t lo_day = q->from - GV_DAY0, hi_day = q->to - GV_DAY0;
    for (size_t r = 0; r < n; r++) {
        const gv_group *gr = &d->groups[slots[r]];
        group_board_row *b = &a.v[r];
        a.row[slots[r]] = (int32_t)r;
        b->id = gr->id;
        b->store_id = gr->store_id;
        b->owner_id = gr->owner_id;
        b->cap = gr->cap;
        b->has_theme = gr->theme != NULL;
        if (gr->theme) copy_cut(b->theme, sizeof b->theme, gr->theme);
        if (gr->name) copy_cut(b->name, sizeof b->name, gr->name);
        copy_cut(b->chat_id, sizeof b->chat_id, gr->chat_id);
        copy_cut(b->state, sizeof b->state, gr->state);
        /* the days of the period: [lo, hi) by two searches, the sums by checkpoints */
        uint32_t lo = 0, hi = gr->nd;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if ((int32_t)gr->days[mid].day < lo_day)
                lo = mid + 1;
            else
                hi = mid;
        }
        uint32_t end = lo;
        hi = gr->nd;
        while (end < hi) {
            uint32_t mid = (end + hi) / 2;
            if ((int32_t)gr->days[mid].day <= hi_day)
                end = mid + 1;
            else
                hi = mid;
        }
        int64_t sp0, ms0, sp, ms;
        group_prefix(gr, lo, &sp0, &ms0);
        group_prefix(gr, end, &sp, &ms);
        sp -= sp0;
        ms -= ms0;
        b->speaker_days = sp;
        b->messages = ms;
    }
    /* the stints: one pass, counting into a small array (a row is 440 bytes: 50 000 of them
     * would not stay in cache while stints come in join order, not group order) */
    int64_t from_s = q->from_s, to_s = q->to_s;
    struct counts {
        int64_t joins, quits, members, member_days;
    } *cnt = calloc(n ? n : 1, sizeof *cnt);
    for (size_t i = 0; i < d->n_stints; i++) {
        const gv_stint *x = &d->stints[i];
        if (!x->group) continue;
        int32_t r = a.row[GV_SLOT(x->group) - 1];
        if (r < 0) continue;
        struct counts *b = &cnt[r];
        int32_t j = x->jday, qd = x->qday;
        bool quit = qd != GV_NODAY;
        b->joins += j >= lo_day && j <= hi_day;
        b->quits += quit && (x->group & GV_QUITS) && qd >= lo_day && qd <= hi_day;
        b->members += j <= hi_day && (!quit || qd > hi_day);
        /* member-days: max(0, min(to, quit day - 1) - max(from, joined day) + 1) */
        int32_t first = j > lo_day ? j : lo_day, last = quit && qd - 1 < hi_day ? qd - 1 : hi_day;
        if (last >= first) b->member_days += last - first + 1;
    }
    for (size_t r = 0; r < n; r++) {
        a.v[r].joins = cnt[r].joins;
        a.v[r].quits = cnt[r].quits;
        a.v[r].members = cnt[r].members;
        a.v[r].member_days = cnt[r].member_days;
    }
    free(cnt);
    /* orders, from the facts */
    reports_each_order(g->reports, q->from, q->to, on_order, &a);
    /* conversion: the members in a group at some time of the period */
    group_conv_row *cv = NULL;
    size_t ncv = 0;
    if (!q->guide) {
        size_t nin = 0;
        int64_t *in = malloc((d->n_members ? d->n_members : 1) * sizeof *in);
        for (size_t m = 0; m < d->n_members; m++) {
            const gv_list *l = &d->m_st[m];
            for (uint32_t k = 0; k < l->n; k++) {
                const gv_stint *x = &d->stints[l->v[k]];
                const gv_times *t = &d->times[l->v[k]];
                if (!x->group) continue;
                if (GV_T0 + t->joined < to_s && (t->quit == GV_NONE || GV_T0 + t->quit > from_s)) {
                    in[nin++] = d->m_id[m];
                    break;
                }
            }
        }
        reports_group_conv *rc = NULL;
        ncv = reports_group_conversion(g->reports, q->from, q->to, q->store_id, in, nin, &rc);
        free(in);
        cv = calloc(ncv ? ncv : 1, sizeof *cv);
        for (size_t k = 0; k < ncv; k++) {
            cv[k].store = rc[k].store_id;
            for (int j = 0; j < 2; j++)
                cv[k].n[j] = rc[k].n[j], cv[k].b[j] = rc[k].b[j];
        }
        free(rc);
    }
    pthread_rwlock_unlock(&g->lock);
    free(slots);
    free(a.row);
    free(a.seen);
    out->v = a.v;
    out->n = n;
    out->cv = cv;
    out->ncv = ncv;
    out->over = a.over;
    return 0;
}

void group_view_get_stats(group_view *g, group_view_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!g) return;
    pthread_rwlock_rdlock(&g->lock);
    const gv_data *d = &g->d;
    out->groups = d->n_groups;
    out->days = d->n_days;
    for (size_t i = 0; i < d->n_stints; i++)
        out->stints += d->stints[i].group != 0;
    out->members = d->n_members;
    size_t bytes = d->cap_groups * sizeof *d->groups + d->group_ix.cap * 12 +
                   d->cap_stints * (sizeof *d->stints + sizeof *d->sm + sizeof *d->times) +
                   d->member_ix.cap * 12 + d->cap_members * (sizeof *d->m_id + sizeof *d->m_st);
    for (size_t i = 0; i < d->n_groups; i++)
        bytes += d->groups[i].cd * sizeof(gv_day) + (d->groups[i].nd / GV_CK + 1) * 16;
    for (size_t i = 0; i < d->n_members; i++)
        bytes += d->m_st[i].cap * sizeof(uint32_t);
    out->bytes = bytes;
    out->ready = !d->broken && !atomic_load(&g->stale);
    out->rebuilds = atomic_load(&g->rebuilds);
    pthread_rwlock_unlock(&g->lock);
}
