/* internal.h — what the fission files share: a campaign's row as they read it. */
#ifndef SIYU_FISSION_INTERNAL_H
#define SIYU_FISSION_INTERNAL_H

#include "fission/fission.h"
#include "fission/games.h"

typedef struct fis_campaign {
    int64_t id, starts_at, ends_at, created_at;
    bool paused;
    char kind[16], name[256];
    json_t *rules; /* owned */
} fis_campaign;

int fis_campaign_load(dom *d, int64_t id, fis_campaign *c, siyu_err *e);
void fis_campaign_free(fis_campaign *c);
/* 0 when the campaign is of kind `want` (NULL: any), not paused and within its window;
 * else a 422 naming paused, starts_at or ends_at (or id for the wrong kind). */
int fis_campaign_open(dom *d, const fis_campaign *c, const char *want, siyu_err *e);
/* An integer rule, or `none` when absent. */
int64_t fis_rule_int(json_t *rules, const char *key, int64_t none);

#endif
