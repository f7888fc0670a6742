/* Unit tests of client/notified.c: hpctl notify's memory of shown alerts, in a temporary
 * directory per test. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "notified.h"

#define ID_A "AABBCCDDEEFF-low-battery-1788220800123"
#define ID_B "AABBCCDDEEFF-charge-stall-1788220900000"

struct fixture {
        char dir[64];
        char path[128];         /* dir/state/hpmon/notified: two directories to create */
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        snprintf(f->dir, sizeof(f->dir), "/tmp/hpmon-test-notified-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/state/hpmon/notified", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        char cmd[160];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

/* Writes a file's whole content. */
static void write_file(const char *path, const char *text) {
        FILE *fp = fopen(path, "we");

        assert_non_null(fp);
        fputs(text, fp);
        assert_int_equal(fclose(fp), 0);
}

/* A missing file is an empty memory; nothing is created until saved. */
static void test_missing(void **state) {
        struct fixture *f = *state;
        struct notified s;

        assert_int_equal(notified_load(&s, f->path), 0);
        assert_int_equal(s.n, 0);
        assert_false(notified_seen(&s, ID_A, 0));
        assert_int_equal(access(f->path, F_OK), -1);
        notified_done(&s);
}

/* Saved, then loaded again (as after a restart): the same ids and severities, and the
 * directories made on the way with mode 0700. */
static void test_roundtrip(void **state) {
        struct fixture *f = *state;
        struct notified s, t;
        struct stat st;
        char parent[160];

        assert_int_equal(notified_load(&s, f->path), 0);
        assert_int_equal(notified_add(&s, ID_A, 1), 0);
        assert_int_equal(notified_add(&s, ID_B, 2), 0);
        assert_int_equal(notified_save(&s), 0);
        snprintf(parent, sizeof(parent), "%s/state/hpmon", f->dir);
        assert_int_equal(stat(parent, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);

        assert_int_equal(notified_load(&t, f->path), 0);
        assert_int_equal(t.n, 2);
        assert_true(notified_seen(&t, ID_A, 1));
        assert_false(notified_seen(&t, ID_A, 2));       /* an escalation is news */
        assert_true(notified_seen(&t, ID_B, 2));
        assert_true(notified_seen(&t, ID_B, 0));
        notified_done(&s);
        notified_done(&t);
}

/* Shown at critical, then seen again at warning: critical is kept, and the entry is the newest. */
static void test_escalation_kept(void **state) {
        struct fixture *f = *state;
        struct notified s;

        assert_int_equal(notified_load(&s, f->path), 0);
        assert_int_equal(notified_add(&s, ID_A, 2), 0);
        assert_int_equal(notified_add(&s, ID_B, 1), 0);
        assert_int_equal(notified_add(&s, ID_A, 1), 0);
        assert_int_equal(s.n, 2);
        assert_string_equal(s.entries[1].id, ID_A);
        assert_int_equal(s.entries[1].level, 2);
        notified_done(&s);
}

/* Never more than NOTIFIED_MAX entries: the oldest go first. */
static void test_bounded(void **state) {
        struct fixture *f = *state;
        struct notified s, t;
        char id[64];

        assert_int_equal(notified_load(&s, f->path), 0);
        for (int i = 0; i < NOTIFIED_MAX + 10; i++) {
                snprintf(id, sizeof(id), "AABBCCDDEEFF-low-battery-%d", i);
                assert_int_equal(notified_add(&s, id, 1), 0);
        }
        assert_int_equal(s.n, NOTIFIED_MAX);
        assert_int_equal(notified_save(&s), 0);
        assert_int_equal(notified_load(&t, f->path), 0);
        assert_int_equal(t.n, NOTIFIED_MAX);
        assert_false(notified_seen(&t, "AABBCCDDEEFF-low-battery-9", 0));
        assert_true(notified_seen(&t, "AABBCCDDEEFF-low-battery-10", 1));
        snprintf(id, sizeof(id), "AABBCCDDEEFF-low-battery-%d", NOTIFIED_MAX + 9);
        assert_true(notified_seen(&t, id, 1));
        notified_done(&s);
        notified_done(&t);
}

/* A damaged file: comments, blank lines, unknown severities, a line too long to be an id
 * and a last line cut short are dropped; the good lines are read. */
static void test_damaged(void **state) {
        struct fixture *f = *state;
        struct notified s;
        char cmd[200], *text, *p;
        size_t long_len = 4000;

        snprintf(cmd, sizeof(cmd), "mkdir -p '%s/state/hpmon'", f->dir);
        assert_int_equal(system(cmd), 0);
        text = malloc(long_len + 512);
        assert_non_null(text);
        p = text + sprintf(text, "# comment\n\n" ID_A " critical\nnonsense\n" ID_B " purple\n");
        memset(p, 'X', long_len);
        p += long_len;
        p += sprintf(p, " warning\nAABBCCDDEEFF-sudden-drop-1 warning\nAABBCCDDEEFF-fast-drain-2 warn");
        write_file(f->path, text);
        free(text);

        assert_int_equal(notified_load(&s, f->path), 0);
        assert_int_equal(s.n, 2);
        assert_true(notified_seen(&s, ID_A, 2));
        assert_false(notified_seen(&s, ID_B, 0));
        assert_true(notified_seen(&s, "AABBCCDDEEFF-sudden-drop-1", 1));
        assert_false(notified_seen(&s, "AABBCCDDEEFF-fast-drain-2", 0));
        notified_done(&s);
}

/* Ids with blanks or too long are refused (they could not be read back). */
static void test_bad_ids(void **state) {
        struct fixture *f = *state;
        struct notified s;
        char id[NOTIFIED_ID_MAX + 1];

        memset(id, 'A', sizeof(id) - 1);
        id[sizeof(id) - 1] = '\0';
        assert_int_equal(notified_load(&s, f->path), 0);
        assert_int_equal(notified_add(&s, "two words", 1), -EINVAL);
        assert_int_equal(notified_add(&s, "", 1), -EINVAL);
        assert_int_equal(notified_add(&s, id, 1), -EINVAL);
        assert_int_equal(s.n, 0);
        notified_done(&s);
}

/* Saving leaves exactly one file: the temporary one is renamed over it. */
static void test_atomic(void **state) {
        struct fixture *f = *state;
        struct notified s;
        struct dirent *de;
        char dir[160];
        DIR *d;
        int files = 0;

        assert_int_equal(notified_load(&s, f->path), 0);
        for (int i = 0; i < 3; i++) {
                assert_int_equal(notified_add(&s, i ? ID_B : ID_A, i), 0);
                assert_int_equal(notified_save(&s), 0);
        }
        snprintf(dir, sizeof(dir), "%s/state/hpmon", f->dir);
        d = opendir(dir);
        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.') {
                        assert_string_equal(de->d_name, "notified");
                        files++;
                }
        closedir(d);
        assert_int_equal(files, 1);
        notified_done(&s);
}

/* $XDG_STATE_HOME when absolute, else ~/.local/state (a relative one is invalid). */
static void test_default_path(void **state) {
        char *p = NULL;

        assert_int_equal(setenv("HOME", "/home/someone", 1), 0);
        assert_int_equal(setenv("XDG_STATE_HOME", "/var/tmp/st", 1), 0);
        assert_int_equal(notified_default_path(&p), 0);
        assert_string_equal(p, "/var/tmp/st/hpmon/notified");
        free(p);
        assert_int_equal(setenv("XDG_STATE_HOME", "relative/st", 1), 0);
        assert_int_equal(notified_default_path(&p), 0);
        assert_string_equal(p, "/home/someone/.local/state/hpmon/notified");
        free(p);
        assert_int_equal(unsetenv("XDG_STATE_HOME"), 0);
        assert_int_equal(notified_default_path(&p), 0);
        assert_string_equal(p, "/home/someone/.local/state/hpmon/notified");
        free(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_escalation_kept, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_ids, setup, teardown),
                cmocka_unit_test_setup_teardown(test_atomic, setup, teardown),
                cmocka_unit_test(test_default_path),
        };

        return cmocka_run_group_tests_name("notified", tests, NULL, NULL);
}
