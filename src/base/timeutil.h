/* timeutil.h — dates and instants as api.md writes them.
 *
 * Instants are Unix seconds (int64) and are written back in RFC 3339 with the chain's
 * offset (+08:00 by default: a Chinese retail chain thinks in Beijing time). Dates are
 * day numbers since 1970-01-01. The clock is injectable so tests can move time. */
#ifndef SIYU_BASE_TIMEUTIL_H
#define SIYU_BASE_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIYU_LOCAL_OFFSET_S (8 * 3600)

/* "2026-11-22T10:00:00+08:00", "...Z", optional fraction. Returns 0 or -1. */
int time_parse_rfc3339(const char *s, int64_t *unix_s);
/* Writes RFC 3339 in local (+08:00) time into buf (>= 26 bytes). */
void time_format_rfc3339(int64_t unix_s, char *buf, size_t len);

/* "YYYY-MM-DD" with a real calendar check. Returns 0 or -1. */
int date_parse(const char *s, int32_t *day);
void date_format(int32_t day, char *buf, size_t len); /* buf >= 11 */
void date_civil(int32_t day, int *y, int *m, int *d);
int32_t date_from_civil(int y, int m, int d);

/* The local (+08:00) calendar day of an instant. */
int32_t time_local_day(int64_t unix_s);

/* Now, in Unix seconds. SIYU_NOW (RFC 3339) in the environment pins it for tests;
 * SIYU_NOW_FILE names a file holding the instant, so a test can move time forward. */
int64_t clock_now(void);

/* Monotonic nanoseconds, for latency measurement. */
uint64_t clock_mono_ns(void);

#endif
