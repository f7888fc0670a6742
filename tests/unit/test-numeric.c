/* Unit tests of lib/numeric.c: each function against its libm namesake (this test alone
 * links libm), on the values where a hand-written rounding usually goes wrong, then on a
 * sweep of random bit patterns. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test-table.h"

#include "numeric.h"

/* The same double, bit for bit (NaN == NaN, -0.0 != 0.0). */
static void assert_same(double got, double want) {
        if (isnan(want)) {
                assert_true(isnan(got));
                return;
        }
        assert_memory_equal(&got, &want, sizeof(double));
}

/* One value through all three. */
static void check(double x) {
        assert_same(numeric_round(x), round(x));
        assert_same(numeric_floor(x), floor(x));
        if (isfinite(x) && fabs(x) < 0x1p62)
                assert_true(numeric_llround(x) == llround(x));
}

struct numeric_case {
        const char *name;
        double x[8];
        unsigned n;
};

static const struct numeric_case numeric_cases[] = {
        { "/numeric/zeros", { 0.0, -0.0, 0x1p-1074, -0x1p-1074, 0.4, -0.4 }, 6 },
        { "/numeric/halves", { 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 4503599627370495.5, -4503599627370495.5 }, 8 },
        /* the largest double below one half: floor(x + 0.5) would give 1 */
        { "/numeric/below-half", { 0.49999999999999994, -0.49999999999999994, 1.4999999999999998,
                                   -1.4999999999999998, 0.5000000000000001, -0.5000000000000001 }, 6 },
        { "/numeric/integers", { 1.0, -1.0, 3.0, -7.0, 0x1p52, -0x1p52, 0x1p52 + 1, 0x1p53 + 2 }, 8 },
        { "/numeric/huge", { 1e300, -1e300, 0x1p63, -0x1p63, 0x1p62, -0x1p62, 1e19, -1e19 }, 8 },
        { "/numeric/special", { INFINITY, -INFINITY, NAN, -NAN }, 4 },
        /* what hpmon rounds: tenths of figures (figures.c), durations in ms (config.c) */
        { "/numeric/figures", { 12.25 * 10.0, 0.15 * 10.0, 100.0 / 3.0 * 10.0, 2.675 * 10.0, 86399999.5,
                                1.0000000000000002, -2.0000000000000004, 1e-300 }, 8 },
};

/* The table's values. */
static void test_case(void **state) {
        const struct numeric_case *c = *state;

        for (unsigned i = 0; i < c->n; i++)
                check(c->x[i]);
}

/* Random bit patterns (every exponent), and random values near halves and integers. */
static void test_sweep(void **state) {
        uint64_t s = UINT64_C(0x9e3779b97f4a7c15);

        for (int i = 0; i < 200000; i++) {
                uint64_t bits;
                double x;

                s ^= s << 13, s ^= s >> 7, s ^= s << 17;        /* xorshift64 */
                bits = s;
                memcpy(&x, &bits, sizeof(x));
                check(x);
                x = (double) (int64_t) (s % 2000001) / 2.0 - 500000.0;  /* halves and integers */
                check(x);
                check(nextafter(x, INFINITY));
                check(nextafter(x, -INFINITY));
        }
}

/* Runs the table and the sweep. */
int main(void) {
        struct CMUnitTest tests[TEST_TABLE_ROWS(numeric_cases) + 1];
        size_t n = 0;

        TEST_TABLE_ADD(tests, n, numeric_cases, test_case);
        tests[n++] = (struct CMUnitTest) { .name = "/numeric/sweep", .test_func = test_sweep };
        return _cmocka_run_group_tests("numeric", tests, n, NULL, NULL);
}
