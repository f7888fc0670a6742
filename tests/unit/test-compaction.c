/* hpmon — unit tests of retention's policy (lib/compaction.c): when a log is due and where
 * it is cut, with the time passed in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "compaction.h"

#define DAY INT64_C(86400000)
#define NOW (INT64_C(1788220800000) + 1000 * DAY)

/* The margin: an eighth of keep, at most 30 days. */
static void test_margin(void **state) {
        assert_int_equal(compaction_margin_ms(8 * DAY), DAY);
        assert_int_equal(compaction_margin_ms(80 * DAY), 10 * DAY);
        assert_int_equal(compaction_margin_ms(730 * DAY), 30 * DAY);
        assert_int_equal(compaction_margin_ms(0), 0);
}

/* Due only past keep plus the margin, with keep set, an oldest event, and the last look behind. */
static void test_due(void **state) {
        int64_t keep = 730 * DAY;

        assert_false(compaction_due(keep, NOW - keep - 30 * DAY, 0, NOW));          /* exactly at the margin */
        assert_true(compaction_due(keep, NOW - keep - 30 * DAY - 1, 0, NOW));
        assert_false(compaction_due(0, NOW - 5000 * DAY, 0, NOW));                  /* 0 keeps every event */
        assert_false(compaction_due(keep, 0, 0, NOW));                              /* no event at all */
        assert_false(compaction_due(keep, NOW - 5000 * DAY, NOW + 1, NOW));         /* looked too lately */
        assert_true(compaction_due(keep, NOW - 5000 * DAY, NOW, NOW));
}

/* The cut is now - keep; a compaction never reads (drops) the newest COMPACTION_KEEP_LINES. */
static void test_cut(void **state) {
        assert_int_equal(compaction_cut_ms(365 * DAY, NOW), NOW - 365 * DAY);
        assert_int_equal(compaction_lines_to_read(COMPACTION_KEEP_LINES), 0);
        assert_int_equal(compaction_lines_to_read(10), 0);
        assert_int_equal(compaction_lines_to_read(COMPACTION_KEEP_LINES + 95009), 95009);
}

/* Reading goes on to the lines it may drop, and through the head and checkpoint always. */
static void test_keep_reading(void **state) {
        assert_true(compaction_keep_reading(5, 10, true));
        assert_false(compaction_keep_reading(10, 10, true));
        assert_true(compaction_keep_reading(10, 10, false));           /* still inside the checkpoint */
        assert_true(compaction_keep_reading(0, 0, false));
        assert_false(compaction_keep_reading(0, 0, true));
}

/* The checkpoint's cut, whether it is worth writing, and whether an old one may go. */
static void test_checkpoint(void **state) {
        assert_int_equal(compaction_checkpoint_cut_ms(NOW - 365 * DAY, 0), NOW - 365 * DAY);
        assert_int_equal(compaction_checkpoint_cut_ms(NOW - 365 * DAY, NOW - 400 * DAY), NOW - 400 * DAY); /* held back */
        assert_int_equal(compaction_checkpoint_cut_ms(NOW - 365 * DAY, NOW - 300 * DAY), NOW - 365 * DAY);
        assert_true(compaction_worth(4000, 60000));
        assert_false(compaction_worth(4000, 4000));
        assert_false(compaction_worth(4000, 1200));
        assert_true(compaction_may_replace(false, false));
        assert_true(compaction_may_replace(false, true));
        assert_true(compaction_may_replace(true, true));               /* foreign or damaged, skipped at start too */
        assert_false(compaction_may_replace(true, false));             /* restored at start: it must not be lost */
}

/* Runs them. */
int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_margin),
                cmocka_unit_test(test_due),
                cmocka_unit_test(test_cut),
                cmocka_unit_test(test_keep_reading),
                cmocka_unit_test(test_checkpoint),
        };

        return cmocka_run_group_tests_name("compaction", tests, NULL, NULL);
}
