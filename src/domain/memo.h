/* memo.h — lookups a bulk writer keeps while nobody else writes.
 *
 * An import of orders asks, for every order, whether its store exists, what its guide
 * is and which member its card names: the same rows, hundreds of thousands of times.
 * The loader's own transactions write no store or staff row and change no member's
 * merge, guide or birthday, so an answer read once stays true until another connection
 * commits. The loader asks store_conn_others_wrote as each batch begins and clears the
 * memo when it says so (SQLite by its data version, PostgreSQL by the change sequence),
 * and clears it on a rollback. dom_require_store,
 * dom_require_staff and members_resolve_brief consult d->memo when it is set. Only
 * rows found are kept: a miss always asks the store again. */
#ifndef SIYU_DOMAIN_MEMO_H
#define SIYU_DOMAIN_MEMO_H

#include <stdbool.h>
#include <stdint.h>

typedef struct dom_memo dom_memo;

typedef struct dom_memo_staff {
    char role[32];    /* as stored; a longer role is not kept */
    int64_t store_id; /* 0: none */
} dom_memo_staff;

/* The live member one identity names, and what an order needs of it. */
typedef struct dom_memo_member {
    int64_t id;
    int64_t guide_id; /* 0: none bound */
    bool has_birthday;
    int32_t birthday;
} dom_memo_member;

dom_memo *dom_memo_new(void);
void dom_memo_free(dom_memo *m);
/* Forgets everything. */
void dom_memo_clear(dom_memo *m);
/* Moves on every clear (never 0): a fact kept outside the memo, stamped with the generation
 * it was learnt in, holds while the generation is the same (orders_keys_check). */
uint64_t dom_memo_generation(const dom_memo *m);

/* Facts about an id that no batch of the import changes, kept as marks. */
typedef enum dom_memo_mark {
    DOM_MEMO_NO_REFERRAL = 3, /* the member joined through nobody (fission: no referral row) */
} dom_memo_mark;
bool dom_memo_marked(const dom_memo *m, dom_memo_mark mark, int64_t id);
void dom_memo_mark_add(dom_memo *m, dom_memo_mark mark, int64_t id);

bool dom_memo_store_known(const dom_memo *m, int64_t id);
void dom_memo_store_add(dom_memo *m, int64_t id);
/* The staff row read earlier, or NULL. */
const dom_memo_staff *dom_memo_staff_get(const dom_memo *m, int64_t id);
void dom_memo_staff_add(dom_memo *m, int64_t id, const dom_memo_staff *row);
/* A setting's text read earlier (at most 8 settings, keys under 48 bytes, values under
 * 80: others are not kept), or NULL. */
const char *dom_memo_setting_get(const dom_memo *m, const char *key);
void dom_memo_setting_add(dom_memo *m, const char *key, const char *value);
/* The member the identity (kind, app_id, normalised value) named earlier, or NULL. At
 * most DOM_MEMO_MEMBERS are kept; past that, new ones are not. */
#define DOM_MEMO_MEMBERS (1u << 20)
const dom_memo_member *dom_memo_member_get(const dom_memo *m, const char *kind, const char *app_id,
                                           const char *value);
void dom_memo_member_add(dom_memo *m, const char *kind, const char *app_id, const char *value,
                         const dom_memo_member *row);

#endif
