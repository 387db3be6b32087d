/* memo.c — lookups a bulk writer keeps while nobody else writes (memo.h).
 *
 * Two open-addressed tables with linear probing: (kind, id) keys for stores and staff
 * (a chain has thousands at most), and identity keys for members (as many as the import
 * names, up to DOM_MEMO_MEMBERS). A cleared table keeps its slots for reuse. */
#include "domain/memo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

enum { KIND_STORE = 1, KIND_STAFF = 2 }; /* dom_memo_mark's values follow */

typedef struct slot {
    int64_t id;
    int kind; /* 0: empty */
    dom_memo_staff staff;
} slot;

typedef struct member_slot {
    char *key; /* kind, app_id and value joined by 0x1f; NULL: empty */
    uint64_t hash;
    dom_memo_member row;
} member_slot;

typedef struct setting {
    char key[48], value[80];
} setting;

struct dom_memo {
    setting settings[8];
    int n_settings;
    slot *slots;
    size_t cap, used; /* cap: a power of two; used kept under half of it */
    member_slot *members;
    size_t members_cap, members_used;
    uint64_t generation;
};

dom_memo *dom_memo_new(void)
{
    dom_memo *m = calloc(1, sizeof(dom_memo));
    if (m) m->generation = 1;
    return m;
}

uint64_t dom_memo_generation(const dom_memo *m)
{
    return m ? m->generation : 0;
}

static void members_clear(dom_memo *m)
{
    if (!m->members_used) return;
    for (size_t i = 0; i < m->members_cap; i++)
        free(m->members[i].key);
    memset(m->members, 0, m->members_cap * sizeof *m->members);
    m->members_used = 0;
}

void dom_memo_free(dom_memo *m)
{
    if (!m) return;
    members_clear(m);
    free(m->members);
    free(m->slots);
    free(m);
}

void dom_memo_clear(dom_memo *m)
{
    if (!m) return;
    m->generation++;
    m->n_settings = 0;
    members_clear(m);
    if (!m->used) return;
    memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->used = 0;
}

static size_t home(const dom_memo *m, int kind, int64_t id)
{
    uint64_t h = ((uint64_t)id * 2 + (uint64_t)kind) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (m->cap - 1);
}

static const slot *find(const dom_memo *m, int kind, int64_t id)
{
    if (!m || !m->cap) return NULL;
    for (size_t i = home(m, kind, id);; i = (i + 1) & (m->cap - 1)) {
        const slot *s = &m->slots[i];
        if (!s->kind) return NULL;
        if (s->kind == kind && s->id == id) return s;
    }
}

static void put(dom_memo *m, int kind, int64_t id, const dom_memo_staff *staff)
{
    if (!m || find(m, kind, id)) return;
    if ((m->used + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        slot *old = m->slots, *grown = calloc(cap, sizeof *grown);
        if (!grown) return; /* a memo that cannot grow only forgets */
        size_t old_cap = m->cap;
        m->slots = grown;
        m->cap = cap;
        m->used = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].kind) put(m, old[i].kind, old[i].id, &old[i].staff);
        free(old);
    }
    size_t i = home(m, kind, id);
    while (m->slots[i].kind)
        i = (i + 1) & (m->cap - 1);
    m->slots[i] = (slot){.id = id, .kind = kind};
    if (staff) m->slots[i].staff = *staff;
    m->used++;
}

bool dom_memo_marked(const dom_memo *m, dom_memo_mark mark, int64_t id)
{
    return find(m, (int)mark, id) != NULL;
}

void dom_memo_mark_add(dom_memo *m, dom_memo_mark mark, int64_t id)
{
    put(m, (int)mark, id, NULL);
}

bool dom_memo_store_known(const dom_memo *m, int64_t id)
{
    return find(m, KIND_STORE, id) != NULL;
}

void dom_memo_store_add(dom_memo *m, int64_t id)
{
    put(m, KIND_STORE, id, NULL);
}

const dom_memo_staff *dom_memo_staff_get(const dom_memo *m, int64_t id)
{
    const slot *s = find(m, KIND_STAFF, id);
    return s ? &s->staff : NULL;
}

