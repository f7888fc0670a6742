/* hpmon — unit tests of the config file (lib/config.c): inih does the syntax, the key table
 * the meaning; errors name file and line; the shipped etc/hpmon.conf and the manual list
 * every key with its default. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test-table.h"

#include "config.h"

/* A good file or string, and the one thing it sets. */
struct config_good {
        const char *name;
        const char *text;
        size_t offset;          /* of an int64_t, double, int or unsigned below */
        char type;              /* 'l' int64, 'd' double, 'i' int, 'u' unsigned, 'b' bool */
        double want;
};

/* A bad one, and what its error must say. */
struct config_bad {
        const char *name;
        const char *text;
        unsigned line;
        const char *message;    /* a piece of the message */
};

static const struct config_good goods[] = {
        { "/config/good/empty", "", offsetof(struct analyzer_config, stall_factor), 'd', 2.0 },
        { "/config/good/comments-only", "# nothing\n; nothing\n[charge-stall]\n#factor = 9\n",
          offsetof(struct analyzer_config, stall_factor), 'd', 2.0 },
        { "/config/good/factor", "[charge-stall]\nfactor = 2.5\n", offsetof(struct analyzer_config, stall_factor), 'd', 2.5 },
        { "/config/good/carry-over", "[charge-stall]\ncarry-over = 2h\n", offsetof(struct analyzer_config, stall_carry_ms),
          'l', 7200000.0 },
        { "/config/good/one-step", "[charge-stall]\none-step = no\n", offsetof(struct analyzer_config, stall_one_step), 'b',
          0 },
        { "/config/good/minutes", "[not-holding-charge]\nwithin = 45min\n",
          offsetof(struct analyzer_config, not_holding_within_ms), 'l', 45 * 60000.0 },
        { "/config/good/days", "[deep-discharge-risk]\nafter = 2d\n", offsetof(struct analyzer_config, deep_after_ms), 'l',
          2 * 86400000.0 },
        { "/config/good/keep", "[log]\nkeep = 400d\n", offsetof(struct analyzer_config, log_keep_ms), 'l',
          400 * 86400e3 },
        { "/config/good/keep-all", "[log]\nkeep = 0\n", offsetof(struct analyzer_config, log_keep_ms), 'l', 0 },
        { "/config/good/hours-fraction", "[intermittent-charge]\nwindow = 1.5h\n",
          offsetof(struct analyzer_config, intermittent_window_ms), 'l', 5400000.0 },
        { "/config/good/percent", "[low-battery]\nwarning = 25\ncritical = 15\n", offsetof(struct analyzer_config, low_warning),
          'i', 25 },
        { "/config/good/count", "[connection-unstable]\nconnects = 7\n", offsetof(struct analyzer_config, unstable_connects),
          'u', 7 },
        { "/config/good/disabled", "[fast-drain]\nenabled = no\n",
          offsetof(struct analyzer_config, enabled) + FINDING_FAST_DRAIN * sizeof(bool), 'b', 0 },
        { "/config/good/inline-comment", "[slow-charge]\nfallback-rate = 30 ; %/h\n",
          offsetof(struct analyzer_config, slow_fallback_rate), 'd', 30 },
};

static const struct config_bad bads[] = {
        { "/config/bad/unknown-key", "[charge-stall]\nfactor = 2\nfactr = 3\n", 3, "unknown key 'factr' in [charge-stall]" },
        { "/config/bad/unknown-section", "\n[charge-stal]\nfactor = 3\n", 3, "unknown section [charge-stal]" },
        { "/config/bad/no-section", "factor = 3\n", 1, "unknown section []" },
        { "/config/bad/not-a-number", "[fast-drain]\nfactor = lots\n", 2, "fast-drain.factor = 'lots' is not a number" },
        { "/config/bad/no-unit", "[charge-stall]\nmin-wait = 15\n", 2, "is not a duration with a unit" },
        { "/config/bad/zero-out-of-range", "[charge-stall]\nmin-wait = 0\n", 2, "out of range" },
        { "/config/bad/out-of-range", "[low-battery]\nwarning = 120\n", 2, "out of range (0 to 100)" },
        { "/config/bad/fraction-percent", "[low-battery]\nwarning = 20.5\n", 2, "is not a whole percentage" },
        { "/config/bad/boolean", "[sudden-drop]\nenabled = maybe\n", 2, "is not yes or no" },
        { "/config/bad/syntax", "[low-battery]\nwarning\n", 2, "syntax error" },
        { "/config/bad/first-error-wins", "[low-battery]\nbroken line\nwarning = 300\n", 2, "syntax error" },
        { "/config/bad/inconsistent", "[low-battery]\nwarning = 10\ncritical = 20\n", 0,
          "low-battery.critical is above low-battery.warning" },
};

