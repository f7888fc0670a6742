/* hpmon — time arguments. Accepted: "now"; Unix seconds ("1788220800", "1788220800.5");
 * a span before now ("90s", "30m", "2h", "7d", "2w", or "-2h"); an ISO date in UTC
 * ("2026-11-25", "2026-11-25T04:00", "2026-11-25 04:00:05"). Pure: the caller passes now. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timearg.h"

/* Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t timearg_days_from_civil(int64_t y, unsigned m, unsigned d) {
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        unsigned yoe = (unsigned) (y - era * 400);
        unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t) doe - 719468;
}

/* Reads exactly n digits. */
static int timearg_fixed(const char **p, unsigned n, unsigned *ret) {
        unsigned v = 0;

        for (unsigned i = 0; i < n; i++) {
                if ((*p)[i] < '0' || (*p)[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) ((*p)[i] - '0');
        }
        *p += n;
        *ret = v;
        return 0;
}

static const unsigned timearg_month_days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

/* "YYYY-MM-DD[(T| )HH:MM[:SS]]" in UTC. */
static int timearg_iso(const char *s, int64_t *ret_ms) {
        unsigned y, mo, d, h = 0, mi = 0, se = 0;
        const char *p = s;

        if (timearg_fixed(&p, 4, &y) < 0 || *p++ != '-' || timearg_fixed(&p, 2, &mo) < 0 || *p++ != '-' ||
            timearg_fixed(&p, 2, &d) < 0)
                return -EINVAL;
        if (*p == 'T' || *p == ' ') {
                p++;
                if (timearg_fixed(&p, 2, &h) < 0 || *p++ != ':' || timearg_fixed(&p, 2, &mi) < 0)
                        return -EINVAL;
                if (*p == ':' && (p++, timearg_fixed(&p, 2, &se) < 0))
                        return -EINVAL;
        }
        if (*p == 'Z')
                p++;
        if (*p || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 60)
                return -EINVAL;
        /* a day the month has: "2026-02-29" is an error, not March 1st */
        if (d > timearg_month_days[mo - 1] + (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
                return -EINVAL;
        *ret_ms = ((timearg_days_from_civil(y, mo, d) * 86400) + h * 3600 + mi * 60 + se) * 1000;
        return 0;
}

/* Parses a time argument into Unix milliseconds; -EINVAL if it is none of the forms above. */
int timearg_parse(const char *s, int64_t now_ms, int64_t *ret_ms) {
        static const struct { char unit; int64_t ms; } units[] = {
                { 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 }, { 'd', 86400000 }, { 'w', 604800000 },
        };
        char *end;
        double v;

        if (!s || !*s)
                return -EINVAL;
        if (strcmp(s, "now") == 0) {
                *ret_ms = now_ms;
                return 0;
        }
        if (timearg_iso(s, ret_ms) == 0)
                return 0;

        errno = 0;
        v = strtod(s[0] == '-' ? s + 1 : s, &end);
        if (errno || end == s || !isfinite(v) || v < 0 || (s[0] == '-' && end == s + 1))
                return -EINVAL;
        if (*end == '\0') {
                if (s[0] == '-' || v > 1e11)
                        return -EINVAL;
                *ret_ms = (int64_t) (v * 1000.0);
                return 0;
        }
        if (end[1] != '\0')
                return -EINVAL;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (*end == units[i].unit) {
                        if (v * (double) units[i].ms > 1e14)
                                return -EINVAL;
                        *ret_ms = now_ms - (int64_t) (v * (double) units[i].ms);
                        return 0;
                }
        return -EINVAL;
}
