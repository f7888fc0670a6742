/* Fuzz target: the small string parsers of the command line and of file names —
 * time arguments (lib/timearg.c) and Bluetooth addresses (lib/address.c).
 *
 * The input, up to its first NUL, is one argument. timearg_parse() must accept it or say
 * -EINVAL, give the same absolute time whatever "now" is (or move with "now" for a span),
 * and an ISO date it accepts must be that very calendar date and time in UTC. An address
 * accepted in any spelling must come back canonical, and survive the trip to a file name. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "address.h"
#include "fuzz.h"
#include "timearg.h"

#define FUZZ_TIMEARG_NOW INT64_C(1788220800000)        /* 2026-09-01T00:00:00Z */

/* Whether s[0..n) are all decimal digits; returns their value through ret. */
static bool fuzz_timearg_digits(const char *s, size_t n, int *ret) {
        int v = 0;

        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return true;
}

/* An accepted "YYYY-MM-DD[(T| )HH:MM[:SS]][Z]" must be that calendar date and time in UTC. */
static void fuzz_timearg_check_iso(const char *s, size_t len, int64_t ms) {
        int y, mo, d, h = 0, mi = 0, se = 0;
        time_t t;
        struct tm tm;

        if (len < 10 || s[4] != '-' || s[7] != '-' || !fuzz_timearg_digits(s, 4, &y) ||
            !fuzz_timearg_digits(s + 5, 2, &mo) || !fuzz_timearg_digits(s + 8, 2, &d))
                return;
        if (len >= 16 && (s[10] == 'T' || s[10] == ' ') && s[13] == ':' && fuzz_timearg_digits(s + 11, 2, &h) &&
            fuzz_timearg_digits(s + 14, 2, &mi) && len >= 19 && s[16] == ':')
                (void) fuzz_timearg_digits(s + 17, 2, &se);
        if (se == 60)
                return;         /* a leap second is the next minute's first second */

        FUZZ_CHECK(ms % 1000 == 0);
        t = (time_t) (ms / 1000);
        FUZZ_CHECK(gmtime_r(&t, &tm));
        FUZZ_CHECK(tm.tm_year + 1900 == y && tm.tm_mon + 1 == mo && tm.tm_mday == d);
        FUZZ_CHECK(tm.tm_hour == h && tm.tm_min == mi && tm.tm_sec == se);
}

/* An address accepted in any spelling is canonical, stable, and survives the file name spelling. */
static void fuzz_timearg_check_address(const char *s, size_t len) {
        char a[ADDRESS_STRING_MAX], b[ADDRESS_STRING_MAX], u[ADDRESS_STRING_MAX];

        if (address_normalize(s, a) == 0) {
                FUZZ_CHECK(len == ADDRESS_STRING_MAX - 1 && strlen(a) == ADDRESS_STRING_MAX - 1);
                for (int i = 0; i < ADDRESS_STRING_MAX - 1; i++)
                        FUZZ_CHECK(i % 3 == 2 ? a[i] == ':' :
                                   ((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'A' && a[i] <= 'F')));
                FUZZ_CHECK(strcasecmp(a, s) == 0);
                FUZZ_CHECK(address_normalize(a, b) == 0 && strcmp(a, b) == 0);
                address_to_underscores(a, u);
                FUZZ_CHECK(address_from_underscores(u, b) == 0 && strcmp(a, b) == 0);
        }
        if (address_from_underscores(s, a) == 0) {
                address_to_underscores(a, u);
                FUZZ_CHECK(strcasecmp(u, s) == 0);
        }
}

/* Parses the input as a time argument and as an address, checking what each says. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        size_t len = strnlen((const char *) data, size);
        int64_t a = INT64_MIN, b = INT64_MIN;
        char *s;
        int ra, rb;

        s = malloc(len + 1);
        FUZZ_CHECK(s);
        memcpy(s, data, len);
        s[len] = '\0';

        ra = timearg_parse(s, FUZZ_TIMEARG_NOW, &a);
        rb = timearg_parse(s, 0, &b);
        FUZZ_CHECK(ra == 0 || ra == -EINVAL);
        FUZZ_CHECK(ra == rb);
        if (ra == 0) {
                /* absolute forms ignore now; spans (and "now") move with it, by as much */
                FUZZ_CHECK(a == b || a - b == FUZZ_TIMEARG_NOW);
                /* spans are at most 1e14 ms back; seconds at most 1e11; ISO dates within years 0..9999 */
                FUZZ_CHECK(a >= FUZZ_TIMEARG_NOW - INT64_C(100000000000000) || a >= INT64_C(-62167219200000));
                FUZZ_CHECK(a <= INT64_C(253402300800000));
                if (a - b == FUZZ_TIMEARG_NOW)
                        FUZZ_CHECK(a <= FUZZ_TIMEARG_NOW);
                else
                        fuzz_timearg_check_iso(s, len, a);
        } else
                FUZZ_CHECK(a == INT64_MIN && b == INT64_MIN);  /* ret_ms untouched on failure */

        fuzz_timearg_check_address(s, len);
        free(s);
        return 0;
}
