#include "base/phone.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int phone_normalise(const char *in, char *out, size_t len)
{
    char d[32];
    size_t n = 0;
    int plus = 0;
    if (!in) return -1;
    for (const char *p = in; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            if (n + 1 >= sizeof d) return -1;
            d[n++] = *p;
        } else if (*p == '+' && n == 0 && !plus) {
            plus = 1;
        } else if (*p == ' ' || *p == '-' || *p == '(' || *p == ')' || *p == '.') {
            continue; /* the separators people actually type */
        } else {
            return -1;
        }
    }
    d[n] = 0;
    const char *national = d;
    if (plus || (n == 13 && strncmp(d, "86", 2) == 0)) {
        if (strncmp(d, "86", 2) == 0)
            national = d + 2;
        else if (plus) {
            /* another country: E.164 allows at most 15 digits, at least 8 is sensible */
            if (n < 8 || n > 15 || d[0] == '0') return -1;
            snprintf(out, len, "+%s", d);
            return 0;
        }
    } else if (n == 15 && strncmp(d, "0086", 4) == 0) {
        national = d + 4;
    }
    /* mainland mobile: 11 digits, 1 then 3..9 */
    if (strlen(national) != 11 || national[0] != '1' || national[1] < '3') return -1;
    snprintf(out, len, "%s", national);
    return 0;
}

void phone_mask(const char *p, char *out, size_t len)
{
    size_t n = strlen(p);
    if (n < 7) {
        snprintf(out, len, "****");
        return;
    }
    snprintf(out, len, "%.*s****%s", (int)(n - 8), p, p + n - 4);
}
