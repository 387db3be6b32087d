/* cdnow.h — reading the CDNOW sample for the predict tests and bench (test helper). */
#ifndef SIYU_TEST_PREDICT_CDNOW_H
#define SIYU_TEST_PREDICT_CDNOW_H

#include "predict/predict.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static inline int32_t cdnow_day(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

/* Reads CDNOW_sample.txt (master id, sample id, YYYYMMDD, CDs, dollars) keyed by sample id.
 * Returns a malloc'd array and sets *n, or NULL with a message on stderr. */
static inline predict_txn *cdnow_read(const char *dir, size_t *n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/CDNOW_sample.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s (the CDNOW data must be present)\n", path);
        return NULL;
    }
    size_t cap = 8192, k = 0;
    predict_txn *t = malloc(cap * sizeof *t);
    long master, sample, ymd, cds;
    double dollars;
    while (t && fscanf(f, "%ld %ld %ld %ld %lf", &master, &sample, &ymd, &cds, &dollars) == 5) {
        if (k == cap) {
            cap *= 2;
            predict_txn *nt = realloc(t, cap * sizeof *t);
            if (!nt) {
                free(t);
                t = NULL;
                break;
            }
            t = nt;
        }
        t[k].customer = sample;
        t[k].day = cdnow_day((int)(ymd / 10000), (int)(ymd / 100 % 100), (int)(ymd % 100));
        t[k].amount_cents = (int64_t)(dollars * 100 + (dollars >= 0 ? 0.5 : -0.5));
        k++;
    }
    fclose(f);
    *n = k;
    return t;
}

/* The papers' window: calibration 1997-01-01..1997-09-30, holdout to 1998-06-30, weeks. */
static inline predict_window cdnow_window(void)
{
    return (predict_window){cdnow_day(1997, 9, 30), cdnow_day(1998, 6, 30), 7.0};
}

#endif
