/* Unit tests of lib/timearg.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "timearg.h"

#define NOW 1788220800000LL     /* 2026-09-01T00:00:00Z */

struct timearg_case {
        const char *arg;
        int ret;
        int64_t ms;
};

static const struct timearg_case cases[] = {
        { "now", 0, NOW },
        { "1788220800", 0, 1788220800000LL },
        { "1788220800.5", 0, 1788220800500LL },
        { "2026-09-01", 0, 1788220800000LL },
        { "2026-09-01T01:02", 0, 1788220800000LL + 3720000 },
        { "2026-09-01 01:02:03", 0, 1788220800000LL + 3723000 },
        { "2026-09-01T01:02:03Z", 0, 1788220800000LL + 3723000 },
        { "1970-01-01", 0, 0 },
        { "2000-03-01", 0, 951868800000LL },
        { "90s", 0, NOW - 90000 },
        { "30m", 0, NOW - 1800000 },
        { "2h", 0, NOW - 7200000 },
        { "-2h", 0, NOW - 7200000 },
        { "7d", 0, NOW - 604800000 },
        { "1w", 0, NOW - 604800000 },
        { "", -EINVAL, 0 },
        { "yesterday", -EINVAL, 0 },
        { "2h30m", -EINVAL, 0 },
        { "5y", -EINVAL, 0 },
        { "-", -EINVAL, 0 },
        { "-1788220800", -EINVAL, 0 },
        { "nan", -EINVAL, 0 },
        { "inf", -EINVAL, 0 },
        { "1e300", -EINVAL, 0 },
        { "1e300d", -EINVAL, 0 },
        { "2026-13-01", -EINVAL, 0 },
        { "2026-09-01T25:00", -EINVAL, 0 },
        { "2026-9-1", -EINVAL, 0 },
        /* days the month does not have (found by tests/fuzz/fuzz-timearg) */
        { "2026-02-29", -EINVAL, 0 },
        { "2026-04-31", -EINVAL, 0 },
        { "1900-02-29", -EINVAL, 0 },
        { "2024-02-29", 0, 1709164800000LL },
        { "2000-02-29T12:00", 0, 951825600000LL },
        { "2026-12-31", 0, 1798675200000LL },
};

/* Each argument gives its time or -EINVAL. */
static void test_parse(void **state) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int64_t ms = -1;
                int r = timearg_parse(cases[i].arg, NOW, &ms);

                if (r != cases[i].ret)
                        fail_msg("'%s': got %d, expected %d", cases[i].arg, r, cases[i].ret);
                if (r == 0 && ms != cases[i].ms)
                        fail_msg("'%s': got %lld, expected %lld", cases[i].arg, (long long) ms, (long long) cases[i].ms);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
        };
        return cmocka_run_group_tests_name("/timearg", tests, NULL, NULL);
}
