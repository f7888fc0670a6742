/* Unit tests of lib/alerts.c: the history of cleared alerts, allocated on the first clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "alerts.h"

#define ADDRESS "AA:BB:CC:DD:EE:FF"

/* One edge of an episode of `kind` at `t`. */
static struct finding edge(enum finding_kind kind, enum finding_state state, int64_t t) {
        return (struct finding) { .kind = kind, .state = state, .severity = FINDING_WARNING, .time_ms = t };
}

/* Nothing cleared: no history, and none allocated; opening alone allocates nothing either. */
static void test_history_empty(void **state) {
        struct alerts t;
        struct finding f = edge(FINDING_SUDDEN_DROP, FINDING_RAISED, 1000);

        alerts_init(&t, ADDRESS);
        assert_null(t.history);
        assert_null(alerts_history_get(&t, 0));
        assert_int_equal(alerts_apply_finding(&t, &f, NULL), ALERTS_RAISED);
        assert_null(t.history);
        assert_non_null(alerts_find(&t, "AABBCCDDEEFF-sudden-drop-1000"));
        alerts_done(&t);
        alerts_done(&t);        /* twice is harmless */
        alerts_done(NULL);
}

/* The first clear allocates the ring; it then keeps the newest ALERTS_HISTORY_MAX, oldest first. */
static void test_history_ring(void **state) {
        struct alerts t;
        unsigned n = ALERTS_HISTORY_MAX + 5;

        alerts_init(&t, ADDRESS);
        for (unsigned i = 0; i < n; i++) {
                struct finding up = edge(FINDING_LOW_BATTERY, FINDING_RAISED, 1000 * (i + 1));
                struct finding down = edge(FINDING_LOW_BATTERY, FINDING_CLEARED, 1000 * (i + 1) + 500);
                struct alert a;

                assert_int_equal(alerts_apply_finding(&t, &up, NULL), ALERTS_RAISED);
                assert_int_equal(alerts_apply_finding(&t, &down, &a), ALERTS_CLEARED);
                assert_int_equal(a.cleared_ms, 1000 * (i + 1) + 500);
                assert_non_null(t.history);
                assert_int_equal(t.n_history, i + 1 < ALERTS_HISTORY_MAX ? i + 1 : ALERTS_HISTORY_MAX);
        }
        assert_int_equal(alerts_history_get(&t, 0)->raised_ms, 1000 * (n - ALERTS_HISTORY_MAX + 1));
        assert_int_equal(alerts_history_get(&t, ALERTS_HISTORY_MAX - 1)->raised_ms, 1000 * n);
        assert_null(alerts_history_get(&t, ALERTS_HISTORY_MAX));
        assert_non_null(alerts_find(&t, "AABBCCDDEEFF-low-battery-69000"));
        assert_non_null(alerts_find(&t, "AABBCCDDEEFF-low-battery-6000"));
        assert_null(alerts_find(&t, "AABBCCDDEEFF-low-battery-5000"));  /* dropped, the oldest */
        alerts_done(&t);
        assert_null(t.history);
        assert_int_equal(t.n_history, 0);
}

/* battery-degraded never clears, so it never needs a history. */
static void test_history_degraded(void **state) {
        struct alerts t;
        struct finding up = edge(FINDING_BATTERY_DEGRADED, FINDING_RAISED, 1000);
        struct finding down = edge(FINDING_BATTERY_DEGRADED, FINDING_CLEARED, 2000);

        alerts_init(&t, ADDRESS);
        assert_int_equal(alerts_apply_finding(&t, &up, NULL), ALERTS_RAISED);
        assert_int_equal(alerts_apply_finding(&t, &down, NULL), ALERTS_UNCHANGED);
        assert_null(t.history);
        alerts_done(&t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_history_empty),
                cmocka_unit_test(test_history_ring),
                cmocka_unit_test(test_history_degraded),
        };
        return cmocka_run_group_tests_name("/alerts/history", tests, NULL, NULL);
}
