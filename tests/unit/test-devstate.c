/* Unit tests of lib/devstate.c: the fold over events and what a report adds to the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "devstate.h"

/* Replaying events yields the last level, connection and time, in log order. */
static void test_fold(void **state) {
        const struct hpevent log[] = {
                { 1000, EVENT_CONNECTED, 1 },
                { 2000, EVENT_BATTERY, 80 },
                { 1500, EVENT_BATTERY, 70 },    /* clock went backwards: order wins */
                { 3000, EVENT_CONNECTED, 0 },
        };
        struct devstate s;

        devstate_init(&s);
        assert_int_equal(s.connected, -1);
        assert_int_equal(s.percentage, -1);
        for (size_t i = 0; i < 4; i++)
                devstate_apply(&s, &log[i]);
        assert_int_equal(s.connected, 0);
        assert_int_equal(s.percentage, 70);
        assert_int_equal(s.last_change_ms, 3000);
        assert_int_equal(s.events, 4);
        assert_int_equal(s.discharged, 10);     /* 80 → 70 */
        devstate_apply(&s, &(struct hpevent) { 3500, EVENT_ACK, 8 });
        assert_int_equal(s.events, 4);
        assert_int_equal(s.last_change_ms, 3000);
        devstate_apply(&s, &(struct hpevent) { 4000, _EVENT_KIND_INVALID, 1 });
        assert_int_equal(s.events, 4);
}

struct diff_case {
        const char *name;
        int connected, percentage;              /* state before */
        struct devstate_report report;
        size_t n;
        struct hpevent expect[2];
};

static const struct diff_case diff_cases[] = {
        { "first sight: connected then battery", -1, -1, { 1, 80 }, 2,
          { { 9, EVENT_CONNECTED, 1 }, { 9, EVENT_BATTERY, 80 } } },
        { "same values: nothing", 1, 80, { 1, 80 }, 0, {} },
        { "level only", 1, 80, { 1, 70 }, 1, { { 9, EVENT_BATTERY, 70 } } },
        { "disconnect, battery gone", 1, 70, { 0, -1 }, 1, { { 9, EVENT_CONNECTED, 0 } } },
        { "reconnect with the same level", 0, 70, { 1, 70 }, 1, { { 9, EVENT_CONNECTED, 1 } } },
        { "unknown connection", 1, 70, { -1, 60 }, 1, { { 9, EVENT_BATTERY, 60 } } },
        { "out of range level ignored", 1, 70, { 1, 255 }, 0, {} },
        { "negative level ignored", 1, 70, { 1, -5 }, 0, {} },
        { "bad connection value ignored", 1, 70, { 7, 70 }, 0, {} },
        { "zero is a level", 1, 5, { 1, 0 }, 1, { { 9, EVENT_BATTERY, 0 } } },
        { "a level with a disconnect was the last before it", 1, 70, { 0, 65 }, 2,
          { { 9, EVENT_BATTERY, 65 }, { 9, EVENT_CONNECTED, 0 } } },
};

/* Each report adds exactly the events of its row. */
static void test_diff(void **state) {
        for (size_t i = 0; i < sizeof(diff_cases) / sizeof(diff_cases[0]); i++) {
                const struct diff_case *c = &diff_cases[i];
                struct devstate s;
                struct hpevent out[2];
                size_t n;

                devstate_init(&s);
                s.connected = c->connected;
                s.percentage = c->percentage;
                n = devstate_diff(&s, &c->report, 9, out);
                if (n != c->n)
                        fail_msg("%s: %zu events, expected %zu", c->name, n, c->n);
                for (size_t j = 0; j < n; j++)
                        assert_memory_equal(&out[j], &c->expect[j], sizeof(out[j]));
        }
}

/* A held report takes each later field that is known, and keeps the rest. */
static void test_merge(void **state) {
        struct devstate_report held = { .connected = 1, .percentage = 70 };

        devstate_report_merge(&held, &(struct devstate_report) { .connected = -1, .percentage = 60 });
        assert_int_equal(held.connected, 1);
        assert_int_equal(held.percentage, 60);
        devstate_report_merge(&held, &(struct devstate_report) { .connected = 0, .percentage = -1 });
        assert_int_equal(held.connected, 0);
        assert_int_equal(held.percentage, 60);     /* a disconnect without a level keeps the last one */
        devstate_report_merge(&held, &(struct devstate_report) { .connected = 1, .percentage = 0 });
        assert_int_equal(held.connected, 1);
        assert_int_equal(held.percentage, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fold),
                cmocka_unit_test(test_diff),
                cmocka_unit_test(test_merge),
        };
        return cmocka_run_group_tests_name("/devstate", tests, NULL, NULL);
}
