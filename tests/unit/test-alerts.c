/* Unit tests of lib/alerts.c: the history of cleared alerts, allocated on the first clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test-table.h"
#include <math.h>

#include "advice.h"
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
        assert_false(alerts_history_get(&t, 0, NULL));
        assert_int_equal(alerts_apply_finding(&t, &f, NULL), ALERTS_RAISED);
        assert_null(t.history);
        assert_true(alerts_find(&t, "AABBCCDDEEFF-sudden-drop-1000", NULL));
        alerts_done(&t);
        alerts_done(&t);        /* twice is harmless */
        alerts_done(NULL);
}

/* The first clear allocates the ring; it then keeps the newest ALERTS_HISTORY_MAX, oldest first. */
static void test_history_ring(void **state) {
        struct alerts t;
        struct alert past;
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
        assert_true(alerts_history_get(&t, 0, &past));
        assert_int_equal(past.raised_ms, 1000 * (n - ALERTS_HISTORY_MAX + 1));
        assert_true(alerts_history_get(&t, ALERTS_HISTORY_MAX - 1, &past));
        assert_int_equal(past.raised_ms, 1000 * n);
        assert_false(alerts_history_get(&t, ALERTS_HISTORY_MAX, &past));
        assert_true(alerts_find(&t, "AABBCCDDEEFF-low-battery-69000", &past));
        assert_string_equal(past.id, "AABBCCDDEEFF-low-battery-69000");
        assert_true(alerts_find(&t, "AABBCCDDEEFF-low-battery-6000", NULL));
        assert_false(alerts_find(&t, "AABBCCDDEEFF-low-battery-5000", NULL));   /* dropped, the oldest */
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

/* What the history packs must come back as the alert that was cleared, field for field. */
struct past_case {
        const char *name;
        enum finding_kind kind;
        enum finding_severity severity;
        int64_t raised_ms, cleared_ms;
        bool ack;
        unsigned n;
        const char *names[FINDING_EVIDENCE_MAX];
        double values[FINDING_EVIDENCE_MAX];
};

static const struct past_case past_cases[] = {
        { "/alerts/past/plain", FINDING_SUDDEN_DROP, FINDING_WARNING, 1000, 2000, false, 0, {}, {} },
        { "/alerts/past/acknowledged", FINDING_LOW_BATTERY, FINDING_CRITICAL, -5, 7, true, 2,
          { "level_pct", "threshold_pct" }, { 4, 10 } },
        { "/alerts/past/full", FINDING_FAST_DRAIN, FINDING_INFO, INT64_C(1788220800123), INT64_C(1788224400456), false,
          FINDING_EVIDENCE_MAX,
          { "after_pct", "within_min", "window_h", "to_pct", "drop_pct", "flat_min", "baseline_h", "after_pct" },
          { 0.1, -0.0, 1e300, -2.5e-310, 1.0 / 3.0, NAN, 17.000000000000004, -INFINITY } },
};

/* Raise (with evidence and advice, as the analyzer makes them), maybe ack, clear, read back. */
static void test_past(void **state) {
        const struct past_case *c = *state;
        struct finding f = edge(c->kind, FINDING_RAISED, c->raised_ms);
        struct alerts t;
        struct alert cleared, past;

        f.severity = c->severity;
        f.advice = advice_for(c->kind);
        for (unsigned i = 0; i < c->n; i++)
                assert_int_equal(finding_add_evidence(&f, c->names[i], c->values[i]), 0);
        alerts_init(&t, ADDRESS);
        assert_int_equal(alerts_apply_finding(&t, &f, NULL), ALERTS_RAISED);
        if (c->ack)
                assert_int_equal(alerts_apply_event(&t, &(struct hpevent) { c->raised_ms, EVENT_ACK, c->kind }),
                                 ALERTS_ACKNOWLEDGED);
        f.state = FINDING_CLEARED;
        f.time_ms = c->cleared_ms;
        assert_int_equal(alerts_apply_finding(&t, &f, &cleared), ALERTS_CLEARED);
        assert_true(alerts_history_get(&t, 0, &past));
        assert_string_equal(past.id, cleared.id);
        assert_string_equal(past.address, cleared.address);
        assert_int_equal(past.kind, cleared.kind);
        assert_int_equal(past.severity, cleared.severity);
        assert_true(past.raised_ms == cleared.raised_ms && past.cleared_ms == cleared.cleared_ms);
        assert_int_equal(past.acknowledged, c->ack);
        assert_ptr_equal(past.advice, cleared.advice);
        assert_int_equal(past.n_evidence, c->n);
        for (unsigned i = 0; i < c->n; i++) {
                assert_ptr_equal(past.evidence[i].name, cleared.evidence[i].name);
                assert_memory_equal(&past.evidence[i].value, &cleared.evidence[i].value, sizeof(double));
        }
        assert_true(alerts_find(&t, cleared.id, &past));
        assert_true(past.cleared_ms == cleared.cleared_ms);
        alerts_done(&t);
}

int main(void) {
        struct CMUnitTest tests[3 + TEST_TABLE_ROWS(past_cases)] = {
                cmocka_unit_test(test_history_empty),
                cmocka_unit_test(test_history_ring),
                cmocka_unit_test(test_history_degraded),
        };
        size_t n = 3;

        TEST_TABLE_ADD(tests, n, past_cases, test_past);
        return _cmocka_run_group_tests("/alerts/history", tests, n, NULL, NULL);
}
