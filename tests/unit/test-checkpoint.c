/* hpmon — unit tests of the checkpoint (lib/checkpoint.c), over the simulator's logs.
 *
 * A device's fold (devstate, analyzer, alerts), as hpmond keeps it, is run over a whole
 * simulated log with the owner's mutes and acknowledgements mixed in; then again with a
 * checkpoint taken at a cut, restored into fresh objects, and the rest of the log fed to
 * them, as a compacted log is read. The findings after the cut, the state and the alert
 * table at the end must be exactly the uncut run's. A damaged, truncated or foreign
 * checkpoint must be refused and leave the objects as they were. */
#include <errno.h>
#include <ftw.h>
#include <resolv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alerts.h"
#include "analyzer.h"
#include "chargelog.h"
#include "checkpoint.h"
#include "devstate.h"
#include "sim.h"

#define FOUND_MAX 4096

struct fold {
        struct devstate state;
        struct analyzer *analyzer;
        struct alerts alerts;
        struct finding found[FOUND_MAX];
        size_t n_found;
};

struct events {
        struct hpevent *v;
        size_t n, cap;
};

static char test_dir[] = "/tmp/test-checkpoint-XXXXXX";

/* Keeps a finding and folds it into the alert table, as registry.c does. */
static void fold_finding_cb(const struct finding *f, void *userdata) {
        struct fold *fd = userdata;

        assert_true(fd->n_found < FOUND_MAX);
        fd->found[fd->n_found++] = *f;
        (void) alerts_apply_finding(&fd->alerts, f, NULL);
}

/* A fresh fold for the simulator's device. */
static void fold_init(struct fold *fd) {
        memset(fd, 0, sizeof(*fd));
        devstate_init(&fd->state);
        alerts_init(&fd->alerts, "AA:BB:CC:DD:EE:FF");
        assert_int_equal(analyzer_new(NULL, "AA:BB:CC:DD:EE:FF", fold_finding_cb, fd, &fd->analyzer), 0);
}

/* Applies one event as registry_apply() does. */
static void fold_apply(struct fold *fd, const struct hpevent *e) {
        devstate_apply(&fd->state, e);
        if (e->kind == EVENT_CONNECTED || e->kind == EVENT_BATTERY) {
                (void) analyzer_feed(fd->analyzer, e);
                return;
        }
        analyzer_advance(fd->analyzer, e->time_ms);
        (void) alerts_apply_event(&fd->alerts, e);
}

/* Collects a log's events. */
static int events_cb(void *userdata, const struct hpevent *e) {
        struct events *ev = userdata;

        if (ev->n == ev->cap) {
                ev->cap = ev->cap ? ev->cap * 2 : 1024;
                ev->v = realloc(ev->v, ev->cap * sizeof(*ev->v));
                assert_non_null(ev->v);
        }
        ev->v[ev->n++] = *e;
        return 0;
}

/* The owner's events mixed into a log: a mute, an acknowledgement of every open kind, an
 * unmute, at fixed fractions of it, so the alert table has something to carry over. */
static void events_add_owner(struct events *ev) {
        struct events out = {};

        for (size_t i = 0; i < ev->n; i++) {
                events_cb(&out, &ev->v[i]);
                if (i == ev->n / 4)
                        events_cb(&out, &(struct hpevent) { .time_ms = ev->v[i].time_ms, .kind = EVENT_MUTE,
                                                           .value = FINDING_SUDDEN_DROP });
                if (i == ev->n / 3 || i == ev->n / 2)
                        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                                events_cb(&out, &(struct hpevent) { .time_ms = ev->v[i].time_ms, .kind = EVENT_ACK,
                                                                   .value = k });
                if (i == 2 * ev->n / 3)
                        events_cb(&out, &(struct hpevent) { .time_ms = ev->v[i].time_ms, .kind = EVENT_UNMUTE,
                                                           .value = EVENT_ALL_KINDS });
                if (i == 3 * ev->n / 4)
                        events_cb(&out, &(struct hpevent) { .time_ms = ev->v[i].time_ms, .kind = EVENT_MUTE,
                                                           .value = FINDING_LOW_BATTERY });
        }
        free(ev->v);
        *ev = out;
}

