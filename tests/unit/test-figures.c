/* Unit tests of lib/figures.c: which figures moved. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "figures.h"

struct changed_case {
        const char *name;
        struct figures a, b;
        unsigned want;
};

static const struct changed_case changed_cases[] = {
        { "same", { 1.5, 90, 2, 3.1 }, { 1.5, 90, 2, 3.1 }, 0 },
        { "still unknown", { -1, -1, -1, 0 }, { -1, -1, -1, 0 }, 0 },
        { "time to empty", { 1.4, 90, 2, 3.1 }, { 1.5, 90, 2, 3.1 }, FIGURES_TIME_TO_EMPTY },
        { "health learned", { 1.5, 88, 2, 3.1 }, { 1.5, -1, 2, 3.1 }, FIGURES_HEALTH },
        { "charge time and cycles", { 1.5, 90, 1.8, 3.2 }, { 1.5, 90, 2, 3.1 },
          FIGURES_CHARGE_TIME | FIGURES_CYCLES },
        { "every one", { 0.5, 80, 1, 4 }, { 1.5, 90, 2, 3.1 }, FIGURES_ALL },
};

/* Each figure has its bit, and a value that stays the same (NaN too) has none. */
static void test_changed(void **state) {
        struct figures nan_a = { NAN, 90, 2, 3 }, nan_b = { NAN, 90, 2, 3 };

        for (size_t i = 0; i < sizeof(changed_cases) / sizeof(changed_cases[0]); i++) {
                const struct changed_case *c = &changed_cases[i];
                unsigned got = figures_changed(&c->a, &c->b);

                if (got != c->want)
                        fail_msg("%s: %#x, want %#x", c->name, got, c->want);
                assert_int_equal(figures_changed(&c->b, &c->a), c->want);
        }
        assert_int_equal(figures_changed(&nan_a, &nan_b), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                { .name = "/figures/changed", .test_func = test_changed },
        };
        return _cmocka_run_group_tests("figures", tests, 1, NULL, NULL);
}