/* A good text sets its key and leaves the rest at the defaults. */
static void test_good(void **state) {
        const struct config_good *g = *state;
        struct analyzer_config c, d;
        struct config_error e = {};
        const char *p;
        double got;

        assert_int_equal(config_load_string(g->text, "test.conf", &c, &e), 0);
        p = (const char *) &c + g->offset;
        switch (g->type) {
        case 'l':
                got = (double) *(const int64_t *) p;
                break;
        case 'd':
                got = *(const double *) p;
                break;
        case 'i':
                got = *(const int *) p;
                break;
        case 'u':
                got = *(const unsigned *) p;
                break;
        default:
                got = *(const bool *) p;
                break;
        }
        assert_true(got == g->want);
        analyzer_config_init(&d);
        assert_int_equal(c.not_holding_from, d.not_holding_from);
}

/* A bad text is refused with file:line and a reason, and the output is left alone. */
static void test_bad(void **state) {
        const struct config_bad *b = *state;
        struct analyzer_config c = { .stall_factor = 42 };
        struct config_error e = {};
        char want[64];

        assert_int_equal(config_load_string(b->text, "/etc/hpmon/hpmon.conf", &c, &e), -EINVAL);
        assert_int_equal(e.line, b->line);
        if (b->line)
                snprintf(want, sizeof(want), "/etc/hpmon/hpmon.conf:%u: ", b->line);
        else
                snprintf(want, sizeof(want), "/etc/hpmon/hpmon.conf: ");
        if (strncmp(e.message, want, strlen(want)) != 0 || !strstr(e.message, b->message))
                fail_msg("message '%s' does not say '%s%s'", e.message, want, b->message);
        assert_true(c.stall_factor == 42);
}

/* A missing file is the defaults; an unreadable one is an error with its name. */
static void test_files(void **state) {
        struct analyzer_config c, d;
        struct config_error e = {};

        analyzer_config_init(&d);
        assert_int_equal(config_load_file("/nonexistent/hpmon.conf", &c, &e), 0);
        assert_memory_equal(&c, &d, sizeof(c));
        assert_int_equal(config_load_file(TOP_SRCDIR "/etc", &c, &e), -EISDIR);
        assert_non_null(strstr(e.message, "/etc: Is a directory"));
}

/* The shipped file parses to the defaults and shows every key commented with its default. */
static void test_shipped(void **state) {
        struct analyzer_config c, d;
        struct config_error e = {};
        const struct config_key *k;
        char line[256], want[128], section[64] = "", value[64];
        size_t n, found = 0;
        FILE *f;

        analyzer_config_init(&d);
        assert_int_equal(config_load_file(TOP_SRCDIR "/etc/hpmon.conf", &c, &e), 0);
        assert_memory_equal(&c, &d, sizeof(c));

        k = config_keys(&n);
        for (size_t i = 0; i < n; i++) {
                bool ok = false;

                f = fopen(TOP_SRCDIR "/etc/hpmon.conf", "re");
                assert_non_null(f);
                assert_int_equal(config_format_value(&d, &k[i], value, sizeof(value)), 0);
                snprintf(want, sizeof(want), "#%s = %s\n", k[i].name, value);
                while (fgets(line, sizeof(line), f)) {
                        if (line[0] == '[')
                                snprintf(section, sizeof(section), "%.*s", (int) (strcspn(line + 1, "]")), line + 1);
                        else if (strcmp(section, k[i].section) == 0 && strcmp(line, want) == 0)
                                ok = true;
                }
                fclose(f);
                if (!ok)
                        fail_msg("etc/hpmon.conf lacks [%s] %s", k[i].section, want);
                found++;
        }
        assert_int_equal(found, n);
}

