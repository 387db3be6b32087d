#include "base/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Howard Hinnant's days-from-civil algorithm: exact for the proleptic Gregorian calendar. */
int32_t date_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int32_t)doe - 719468;
}

void date_civil(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dm[m - 1];
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int parse_ymd(const char *s, int *y, int *m, int *d)
{
    if (digits(s, 4, y) || s[4] != '-' || digits(s + 5, 2, m) || s[7] != '-' || digits(s + 8, 2, d))
        return -1;
    if (*y < 1900 || *y > 2999 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
        return -1;
    return 0;
}

int date_parse(const char *s, int32_t *day)
{
    int y, m, d;
    if (!s || strlen(s) != 10 || parse_ymd(s, &y, &m, &d)) return -1;
    *day = date_from_civil(y, m, d);
    return 0;
}

void date_format(int32_t day, char *buf, size_t len)
{
    int y, m, d;
    date_civil(day, &y, &m, &d);
    snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
}

int time_parse_rfc3339(const char *s, int64_t *unix_s)
{
    int y, mo, d, h, mi, se;
    if (!s || strlen(s) < 20 || parse_ymd(s, &y, &mo, &d)) return -1;
    if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || digits(s + 11, 2, &h) || s[13] != ':' ||
        digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
        return -1;
    if (h > 23 || mi > 59 || se > 60) return -1;
    const char *p = s + 19;
    if (*p == '.') { /* fractions are accepted and truncated: siyu keeps seconds */
        p++;
        if (!isdigit((unsigned char)*p)) return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    int offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1; /* an instant without an offset is ambiguous: refuse it */
    }
    if (*p) return -1;
    int64_t t = (int64_t)date_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
    /* the offset can carry an instant out of the years siyu writes: refuse what could
     * not be written back in the same range */
    int ly, lm, ld;
    date_civil(time_local_day(t), &ly, &lm, &ld);
    if (ly < 1900 || ly > 2999) return -1;
    *unix_s = t;
    return 0;
}

void time_format_rfc3339(int64_t t, char *buf, size_t len)
{
    int64_t local = t + SIYU_LOCAL_OFFSET_S;
    int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t sec = local - day * 86400;
    int y, m, d;
    date_civil((int32_t)day, &y, &m, &d);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d+08:00", y, m, d, (int)(sec / 3600),
             (int)(sec / 60 % 60), (int)(sec % 60));
}

int32_t time_local_day(int64_t t)
{
    int64_t local = t + SIYU_LOCAL_OFFSET_S;
    return (int32_t)(local >= 0 ? local / 86400 : -((-local + 86399) / 86400));
}

/* SIYU_NOW_FILE names a file holding an RFC 3339 instant: tests move time forward
 * by rewriting it (a 30-day journey in seconds). It is read on every call — a test
 * clock, never set in production. */
static int64_t clock_from_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[64] = "";
    if (f) {
        if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
        fclose(f);
    }
    buf[strcspn(buf, "\r\n ")] = 0;
    int64_t t;
    if (time_parse_rfc3339(buf, &t)) return (int64_t)time(NULL);
    return t;
}

int64_t clock_now(void)
{
    const char *file = getenv("SIYU_NOW_FILE");
    if (file && *file) return clock_from_file(file);
    const char *pinned = getenv("SIYU_NOW");
    int64_t t;
    if (pinned && *pinned && time_parse_rfc3339(pinned, &t) == 0) return t;
    return (int64_t)time(NULL);
}

uint64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