/* Whether two findings are the same, evidence names by pointer (finding.c's table). */
static void assert_same_finding(const struct finding *a, const struct finding *b) {
        assert_int_equal(a->kind, b->kind);
        assert_int_equal(a->state, b->state);
        assert_int_equal(a->severity, b->severity);
        assert_int_equal(a->time_ms, b->time_ms);
        assert_string_equal(a->device, b->device);
        assert_ptr_equal(a->advice, b->advice);
        assert_int_equal(a->n_evidence, b->n_evidence);
        for (unsigned i = 0; i < a->n_evidence; i++) {
                assert_ptr_equal(a->evidence[i].name, b->evidence[i].name);
                assert_memory_equal(&a->evidence[i].value, &b->evidence[i].value, sizeof(double));
        }
}

/* The checkpoint lines of a fold, as one collected reader. */
static void checkpoint_of(const struct fold *fd, int64_t cut_ms, struct checkpoint_reader *rd) {
        char *text = NULL;
        size_t len = 0;

        assert_int_equal(checkpoint_encode(&fd->state, fd->analyzer, &fd->alerts, cut_ms, &text, &len), 0);
        assert_int_equal(strlen(text), len);
        for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
                assert_true(strncmp(line, "# " CHECKPOINT_KEY "=", 13) == 0);
                assert_true(nl - line - 13 <= CHECKPOINT_LINE_CHARS);
                assert_int_equal(checkpoint_reader_add(rd, line + 13, (size_t) (nl - line - 13)), 0);
        }
        free(text);
}

/* One log: the uncut run against runs resumed from a checkpoint at several cuts. */
static void check_log(const char *path) {
        static struct fold full, before, after;
        struct events ev = {};
        struct chargelog_handler h = { .event = events_cb };

        assert_int_equal(chargelog_read_file(path, &h, &ev, NULL), 0);
        assert_true(ev.n > 20);
        events_add_owner(&ev);

        fold_init(&full);
        for (size_t i = 0; i < ev.n; i++)
                fold_apply(&full, &ev.v[i]);

        for (unsigned c = 1; c <= 7; c++) {
                size_t cut = ev.n * c / 8, n_before;
                struct checkpoint_reader rd = {};
                int64_t cut_ms = 0;

                fold_init(&before);
                for (size_t i = 0; i < cut; i++)
                        fold_apply(&before, &ev.v[i]);
                checkpoint_of(&before, ev.v[cut].time_ms, &rd);
                n_before = before.n_found;
                analyzer_free(before.analyzer);
                alerts_done(&before.alerts);

                fold_init(&after);
                assert_int_equal(checkpoint_reader_restore(&rd, &after.state, after.analyzer, &after.alerts, &cut_ms), 0);
                assert_int_equal(cut_ms, ev.v[cut].time_ms);
                assert_false(checkpoint_reader_pending(&rd));
                checkpoint_reader_done(&rd);
                for (size_t i = cut; i < ev.n; i++)
                        fold_apply(&after, &ev.v[i]);

                assert_int_equal(n_before + after.n_found, full.n_found);
                for (size_t i = 0; i < after.n_found; i++)
                        assert_same_finding(&after.found[i], &full.found[n_before + i]);
                assert_memory_equal(&after.state, &full.state, sizeof(full.state));
                assert_int_equal(after.alerts.muted, full.alerts.muted);
                for (int k = 0; k < _FINDING_KIND_MAX; k++) {
                        assert_int_equal(!!after.alerts.open[k], !!full.alerts.open[k]);
                        if (!full.alerts.open[k])
                                continue;
                        assert_string_equal(after.alerts.open[k]->id, full.alerts.open[k]->id);
                        assert_int_equal(after.alerts.open[k]->acknowledged, full.alerts.open[k]->acknowledged);
                        assert_int_equal(after.alerts.open[k]->severity, full.alerts.open[k]->severity);
                        assert_ptr_equal(after.alerts.open[k]->advice, full.alerts.open[k]->advice);
                        for (unsigned i = 0; i < full.alerts.open[k]->n_evidence; i++)
                                assert_ptr_equal(after.alerts.open[k]->evidence[i].name,
                                                 full.alerts.open[k]->evidence[i].name);
                }
                {
                        struct analyzer_figures fa, fb;

                        /* field by field: the struct has padding, which nothing sets */
                        analyzer_get_figures(full.analyzer, &fa);
                        analyzer_get_figures(after.analyzer, &fb);
                        assert_int_equal(fa.connected, fb.connected);
                        assert_int_equal(fa.level, fb.level);
                        assert_int_equal(fa.level_time_ms, fb.level_time_ms);
                        assert_int_equal(fa.step, fb.step);
                        assert_int_equal(fa.charges, fb.charges);
                        assert_int_equal(fa.drains, fb.drains);
                        assert_memory_equal(&fa.charge_rate, &fb.charge_rate, sizeof(double));
                        assert_memory_equal(&fa.drain_rate, &fb.drain_rate, sizeof(double));
                        assert_memory_equal(&fa.runtime_h, &fb.runtime_h, sizeof(double));
                        assert_memory_equal(&fa.early_runtime_h, &fb.early_runtime_h, sizeof(double));
                }
                analyzer_free(after.analyzer);
                alerts_done(&after.alerts);
        }
        print_message("%s: %zu events, %zu findings\n", strrchr(path, '/') + 1, ev.n, full.n_found);
        analyzer_free(full.analyzer);
        alerts_done(&full.alerts);
        free(ev.v);
}