void dom_memo_staff_add(dom_memo *m, int64_t id, const dom_memo_staff *row)
{
    put(m, KIND_STAFF, id, row);
}

/* ---- settings ---- */

const char *dom_memo_setting_get(const dom_memo *m, const char *key)
{
    if (!m) return NULL;
    for (int i = 0; i < m->n_settings; i++)
        if (strcmp(m->settings[i].key, key) == 0) return m->settings[i].value;
    return NULL;
}

void dom_memo_setting_add(dom_memo *m, const char *key, const char *value)
{
    if (!m || m->n_settings == (int)(sizeof m->settings / sizeof *m->settings) ||
        strlen(key) >= sizeof m->settings[0].key || strlen(value) >= sizeof m->settings[0].value ||
        dom_memo_setting_get(m, key))
        return;
    setting *s = &m->settings[m->n_settings++];
    snprintf(s->key, sizeof s->key, "%s", key);
    snprintf(s->value, sizeof s->value, "%s", value);
}

/* ---- members by identity ---- */

static uint64_t text_hash(const char *k)
{
    return XXH3_64bits(k, strlen(k));
}

static member_slot *member_find(const dom_memo *m, const char *key, uint64_t h)
{
    if (!m || !m->members_cap) return NULL;
    for (size_t i = (size_t)(h >> 32) & (m->members_cap - 1);; i = (i + 1) & (m->members_cap - 1)) {
        member_slot *s = &m->members[i];
        if (!s->key) return NULL;
        if (s->hash == h && strcmp(s->key, key) == 0) return s;
    }
}

static void member_place(dom_memo *m, char *key, uint64_t h, const dom_memo_member *row)
{
    size_t i = (size_t)(h >> 32) & (m->members_cap - 1);
    while (m->members[i].key)
        i = (i + 1) & (m->members_cap - 1);
    m->members[i] = (member_slot){key, h, *row};
    m->members_used++;
}

/* The key in buf, or NULL when it does not fit (such an identity is never kept). */
#define KEY_MAX 512
static const char *identity_key(char *buf, const char *kind, const char *app_id, const char *value)
{
    size_t a = strlen(kind), b = strlen(app_id), c = strlen(value);
    if (a + b + c + 3 > KEY_MAX) return NULL;
    memcpy(buf, kind, a);
    buf[a] = 0x1f;
    memcpy(buf + a + 1, app_id, b);
    buf[a + 1 + b] = 0x1f;
    memcpy(buf + a + b + 2, value, c + 1);
    return buf;
}

const dom_memo_member *dom_memo_member_get(const dom_memo *m, const char *kind, const char *app_id,
                                           const char *value)
{
    if (!m || !m->members_used) return NULL;
    char buf[KEY_MAX];
    const char *key = identity_key(buf, kind, app_id, value);
    member_slot *s = key ? member_find(m, key, text_hash(key)) : NULL;
    return s ? &s->row : NULL;
}

void dom_memo_member_add(dom_memo *m, const char *kind, const char *app_id, const char *value,
                         const dom_memo_member *row)
{
    if (!m || m->members_used >= DOM_MEMO_MEMBERS) return;
    char buf[KEY_MAX];
    const char *key = identity_key(buf, kind, app_id, value);
    if (!key) return;
    uint64_t h = text_hash(key);
    member_slot *known = member_find(m, key, h);
    if (known) {
        known->row = *row;
        return;
    }
    if ((m->members_used + 1) * 2 > m->members_cap) {
        size_t cap = m->members_cap ? m->members_cap * 2 : 1024, old_cap = m->members_cap;
        member_slot *old = m->members, *grown = calloc(cap, sizeof *grown);
        if (!grown) return; /* a memo that cannot grow only forgets */
        m->members = grown;
        m->members_cap = cap;
        m->members_used = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].key) member_place(m, old[i].key, old[i].hash, &old[i].row);
        free(old);
    }
    char *copy = strdup(key);
    if (copy) member_place(m, copy, h, row);
}
