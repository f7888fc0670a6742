/* Unit tests of lib/ratelimit.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ratelimit.h"

/* A burst passes, the next change waits one interval, then one passes per interval. */
static void test_burst_then_rate(void **state) {
        struct ratelimit r;

        ratelimit_init(&r, 10, 1000, 5000);
        for (int i = 0; i < 10; i++)
                assert_true(ratelimit_take(&r, 5000));
        assert_false(ratelimit_take(&r, 5000));
        assert_int_equal(ratelimit_next(&r, 5000), 6000);
        assert_false(ratelimit_take(&r, 5999));
        assert_int_equal(ratelimit_next(&r, 5999), 6000);
        assert_true(ratelimit_take(&r, 6000));
        assert_false(ratelimit_take(&r, 6500));
        assert_int_equal(ratelimit_next(&r, 6500), 7000);
        assert_true(ratelimit_take(&r, 7400));
        /* the unused part of an interval is not lost: 8000 is the next, not 8400 */
        assert_int_equal(ratelimit_next(&r, 7400), 8000);
}

/* A long pause refills to the burst, no more. */
static void test_refill_caps(void **state) {
        struct ratelimit r;
        int n = 0;

        ratelimit_init(&r, 3, 1000, 0);
        while (ratelimit_take(&r, 0))
                n++;
        assert_int_equal(n, 3);
        n = 0;
        while (ratelimit_take(&r, 1000000))
                n++;
        assert_int_equal(n, 3);
        assert_int_equal(ratelimit_next(&r, 1000000), 1001000);
}

/* A clock that goes back earns nothing, and does not wedge the bucket. */
static void test_clock_back(void **state) {
        struct ratelimit r;

        ratelimit_init(&r, 1, 1000, 10000);
        assert_true(ratelimit_take(&r, 10000));
        assert_false(ratelimit_take(&r, 2000));
        assert_int_equal(ratelimit_next(&r, 2000), 3000);
        assert_true(ratelimit_take(&r, 3000));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_burst_then_rate),
                cmocka_unit_test(test_refill_caps),
                cmocka_unit_test(test_clock_back),
        };
        return cmocka_run_group_tests_name("/ratelimit", tests, NULL, NULL);
}
