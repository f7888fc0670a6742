/* Unit tests of client/busalert.c: alerts read off real sd-bus messages, and the words, icons
 * and JSON hpctl makes of them. Messages are built on a bus over a socketpair. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "busalert.h"
#include "test-bus.h"

/* An AlertRaised signal carrying one low-battery alert, sealed and rewound as if received. */
static sd_bus_message *low_battery_signal(sd_bus *bus, double cleared) {
        sd_bus_message *m = NULL;

        assert_int_equal(sd_bus_message_new_signal(bus, &m, "/org/hpmon/Monitor1", "org.hpmon.Monitor1.Manager",
                                                   "AlertRaised"), 0);
        assert_true(sd_bus_message_append(m, BUSALERT_SIGNATURE, "AABBCCDDEEFF-low-battery-1788220800123",
                                          "AA:BB:CC:DD:EE:FF", "low-battery", "critical", 1788220800.123, cleared, 0,
                                          2, "level_pct", 8.0, "threshold_pct", 10.0,
                                          1, "Step 6", "Assess the Battery Health") >= 0);
        seal_message(m);
        return m;
}

/* Every field of the struct is read. */
static void test_read(void **state) {
        sd_bus_message *m = low_battery_signal(*state, 0);
        struct busalert a;

        assert_int_equal(busalert_read(m, &a), 1);
        assert_string_equal(a.id, "AABBCCDDEEFF-low-battery-1788220800123");
        assert_string_equal(a.address, "AA:BB:CC:DD:EE:FF");
        assert_string_equal(a.kind, "low-battery");
        assert_int_equal(a.k, FINDING_LOW_BATTERY);
        assert_string_equal(a.severity, "critical");
        assert_int_equal(a.level, 2);
        assert_true(fabs(a.raised - 1788220800.123) < 1e-6);
        assert_true(a.cleared == 0);
        assert_false(a.acknowledged);
        assert_int_equal(a.n_evidence, 2);
        assert_string_equal(a.evidence[1].name, "threshold_pct");
        assert_true(a.evidence[1].value == 10.0);
        assert_int_equal(a.n_advice, 1);
        assert_string_equal(a.advice[0].ref, "Step 6");
        assert_string_equal(busalert_state(&a), "active");
        busalert_done(&a);
        busalert_done(&a);      /* safe twice */
        sd_bus_message_unref(m);
}