/* The manual documents every section and key. */
static void test_manual(void **state) {
        const struct config_key *k;
        char *text = NULL, want[128];
        size_t n, len = 0;
        FILE *f = fopen(TOP_SRCDIR "/man/hpmon.conf.5", "re");

        assert_non_null(f);
        assert_true(getdelim(&text, &len, '\0', f) > 0);
        fclose(f);
        k = config_keys(&n);
        for (size_t i = 0; i < n; i++) {
                snprintf(want, sizeof(want), "[%s]", k[i].section);
                if (!strstr(text, want))
                        fail_msg("hpmon.conf.5 lacks the section %s", want);
                snprintf(want, sizeof(want), ".B %s\n", k[i].name);
                if (!strstr(text, want))
                        fail_msg("hpmon.conf.5 lacks the key %s in [%s]", k[i].name, k[i].section);
        }
        free(text);
}

/* Runs the tables and the file tests. */
/* [device ...] sections: a headset's own values win over the global ones wherever they
 * stand; other headsets keep the global ones; every device section is checked. */
static void test_device_sections(void **state) {
        static const char text[] =
                "[device aa:bb:cc:dd:ee:02]\n"
                "low-battery.warning = 40\n"
                "charge-stall.enabled = no\n"
                "[low-battery]\n"
                "warning = 25\n"
                "[device AA:BB:CC:DD:EE:01]\n"
                "low-battery.warning = 30\n";
        struct analyzer_config c;
        struct config_error e = {};

        assert_int_equal(config_load_string_for(text, "t.conf", NULL, &c, &e), 0);
        assert_int_equal(c.low_warning, 25);
        assert_true(c.enabled[FINDING_CHARGE_STALL]);
        assert_int_equal(config_load_string_for(text, "t.conf", "AA:BB:CC:DD:EE:01", &c, &e), 0);
        assert_int_equal(c.low_warning, 30);
        assert_int_equal(config_load_string_for(text, "t.conf", "AA:BB:CC:DD:EE:02", &c, &e), 0);
        assert_int_equal(c.low_warning, 40);
        assert_false(c.enabled[FINDING_CHARGE_STALL]);
        assert_int_equal(config_load_string_for(text, "t.conf", "AA:BB:CC:DD:EE:03", &c, &e), 0);
        assert_int_equal(c.low_warning, 25);

        /* a mistake in another headset's section is still an error, with its line */
        assert_int_equal(config_load_string_for("[device AA:BB:CC:DD:EE:09]\nlow-battery.warnin = 3\n", "t.conf",
                                                "AA:BB:CC:DD:EE:01", &c, &e), -EINVAL);
        assert_int_equal(e.line, 2);
        assert_int_equal(config_load_string_for("[device AA:BB]\nlow-battery.warning = 3\n", "t.conf", NULL, &c, &e),
                         -EINVAL);
        assert_non_null(strstr(e.message, "not a Bluetooth address"));
        assert_int_equal(config_load_string_for("[device AA:BB:CC:DD:EE:01]\nwarning = 3\n", "t.conf", NULL, &c, &e),
                         -EINVAL);
        assert_non_null(strstr(e.message, "section.key"));
        assert_int_equal(config_load_string_for("[device AA:BB:CC:DD:EE:01]\nlow-battery.warning = 300\n", "t.conf",
                                                "AA:BB:CC:DD:EE:01", &c, &e), -EINVAL);
}

int main(void) {
        struct CMUnitTest tests[TEST_TABLE_ROWS(goods) + TEST_TABLE_ROWS(bads) + 4];
        size_t n = 0;

        TEST_TABLE_ADD(tests, n, goods, test_good);
        TEST_TABLE_ADD(tests, n, bads, test_bad);
        tests[n++] = (struct CMUnitTest) { .name = "/config/file/missing-and-unreadable", .test_func = test_files };
        tests[n++] = (struct CMUnitTest) { .name = "/config/file/shipped", .test_func = test_shipped };
        tests[n++] = (struct CMUnitTest) { .name = "/config/file/manual", .test_func = test_manual };
        tests[n++] = (struct CMUnitTest) { .name = "/config/device-sections", .test_func = test_device_sections };
        return _cmocka_run_group_tests("config", tests, n, NULL, NULL);
}
