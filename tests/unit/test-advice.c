/* hpmon — unit tests of the advice table (lib/advice.c) and of the finding names (lib/finding.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "advice.h"
#include "finding.h"

/* What the guide says each kind leads to (DESIGN.md's table), as "Step 1,Step 2". */
static const char *const advice_expected[_FINDING_KIND_MAX] = {
        [FINDING_CHARGE_STALL] = "Step 1,Step 2,Step 3",
        [FINDING_SLOW_CHARGE] = "Step 2,Step 3",
        [FINDING_INTERMITTENT_CHARGE] = "Step 1,Step 2",
        [FINDING_FAST_DRAIN] = "Step 4,Step 5,Step 6",
        [FINDING_BATTERY_DEGRADED] = "Step 6,Replace",
        [FINDING_SUDDEN_DROP] = "Step 6",
        [FINDING_NOT_HOLDING_CHARGE] = "Step 6,Q4",
        [FINDING_CONNECTION_UNSTABLE] = "Step 4,Step 5",
        [FINDING_LOW_BATTERY] = "",
        [FINDING_DEEP_DISCHARGE_RISK] = "Q4",
};

/* Every kind has a meaning, an action and the guide's steps, titled as the guide titles them. */
static void test_table(void **state) {
        for (int k = 0; k < _FINDING_KIND_MAX; k++) {
                const struct advice *a = advice_for((enum finding_kind) k);
                char refs[128] = "";

                assert_non_null(a);
                assert_int_equal(a->kind, k);
                assert_true(strlen(a->meaning) > 5);
                assert_true(strlen(a->action) > 5);
                assert_true(a->n_steps <= ADVICE_STEPS_MAX);
                for (unsigned i = 0; i < a->n_steps; i++) {
                        assert_true(strlen(a->steps[i].title) > 5);
                        if (i)
                                strcat(refs, ",");
                        strcat(refs, a->steps[i].ref);
                }
                assert_string_equal(refs, advice_expected[k]);
        }
        assert_null(advice_for(_FINDING_KIND_MAX));
        assert_null(advice_for(_FINDING_KIND_INVALID));
        assert_string_equal(advice_for(FINDING_CHARGE_STALL)->meaning, "charging stopped before full");
        assert_string_equal(advice_for(FINDING_CHARGE_STALL)->steps[0].title, "Inspect the Charging Port");
}

/* Every step the table names is a heading of the shipped guide, word for word: "Step 1:
 * Inspect the Charging Port", "Q4: …", or a title standing alone ("When to Seek …"). */
static void test_guide(void **state) {
        FILE *f = fopen(TOP_SRCDIR "/doc/headphone-charging-guide.txt", "re");
        static char guide[64 * 1024];
        size_t n;

        assert_non_null(f);
        n = fread(guide, 1, sizeof(guide) - 1, f);
        assert_true(n > 0 && n < sizeof(guide) - 1);
        guide[n] = '\0';
        fclose(f);
        for (int k = 0; k < _FINDING_KIND_MAX; k++) {
                const struct advice *a = advice_for((enum finding_kind) k);

                for (unsigned i = 0; i < a->n_steps; i++) {
                        char line[512];

                        if (strcmp(a->steps[i].ref, "Replace") == 0)
                                snprintf(line, sizeof(line), "\n%s\n", a->steps[i].title);
                        else
                                snprintf(line, sizeof(line), "\n%s: %s\n", a->steps[i].ref, a->steps[i].title);
                        if (!strstr(guide, line))
                                fail_msg("the guide has no heading%s", line);
                }
        }
}

/* Names go both ways, and unknown names are refused. */
static void test_names(void **state) {
        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                assert_int_equal(finding_kind_from_string(finding_kind_to_string((enum finding_kind) k)), k);
        assert_int_equal(finding_kind_from_string("charge_stall"), _FINDING_KIND_INVALID);
        assert_int_equal(finding_kind_from_string(NULL), _FINDING_KIND_INVALID);
        assert_null(finding_kind_to_string(_FINDING_KIND_MAX));
        assert_string_equal(finding_state_to_string(FINDING_CLEARED), "cleared");
        assert_string_equal(finding_severity_to_string(FINDING_CRITICAL), "critical");
        assert_null(finding_severity_to_string(_FINDING_SEVERITY_MAX));
}

/* Evidence is a small fixed array, looked up by name; a finding keeps finding.c's own
 * pointer for a name, never the caller's (a checkpoint restores names by that table). */
static void test_evidence(void **state) {
        static const char *const known[FINDING_EVIDENCE_MAX] = {
                "flat_min", "level_pct", "rate_pct_per_h", "step_pct", "ratio", "reversals", "connects", "runtime_h",
        };
        struct finding f = {};
        char names[FINDING_EVIDENCE_MAX][32];

        for (int i = 0; i < FINDING_EVIDENCE_MAX; i++) {
                snprintf(names[i], sizeof(names[i]), "%s", known[i]);
                assert_int_equal(finding_add_evidence(&f, names[i], i), 0);
                assert_ptr_not_equal(f.evidence[i].name, names[i]);
                assert_ptr_equal(f.evidence[i].name, finding_evidence_name(known[i], strlen(known[i])));
        }
        assert_int_equal(finding_add_evidence(&f, "wait_min", 1), -ENOSPC);
        assert_non_null(finding_get_evidence(&f, "step_pct"));
        assert_true(finding_get_evidence(&f, "step_pct")->value == 3);
        assert_null(finding_get_evidence(&f, "wait_min"));
        assert_null(finding_evidence_name("no_such_name", 12));
        assert_null(finding_evidence_name("flat_minutes", 12));
        assert_non_null(finding_evidence_name("flat_minutes", 8));     /* a prefix that is a name */
}

/* Runs them. */
/* Packed evidence comes back with the table's own names and the same values, in order; a
 * copy of a name is found by its text, a name the table lacks is left out. */
static void test_evidence_pack(void **state) {
        char copy[] = "flat_min";
        const struct finding_evidence ev[] = {
                { finding_evidence_name("level_pct", 9), 60 },
                { copy, 15.5 },
                { "not_an_evidence_name", 1 },
                { finding_evidence_name("step_pct", 8), 10 },
        };
        struct finding_evidence back[FINDING_EVIDENCE_MAX];
        uint8_t names[FINDING_EVIDENCE_MAX];
        double values[FINDING_EVIDENCE_MAX];
        unsigned n = finding_evidence_pack(ev, 4, names, values);

        assert_int_equal(n, 3);
        finding_evidence_unpack(names, values, n, back);
        assert_ptr_equal(back[0].name, ev[0].name);
        assert_ptr_equal(back[1].name, finding_evidence_name("flat_min", 8));
        assert_ptr_equal(back[2].name, ev[3].name);
        assert_true(back[0].value == 60 && back[1].value == 15.5 && back[2].value == 10);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                { .name = "/advice/table", .test_func = test_table },
                { .name = "/advice/guide", .test_func = test_guide },
                { .name = "/finding/names", .test_func = test_names },
                { .name = "/finding/evidence", .test_func = test_evidence },
                { .name = "/finding/evidence-pack", .test_func = test_evidence_pack },
        };
        return _cmocka_run_group_tests("advice", tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
}
