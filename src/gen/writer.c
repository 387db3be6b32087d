/* writer.c — the buffered NDJSON writer and the civil calendar the generator uses. */
#include <errno.h>
#include <stdlib.h>

#include "gen/gen_internal.h"

/* ---------------- buffered writer ---------------- */

int gw_open(gw *w, const char *path)
{
    w->len = 0;
    w->failed = 0;
    w->buf = malloc(GW_CAP);
    if (!w->buf) {
        w->f = NULL;
        errno = ENOMEM;
        return -1;
    }
    w->f = fopen(path, "wb");
    if (!w->f) {
        int saved = errno;
        free(w->buf);
        w->buf = NULL;
        errno = saved;
        return -1;
    }
    return 0;
}

void gw_flush(gw *w)
{
    if (w->len && !w->failed && fwrite(w->buf, 1, w->len, w->f) != w->len)
        w->failed = errno ? errno : EIO;
    w->len = 0;
}

int gw_close(gw *w)
{
    if (!w->f) return 0;
    gw_flush(w);
    if (fclose(w->f) != 0 && !w->failed) w->failed = errno ? errno : EIO;
    w->f = NULL;
    free(w->buf);
    w->buf = NULL;
    if (w->failed) {
        errno = w->failed;
        return -1;
    }
    return 0;
}

void gw_str(gw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    gw_char(w, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            char *o = gw_room(w, 2);
            o[0] = '\\';
            o[1] = (char)c;
            w->len += 2;
        } else if (c < 0x20) {
            char *o = gw_room(w, 6);
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            w->len += 6;
        } else {
            gw_char(w, (char)c);
        }
    }
    gw_char(w, '"');
}

/* ---------------- calendar ---------------- */

int32_t gen_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void gen_civil_from_days(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}