/* Every simulated device, healthy and faulty, at seven cuts each. */
static void test_round_trip(void **state) {
        struct sim_options o;
        unsigned n = 0, checked = 0;
        char path[2048];

        sim_options_init(&o);
        o.dir = test_dir;
        o.seed = 7;
        o.healthy = 2;
        o.per_kind = 1;
        o.healthy_days = 30;
        assert_int_equal(sim_run(&o, &n), 0);
        assert_true(n >= 10);

        {
                /* devices.tsv names every log, one per line after its header */
                FILE *f;
                char line[1024];

                snprintf(path, sizeof(path), "%s/devices.tsv", test_dir);
                f = fopen(path, "re");
                assert_non_null(f);
                while (fgets(line, sizeof(line), f)) {
                        line[strcspn(line, "\t\n")] = '\0';
                        if (!strstr(line, ".csv"))
                                continue;
                        snprintf(path, sizeof(path), "%s/%s", test_dir, line);
                        check_log(path);
                        checked++;
                }
                fclose(f);
        }
        assert_int_equal(checked, n);
}

/* FNV-1a as checkpoint.c computes it, to forge a payload with a good hash. */
static uint64_t fnv(const unsigned char *p, size_t n) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * UINT64_C(0x100000001b3);
        return h;
}

/* A reader holding a fold's checkpoint with one payload byte changed (hash fixed or not). */
static void forged(const struct fold *fd, size_t at, unsigned char value, bool fix_hash, struct checkpoint_reader *rd) {
        struct checkpoint_reader orig = {};
        unsigned char bin[65536];
        char b64[90000];
        int n;

        checkpoint_of(fd, 1, &orig);
        n = b64_pton(orig.text, bin, sizeof(bin));
        assert_true(n > (int) (at + 8));
        bin[at] = value;
        if (fix_hash) {
                uint64_t h = fnv(bin, (size_t) n - 8);
                memcpy(bin + n - 8, &h, 8);
        }
        assert_true(b64_ntop(bin, (size_t) n, b64, sizeof(b64)) > 0);
        assert_int_equal(checkpoint_reader_add(rd, b64, strlen(b64)), 0);
        checkpoint_reader_done(&orig);
}