/* An array of alerts, the way GetAlerts and the Alerts property carry them. */
static void test_read_array(void **state) {
        sd_bus_message *m = NULL;
        struct busalert *list = NULL;
        size_t n = 0;

        assert_int_equal(sd_bus_message_new_signal(*state, &m, "/", "x.y", "Z"), 0);
        assert_true(sd_bus_message_append(m, "a" BUSALERT_SIGNATURE, 2,
                                          "AABBCCDDEEFF-sudden-drop-1", "AA:BB:CC:DD:EE:FF", "sudden-drop", "warning",
                                          1.0, 2.0, 1, 0, 0,
                                          "AABBCCDDEEFF-new-kind-3", "AA:BB:CC:DD:EE:FF", "new-kind", "purple",
                                          3.0, 0.0, 0, 1, "x_min", 5.0, 0) >= 0);
        seal_message(m);
        assert_int_equal(busalert_read_array(m, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(busalert_state(&list[0]), "cleared");
        assert_true(list[0].acknowledged);
        /* a kind or severity this hpctl does not know is kept, and shown generically */
        assert_int_equal(list[1].k, _FINDING_KIND_INVALID);
        assert_int_equal(list[1].level, 1);
        assert_string_equal(busalert_meaning(&list[1]), "new-kind");
        assert_string_equal(busalert_title(&list[1]), "Headset needs attention");
        busalert_array_free(list, n);
        sd_bus_message_unref(m);
}

/* A wrong signature is an error, not a crash. */
static void test_read_malformed(void **state) {
        sd_bus_message *m = NULL;
        struct busalert a;

        assert_int_equal(sd_bus_message_new_signal(*state, &m, "/", "x.y", "Z"), 0);
        assert_true(sd_bus_message_append(m, "(ss)", "a", "b") >= 0);
        seal_message(m);
        assert_true(busalert_read(m, &a) < 0);
        sd_bus_message_unref(m);
}

struct line_case {
        const char *kind;
        const char *names[6];
        double values[6];
        const char *evidence;   /* the line hpctl prints */
        const char *title;
};

static const struct line_case line_cases[] = {
        { "charge-stall", { "level_pct", "flat_min" }, { 45, 150 }, "stuck at 45% for 2.5 h while charging",
          "Charging stalled" },
        { "slow-charge", { "rate_pct_per_h", "usual_rate_pct_per_h" }, { 8.24, 40 }, "charging at 8.2%/h, usually 40%/h",
          "Charging slowly" },
        { "slow-charge", { "rate_pct_per_h", "threshold_pct_per_h" }, { 12, 25 }, "charging at 12%/h, under 25%/h",
          "Charging slowly" },
        { "intermittent-charge", { "reversals", "span_min" }, { 4, 90 }, "charging stopped and started 4 times in 1.5 h",
          "Charging keeps stopping" },
        { "fast-drain", { "drain_rate_pct_per_h", "baseline_pct_per_h", "runtime_h", "baseline_runtime_h" },
          { 25, 12, 4, 8.333 }, "draining 25%/h, usually 12%/h: a full charge lasts 4.0 h instead of 8.3 h",
          "Battery draining fast" },
        { "battery-degraded", { "runtime_h", "early_runtime_h" }, { 12, 20 },
          "a full charge lasts 12 h, 60% of the 20 h it lasted when new", "Battery worn out" },
        { "sudden-drop", { "before_pct", "after_pct" }, { 70, 30 }, "fell from 70% to 30% at once",
          "Battery level dropped suddenly" },
        { "not-holding-charge", { "from_pct", "to_pct", "minutes" }, { 100, 15, 75 }, "went from 100% to 15% in 75 min",
          "Battery not holding its charge" },
        { "connection-unstable", { "connects", "span_min" }, { 6, 8 }, "connected 6 times in 8 min",
          "Connection keeps dropping" },
        { "low-battery", { "level_pct" }, { 18 }, "battery at 18%", "Battery low" },
        { "deep-discharge-risk", { "level_pct", "empty_days" }, { 3, 4.2 }, "at 3% and not charged for 4.2 days",
          "Battery left empty" },
        /* evidence missing or unknown: every name, its unit from its suffix */
        { "charge-stall", { "level_pct", "odd_min", "rate_pct_per_h", "count" }, { 45, 3, 1.5, 2 },
          "level 45%, odd 3 min, rate 1.5%/h, count 2", "Charging stalled" },
};

/* The sentence of evidence and the title, per kind; the generic line for what is missing. */
static void test_evidence_line(void **state) {
        const struct line_case *c = *state;
        struct busalert_evidence ev[6];
        struct busalert a = { .kind = (char *) c->kind, .severity = (char *) "warning", .level = 1, .evidence = ev };
        char buf[256];

        a.k = finding_kind_from_string(c->kind);
        for (; a.n_evidence < 6 && c->names[a.n_evidence]; a.n_evidence++)
                ev[a.n_evidence] = (struct busalert_evidence) { .name = (char *) c->names[a.n_evidence],
                                                                .value = c->values[a.n_evidence] };
        busalert_evidence_line(&a, buf, sizeof(buf));
        assert_string_equal(buf, c->evidence);
        assert_string_equal(busalert_title(&a), c->title);
        assert_non_null(busalert_icon(&a));
}

/* The first step is the guide's, else the advice's action (low-battery has no step). */
static void test_step_line(void **state) {
        struct busalert_step step = { .ref = (char *) "Step 1", .title = (char *) "Inspect the Charging Port" };
        struct busalert a = { .kind = (char *) "charge-stall", .k = FINDING_CHARGE_STALL, .advice = &step, .n_advice = 1 };
        char buf[256];

        busalert_step_line(&a, buf, sizeof(buf));
        assert_string_equal(buf, "Step 1: Inspect the Charging Port");
        a = (struct busalert) { .kind = (char *) "low-battery", .k = FINDING_LOW_BATTERY, .level = 2 };
        busalert_step_line(&a, buf, sizeof(buf));
        assert_string_equal(buf, "Charge the headset.");
        assert_string_equal(busalert_title(&a), "Battery critically low");
        assert_string_equal(busalert_icon(&a), "battery-caution");
        assert_string_equal(busalert_meaning(&a), "charge it soon");
}

/* JSON: the keys hpctl promises, cleared null while active, numbers that JSON can carry. */
static void test_json(void **state) {
        sd_bus_message *m = low_battery_signal(*state, 0);
        struct json_object *o, *v;
        struct busalert a;

        assert_int_equal(busalert_read(m, &a), 1);
        a.evidence[0].value = INFINITY;
        o = busalert_to_json(&a);
        for (const char *const *k = (const char *const[]) { "id", "address", "kind", "severity", "raised", "cleared",
                                                            "acknowledged", "evidence", "advice", NULL }; *k; k++)
                assert_true(json_object_object_get_ex(o, *k, NULL));
        assert_true(json_object_object_get_ex(o, "cleared", &v));
        assert_null(v);
        assert_true(json_object_object_get_ex(o, "raised", &v));
        assert_string_equal(json_object_to_json_string(v), "1788220800.123");
        assert_string_equal(json_object_to_json_string_ext(json_object_object_get(o, "evidence"), JSON_C_TO_STRING_PLAIN),
                            "{\"level_pct\":null,\"threshold_pct\":10}");
        assert_string_equal(json_object_to_json_string_ext(json_object_object_get(o, "advice"), JSON_C_TO_STRING_PLAIN),
                            "[{\"ref\":\"Step 6\",\"title\":\"Assess the Battery Health\"}]");
        json_object_put(o);
        busalert_done(&a);
        sd_bus_message_unref(m);
}

int main(void) {
        struct CMUnitTest tests[64] = {
                cmocka_unit_test_setup_teardown(test_read, setup_bus, teardown_bus),
                cmocka_unit_test_setup_teardown(test_read_array, setup_bus, teardown_bus),
                cmocka_unit_test_setup_teardown(test_read_malformed, setup_bus, teardown_bus),
                cmocka_unit_test(test_step_line),
                cmocka_unit_test_setup_teardown(test_json, setup_bus, teardown_bus),
        };
        size_t n = 5;
        char names[sizeof(line_cases) / sizeof(line_cases[0])][64];

        for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++, n++) {
                snprintf(names[i], sizeof(names[i]), "/busalert/evidence/%s/%zu", line_cases[i].kind, i);
                tests[n] = (struct CMUnitTest) { .name = names[i], .test_func = test_evidence_line,
                                                 .initial_state = (void *) &line_cases[i] };
        }
        return _cmocka_run_group_tests("busalert", tests, n, NULL, NULL);
}
