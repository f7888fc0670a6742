/* Unit tests of lib/analyzer-ring.c: quickselect medians against a plain sort, and the
 * per-ring cache of medians and sums (empty ring, wrap-around, exclude flags, skip). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analyzer-internal.h"

/* The median the analyzer used to compute: sort everything, take the middle. */
static double reference_median(const double *v, unsigned n) {
        double s[256];

        for (unsigned i = 0; i < n; i++) {
                unsigned j = i;

                while (j > 0 && s[j - 1] > v[i]) {
                        s[j] = s[j - 1];
                        j--;
                }
                s[j] = v[i];
        }
        return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
}

/* xorshift: the same values everywhere. */
static uint64_t next_random(uint64_t *x) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        return *x;
}

/* Bit-for-bit equality, so -0 and 0, or two NaNs, are told apart or matched as stored. */
static void assert_same_double(double a, double b) {
        assert_memory_equal(&a, &b, sizeof(a));
}

/* None → NAN; one, two, odd and even counts. */
static void test_median_small(void **state) {
        double v[4];

        assert_true(isnan(analyzer_ring_median_of(v, 0)));
        v[0] = 3;
        assert_same_double(analyzer_ring_median_of(v, 1), 3);
        v[0] = 5, v[1] = 1;
        assert_same_double(analyzer_ring_median_of(v, 2), 3);
        v[0] = 5, v[1] = 1, v[2] = 4;
        assert_same_double(analyzer_ring_median_of(v, 3), 4);
}

/* Every length up to 80 (beyond the insertion-sort cut-off), random values, many ties,
 * sorted and reverse-sorted input: the same bits as sorting. */
static void test_median_matches_sort(void **state) {
        uint64_t x = 88172645463325252ull;

        for (unsigned n = 1; n <= 80; n++)
                for (int shape = 0; shape < 5; shape++)
                        for (int round = 0; round < 20; round++) {
                                double v[80], w[80];

                                for (unsigned i = 0; i < n; i++) {
                                        switch (shape) {
                                        case 0: v[i] = (double) (next_random(&x) % 1000000) / 7.0; break;
                                        case 1: v[i] = (double) (next_random(&x) % 3); break;   /* ties */
                                        case 2: v[i] = i; break;
                                        case 3: v[i] = n - i; break;
                                        default: v[i] = 42.5; break;
                                        }
                                }
                                memcpy(w, v, sizeof(v[0]) * n);
                                assert_same_double(analyzer_ring_median_of(w, n), reference_median(v, n));
                        }
}

/* A NaN among the values keeps the old sort's answer, whatever it was. */
static void test_median_nan(void **state) {
        double v[11] = { 5, 1, NAN, 9, 3, 7, 2, 8, 6, 4, 0 }, w[11];

        for (unsigned n = 1; n <= 11; n++) {
                memcpy(w, v, sizeof(v));
                assert_same_double(analyzer_ring_median_of(w, n), reference_median(v, n));
        }
}

/* A record of `rate` points in one hour: its rate is `rate`, and sums are exact. */
static struct analyzer_record record(int rate, unsigned flags) {
        return (struct analyzer_record) { .points = rate, .hours = 1.0, .flags = flags };
}

/* An empty ring: no median, zero sums, and the empty answer is cached like any other. */
static void test_ring_empty(void **state) {
        struct analyzer_record buf[4];
        struct analyzer_ring ring;
        struct analyzer_ring_stats s;
        double m = -1;

        analyzer_ring_init(&ring, buf, 4);
        assert_false(analyzer_ring_median(&ring, 0, 0, &m));
        assert_same_double(m, -1);
        analyzer_ring_stats(&ring, 0, 0, true, &s);
        assert_int_equal(s.n, 0);
        assert_same_double(s.points, 0);
        assert_true(isnan(s.median));
        analyzer_ring_stats(&ring, 3, 1, true, &s);
        assert_int_equal(s.n, 0);
        assert_null(analyzer_ring_get(&ring, 0));
}

/* Pushing past the capacity drops the oldest: the cached answer follows, never stale. */
static void test_ring_wraparound(void **state) {
        struct analyzer_record buf[3];
        struct analyzer_ring ring;
        double m;

        analyzer_ring_init(&ring, buf, 3);
        for (int i = 1; i <= 7; i++) {
                struct analyzer_record r = record(i * 10, 0);

                analyzer_ring_push(&ring, &r);
                assert_true(analyzer_ring_median(&ring, 0, 1, &m));
                /* the newest three: i-2, i-1, i (fewer at first) */
                assert_same_double(m, i == 1 ? 10 : i == 2 ? 15 : (i - 1) * 10);
                assert_true(analyzer_ring_median(&ring, 0, 1, &m));    /* again, from the cache */
                assert_same_double(m, i == 1 ? 10 : i == 2 ? 15 : (i - 1) * 10);
        }
        assert_int_equal(analyzer_ring_size(&ring), 3);
        assert_same_double(analyzer_record_rate(analyzer_ring_get(&ring, 0)), 70);
        assert_same_double(analyzer_record_rate(analyzer_ring_get(&ring, 2)), 50);
        assert_null(analyzer_ring_get(&ring, 3));
        assert_false(analyzer_ring_median(&ring, 0, 4, &m));    /* fewer than min */
}