/* Damaged, truncated, foreign and hostile checkpoints are refused; nothing changes. */
static void test_refused(void **state) {
        static struct fold fd, fresh;
        struct checkpoint_reader rd = {};
        struct devstate before;
        char *text = NULL;

        fold_init(&fd);
        for (int i = 0; i < 40; i++)
                fold_apply(&fd, &(struct hpevent) { .time_ms = 1788220800000 + i * 600000, .kind = EVENT_BATTERY,
                                                   .value = 100 - i });
        fold_init(&fresh);
        before = fresh.state;

        /* not base64 */
        assert_int_equal(checkpoint_reader_add(&rd, "not*base64!", 11), 0);
        assert_int_equal(checkpoint_reader_restore(&rd, &fresh.state, fresh.analyzer, &fresh.alerts, NULL), -EBADMSG);
        /* one line lost */
        assert_int_equal(checkpoint_encode(&fd.state, fd.analyzer, &fd.alerts, 1, &text, NULL), 0);
        assert_int_equal(checkpoint_reader_add(&rd, text + 13, strchr(text, '\n') - text - 13), 0);
        free(text);
        assert_int_equal(checkpoint_reader_restore(&rd, &fresh.state, fresh.analyzer, &fresh.alerts, NULL), -EBADMSG);
        /* a flipped byte */
        forged(&fd, 100, 0x5a, false, &rd);
        assert_int_equal(checkpoint_reader_restore(&rd, &fresh.state, fresh.analyzer, &fresh.alerts, NULL), -EBADMSG);
        /* another version, hash fixed up */
        forged(&fd, 4, CHECKPOINT_VERSION + 1, true, &rd);
        assert_int_equal(checkpoint_reader_restore(&rd, &fresh.state, fresh.analyzer, &fresh.alerts, NULL),
                         -EPROTONOSUPPORT);
        /* nothing restored by any of them */
        assert_memory_equal(&fresh.state, &before, sizeof(before));
        assert_int_equal(fresh.n_found, 0);
        assert_int_equal(checkpoint_reader_restore(&rd, NULL, fresh.analyzer, NULL, NULL), -ENODATA);
        checkpoint_reader_done(&rd);

        /* comments: only "checkpoint" is taken; one past any payload of ours refuses the rest */
        {
                static char big[64 * 1024];

                memset(big, 'A', sizeof(big));
                assert_int_equal(checkpoint_reader_meta(&rd, "name", 4, "x", 1), 0);
                assert_int_equal(checkpoint_reader_meta(&rd, "checkpoint", 10, "AAAA", 4), 1);
                assert_true(checkpoint_reader_pending(&rd));
                assert_int_equal(checkpoint_reader_meta(&rd, "checkpoint", 10, big, sizeof(big)), -E2BIG);
                assert_false(checkpoint_reader_pending(&rd));
                assert_int_equal(checkpoint_reader_meta(&rd, "checkpoint", 10, "AAAA", 4), 1);
                assert_false(checkpoint_reader_pending(&rd));
                checkpoint_reader_done(&rd);
        }
        analyzer_free(fd.analyzer);
        analyzer_free(fresh.analyzer);
        alerts_done(&fd.alerts);
        alerts_done(&fresh.alerts);
}

/* Removes one file of the test directory. */
static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

/* Makes the directory the simulator writes to. */
static int setup(void **state) {
        return mkdtemp(test_dir) ? 0 : -1;
}

/* Removes it. */
static int teardown(void **state) {
        return nftw(test_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_refused),
        };

        return cmocka_run_group_tests_name("checkpoint", tests, setup, teardown);
}