/* Exclude flags and skip pick the records; each key keeps its own answer, more keys than
 * slots evict and recompute the same answers, and sums run newest first. */
static void test_ring_exclude_skip(void **state) {
        struct analyzer_record buf[8];
        struct analyzer_ring ring;
        struct analyzer_ring_stats s;
        double m;

        analyzer_ring_init(&ring, buf, 8);
        for (int i = 1; i <= 6; i++) {
                struct analyzer_record r = record(i, i % 2 ? 1u << 3 : 0);      /* odd rates flagged */

                analyzer_ring_push(&ring, &r);
        }
        for (int round = 0; round < 3; round++) {
                assert_true(analyzer_ring_median(&ring, 0, 1, &m));
                assert_same_double(m, 3.5);
                assert_true(analyzer_ring_median(&ring, 1u << 3, 1, &m));      /* 2, 4, 6 */
                assert_same_double(m, 4);
                assert_true(analyzer_ring_median(&ring, 1u << 5, 1, &m));      /* no record has it */
                assert_same_double(m, 3.5);
                assert_false(analyzer_ring_median(&ring, 1u << 3, 4, &m));
                analyzer_ring_stats(&ring, 2, 1u << 3, true, &s);              /* ages 2.. unflagged: 4, 2 */
                assert_int_equal(s.n, 2);
                assert_same_double(s.points, 6);
                assert_same_double(s.hours, 2);
                assert_same_double(s.median, 3);
                analyzer_ring_stats(&ring, 6, 0, false, &s);
                assert_int_equal(s.n, 0);
        }
        /* a push changes every answer */
        {
                struct analyzer_record r = record(100, 0);

                analyzer_ring_push(&ring, &r);
        }
        assert_true(analyzer_ring_median(&ring, 1u << 3, 1, &m));      /* 2, 4, 6, 100 */
        assert_same_double(m, 5);
        analyzer_ring_stats(&ring, 2, 1u << 3, false, &s);             /* sums only: 4, 2 */
        assert_false(s.have_median);
        analyzer_ring_stats(&ring, 2, 1u << 3, true, &s);              /* then the median too */
        assert_true(s.have_median);
        assert_same_double(s.median, 3);
        assert_int_equal(s.n, 2);
        assert_same_double(s.points, 6);
}

/* A zeroed ring (never initialised, e.g. restored from bytes without its cache) is
 * computed afresh every time, never answered from an empty slot. */
static void test_ring_zeroed(void **state) {
        struct analyzer_record buf[4] = { record(2, 0), record(8, 0) };
        struct analyzer_ring ring = { .r = buf, .cap = 4, .n = 2, .next = 2 };
        double m;

        assert_true(analyzer_ring_median(&ring, 0, 1, &m));
        assert_same_double(m, 5);
        buf[1].points = 4;      /* no push: only a cache-less ring sees this */
        assert_true(analyzer_ring_median(&ring, 0, 1, &m));
        assert_same_double(m, 3);
}

/* Keys wider than a slot's fields (skip > 255, exclude > 0xffff) are answered without the
 * cache: a slot keeps them truncated, so they must never be taken for a key that truncates
 * the same way, nor poison its slot. Each row is asked after the one above it. */
static const struct {
        unsigned skip, exclude;
        unsigned n;             /* records of age >= skip carrying none of exclude */
        double points;
} wide_keys[] = {
        { 2, 1u << 3, 2, 6 },                           /* ages 2..: 4, 2 (odd ones flagged) */
        { 2 + 256, 1u << 3, 0, 0 },                     /* truncates to skip 2 */
        { 2, (1u << 3) | (1u << 16), 2, 6 },            /* truncates to exclude 1 << 3 */
        { 2, 1u << 16, 4, 10 },                         /* truncates to exclude 0: 4, 3, 2, 1 */
        { 2, 0, 4, 10 },
        { 2, 1u << 3, 2, 6 },                           /* the first answer, still right */
};

/* The table above, twice over. */
static void test_ring_wide_keys(void **state) {
        struct analyzer_record buf[8];
        struct analyzer_ring ring;
        struct analyzer_ring_stats s;

        analyzer_ring_init(&ring, buf, 8);
        for (int i = 1; i <= 6; i++) {
                struct analyzer_record r = record(i, i % 2 ? 1u << 3 : 0);

                analyzer_ring_push(&ring, &r);
        }
        for (int round = 0; round < 2; round++)
                for (size_t i = 0; i < sizeof(wide_keys) / sizeof(wide_keys[0]); i++) {
                        analyzer_ring_stats(&ring, wide_keys[i].skip, wide_keys[i].exclude, true, &s);
                        assert_int_equal(s.n, wide_keys[i].n);
                        assert_same_double(s.points, wide_keys[i].points);
                }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_median_small),
                cmocka_unit_test(test_median_matches_sort),
                cmocka_unit_test(test_median_nan),
                cmocka_unit_test(test_ring_empty),
                cmocka_unit_test(test_ring_wraparound),
                cmocka_unit_test(test_ring_exclude_skip),
                cmocka_unit_test(test_ring_zeroed),
                cmocka_unit_test(test_ring_wide_keys),
        };
        return cmocka_run_group_tests_name("/analyzer/ring", tests, NULL, NULL);
}
