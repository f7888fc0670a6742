/* hpmon — unit tests of the analyzer and its ten detectors (lib/analyzer.c, lib/detect-*.c).
 *
 * Table-driven: each case is a short script of charge-log events and an expectation of
 * the findings of one kind, with the time window (minutes from the start) each must fall
 * in. Every case also runs the cut test: the script cut after every step, fed to a fresh
 * analyzer and advanced to the cut, must give exactly the full run's findings up to then.
 *
 * Script words, separated by spaces (times in minutes):
 *   @M     the clock is at M             +M     M minutes pass        -M   the clock steps back M
 *   c1 c0  connected / disconnected      bN     a battery report of N
 *   rA:B:S:P  from A (already reported) to B in steps of S, one every P minutes
 *   fA:B:K:P  K reports alternating A, B, A, ... one every P minutes (flicker)
 *   a      advance() to now              aM     advance() to M
 *   d      the last event again, as a duplicate line
 *   n:K    K discharge sessions: c1 b90, falling at P min/step to 60, c0, 10 h apart (see below) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test-table.h"

#include "advice.h"
#include "analyzer.h"
#include "analyzer-internal.h"
#include "checkpoint.h"
#include "finding.h"

#define T0 INT64_C(1788220800000)
#define MIN INT64_C(60000)
#define OPS_MAX 4096
#define FOUND_MAX 512

enum op_kind { OP_EVENT, OP_ADVANCE };

struct op {
        enum op_kind kind;
        struct hpevent e;         /* OP_EVENT */
        int64_t at;             /* OP_ADVANCE */
};

struct script {
        struct op ops[OPS_MAX];
        size_t n;
};

struct found {
        struct finding v[FOUND_MAX];
        size_t n;
};

/* One expected finding: kind, edge, and the window (minutes) its time falls in. */
struct expect {
        const char *kind;
        const char *state;
        double lo, hi;
};

struct tcase {
        const char *name;
        const char *kind;               /* the kind compared; others are ignored */
        const char *script;
        const char *config;             /* "section.key=value;..." or NULL */
        struct expect expect[8];        /* up to the first with kind NULL */
};

/* Appends an event to a script. */
static void script_event(struct script *s, int64_t t, enum event_kind k, int v) {
        assert_true(s->n < OPS_MAX);
        s->ops[s->n++] = (struct op) { .kind = OP_EVENT, .e = { .time_ms = t, .kind = k, .value = v } };
}

/* Appends an advance to a script. */
static void script_advance(struct script *s, int64_t t) {
        assert_true(s->n < OPS_MAX);
        s->ops[s->n++] = (struct op) { .kind = OP_ADVANCE, .at = t };
}

/* Turns a script text into operations. */
static void script_parse(const char *text, struct script *s) {
        char *copy = strdup(text), *save = NULL;
        double now = 0;

        assert_non_null(copy);
        s->n = 0;
        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                double a, b, c, p;
                int k;

                switch (w[0]) {
                case '@':
                        now = atof(w + 1);
                        break;
                case '+':
                        now += atof(w + 1);
                        break;
                case '-':
                        now -= atof(w + 1);
                        break;
                case 'c':
                        script_event(s, T0 + llround(now * MIN), EVENT_CONNECTED, atoi(w + 1));
                        break;
                case 'b':
                        script_event(s, T0 + llround(now * MIN), EVENT_BATTERY, atoi(w + 1));
                        break;
                case 'r':
                        assert_int_equal(sscanf(w + 1, "%lf:%lf:%lf:%lf", &a, &b, &c, &p), 4);
                        for (double v = a; b > a ? v + c <= b : v - c >= b;) {
                                v += b > a ? c : -c;
                                now += p;
                                script_event(s, T0 + llround(now * MIN), EVENT_BATTERY, (int) v);
                        }
                        break;
                case 'f':
                        assert_int_equal(sscanf(w + 1, "%lf:%lf:%d:%lf", &a, &b, &k, &p), 4);
                        for (int i = 0; i < k; i++) {
                                now += p;
                                script_event(s, T0 + llround(now * MIN), EVENT_BATTERY, (int) (i % 2 ? b : a));
                        }
                        break;
                case 'a':
                        script_advance(s, T0 + llround((w[1] ? atof(w + 1) : now) * MIN));
                        break;
                case 'd':
                        assert_true(s->n > 0 && s->ops[s->n - 1].kind == OP_EVENT);
                        s->ops[s->n] = s->ops[s->n - 1];
                        s->n++;
                        break;
                case 'n':
                        /* K discharge sessions at P minutes per point, 10 h apart: "n:K:P" */
                        assert_int_equal(sscanf(w + 2, "%d:%lf", &k, &p), 2);
                        for (int i = 0; i < k; i++) {
                                script_event(s, T0 + llround(now * MIN), EVENT_CONNECTED, 1);
                                script_event(s, T0 + llround((now + 0.1) * MIN), EVENT_BATTERY, 90);
                                for (int v = 89; v >= 60; v--) {
                                        now += p;
                                        script_event(s, T0 + llround(now * MIN), EVENT_BATTERY, v);
                                }
                                now += 1;
                                script_event(s, T0 + llround(now * MIN), EVENT_CONNECTED, 0);
                                now += 600;
                        }
                        break;
                default:
                        fail_msg("bad script word '%s'", w);
                }
        }
        free(copy);
}

/* Collects findings. */
static void found_cb(const struct finding *f, void *userdata) {
        struct found *out = userdata;

        assert_true(out->n < FOUND_MAX);
        out->v[out->n++] = *f;
}

/* Applies "section.key=value;..." to a config (the keys the analyzer cares about in tests). */
static void config_apply(struct analyzer_config *c, const char *spec) {
        char buf[256], *save = NULL;

        analyzer_config_init(c);
        if (!spec)
                return;
        snprintf(buf, sizeof(buf), "%s", spec);
        for (char *kv = strtok_r(buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
                double v = atof(strchr(kv, '=') + 1);

                if (strncmp(kv, "history.flap=", 13) == 0)
                        c->flap_ms = (int64_t) (v * MIN);
                else if (strncmp(kv, "history.min-discharges=", 23) == 0)
                        c->min_drains = (unsigned) v;
                else if (strncmp(kv, "battery-degraded.early=", 23) == 0)
                        c->degraded_early = (unsigned) v;
                else if (strncmp(kv, "battery-degraded.recent=", 24) == 0)
                        c->degraded_recent = (unsigned) v;
                else if (strncmp(kv, "charge-stall.enabled=", 21) == 0)
                        c->enabled[FINDING_CHARGE_STALL] = v != 0;
                else if (strncmp(kv, "charge-stall.fall-factor=", 25) == 0)
                        c->stall_fall_factor = v;
                else if (strncmp(kv, "charge-stall.min-wait=", 22) == 0)
                        c->stall_min_wait_ms = (int64_t) (v * MIN);
                else if (strncmp(kv, "charge-stall.carry-over=", 24) == 0)
                        c->stall_carry_ms = (int64_t) (v * MIN);
                else if (strncmp(kv, "charge-stall.dwell-factor=", 26) == 0)
                        c->stall_dwell_factor = v;
                else if (strncmp(kv, "charge-stall.one-step=", 22) == 0)
                        c->stall_one_step = v != 0;
                else if (strncmp(kv, "slow-charge.min-rise=", 21) == 0)
                        c->slow_min_rise = (int) v;
                else if (strncmp(kv, "slow-charge.min-duration=", 25) == 0)
                        c->slow_min_duration_ms = (int64_t) (v * MIN);
                else
                        fail_msg("unknown test config '%s'", kv);
        }
}

/* Feeds operations [from, to) of a script to an analyzer. */
static void run_ops(struct analyzer *a, const struct script *s, size_t from, size_t to) {
        for (size_t i = from; i < to; i++) {
                if (s->ops[i].kind == OP_EVENT)
                        assert_int_equal(analyzer_feed(a, &s->ops[i].e), 0);
                else
                        analyzer_advance(a, s->ops[i].at);
        }
}

/* Runs the first n operations of a script, then advances to `until` (no advance if INT64_MIN). */
static void run(const struct analyzer_config *cfg, const struct script *s, size_t n, int64_t until, struct found *out) {
        struct analyzer *a = NULL;

        out->n = 0;
        assert_int_equal(analyzer_new(cfg, "AA:BB:CC:DD:EE:FF", found_cb, out, &a), 0);
        run_ops(a, s, 0, n);
        if (until != INT64_MIN)
                analyzer_advance(a, until);
        assert_null(analyzer_free(a));
}

/* The time an operation happens at. */
static int64_t op_time(const struct op *o) {
        return o->kind == OP_EVENT ? o->e.time_ms : o->at;
}

/* Whether two findings are the same, evidence included. */
static bool same_finding(const struct finding *a, const struct finding *b) {
        if (a->kind != b->kind || a->state != b->state || a->severity != b->severity || a->time_ms != b->time_ms ||
            a->n_evidence != b->n_evidence || strcmp(a->device, b->device) != 0 || a->advice != b->advice)
                return false;
        for (unsigned i = 0; i < a->n_evidence; i++)
                if (strcmp(a->evidence[i].name, b->evidence[i].name) != 0 ||
                    memcmp(&a->evidence[i].value, &b->evidence[i].value, sizeof(double)) != 0)
                        return false;
        return true;
}

/* Runs a script in two analyzers: the first `k` operations in one, then its checkpoint
 * restored into a fresh one that runs the rest, as a compacted log is read. */
static void run_resumed(const struct analyzer_config *cfg, const struct script *s, size_t k, struct found *out) {
        struct checkpoint_reader rd = {};
        struct devstate ds = {};
        struct analyzer *a = NULL, *b = NULL;
        char *text = NULL;

        out->n = 0;
        assert_int_equal(analyzer_new(cfg, "AA:BB:CC:DD:EE:FF", found_cb, out, &a), 0);
        run_ops(a, s, 0, k);
        assert_int_equal(checkpoint_encode(&ds, a, NULL, 0, &text, NULL), 0);
        assert_null(analyzer_free(a));
        for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
                assert_true(strncmp(line, "# checkpoint=", 13) == 0);
                assert_int_equal(checkpoint_reader_add(&rd, line + 13, (size_t) (nl - line - 13)), 0);
        }
        free(text);
        assert_int_equal(analyzer_new(cfg, "AA:BB:CC:DD:EE:FF", found_cb, out, &b), 0);
        assert_int_equal(checkpoint_reader_restore(&rd, NULL, b, NULL, NULL), 0);
        checkpoint_reader_done(&rd);
        run_ops(b, s, k, s->n);
        assert_null(analyzer_free(b));
}

/* The cut test: every prefix, advanced to its last time, gives the full run's findings up to
 * then; and a checkpoint at every step, restored into a fresh analyzer, goes on to give
 * exactly the full run's findings (what retention relies on). */
static void check_cuts(const struct analyzer_config *cfg, const struct script *s, const struct found *full) {
        static struct found cut, resumed;
        bool monotonic = true;

        for (size_t i = 1; i < s->n; i++)
                if (op_time(&s->ops[i]) < op_time(&s->ops[i - 1]))
                        monotonic = false;
        for (size_t k = 1; k <= s->n; k++) {
                int64_t t = op_time(&s->ops[k - 1]);

                run(cfg, s, k, t, &cut);
                assert_true(cut.n <= full->n);
                for (size_t i = 0; i < cut.n; i++)
                        if (!same_finding(&cut.v[i], &full->v[i]))
                                fail_msg("cut after step %zu: finding %zu differs from the full run's", k, i);
                run_resumed(cfg, s, k, &resumed);
                assert_int_equal(resumed.n, full->n);
                for (size_t i = 0; i < resumed.n; i++)
                        if (!same_finding(&resumed.v[i], &full->v[i]))
                                fail_msg("checkpoint after step %zu: finding %zu differs from the full run's", k, i);
                if (monotonic)
                        for (size_t i = cut.n; i < full->n; i++)
                                if (full->v[i].time_ms < t)
                                        fail_msg("cut after step %zu misses a finding at %+.1f min", k,
                                                 (double) (full->v[i].time_ms - T0) / MIN);
        }
}

/* Runs one table case: findings of its kind must match its expectations in order. */
static void test_case(void **state) {
        const struct tcase *c = *state;
        static struct script s;
        static struct found full;
        struct analyzer_config cfg;
        size_t j = 0;

        config_apply(&cfg, c->config);
        script_parse(c->script, &s);
        run(&cfg, &s, s.n, INT64_MIN, &full);
        for (size_t i = 0; i < full.n; i++) {
                const struct finding *f = &full.v[i];
                double m = (double) (f->time_ms - T0) / MIN;

                assert_string_equal(f->device, "AA:BB:CC:DD:EE:FF");
                assert_non_null(f->advice);
                assert_int_equal(f->advice->kind, f->kind);
                if (strcmp(finding_kind_to_string(f->kind), c->kind) != 0)
                        continue;
                if (!c->expect[j].kind)
                        fail_msg("unexpected %s %s at %.2f min", c->kind, finding_state_to_string(f->state), m);
                assert_string_equal(finding_state_to_string(f->state), c->expect[j].state);
                if (m < c->expect[j].lo - 1e-3 || m > c->expect[j].hi + 1e-3)
                        fail_msg("%s %s at %.2f min, expected in [%.2f, %.2f]", c->kind, c->expect[j].state, m,
                                 c->expect[j].lo, c->expect[j].hi);
                j++;
        }
        if (c->expect[j].kind)
                fail_msg("expected %s %s in [%.2f, %.2f] did not come", c->kind, c->expect[j].state, c->expect[j].lo,
                         c->expect[j].hi);
        check_cuts(&cfg, &s, &full);
}

/* ---------------------------------------------------------------- the table */

#define CHARGE_40_60 "c1 b40 r40:60:1:1.2"
/* the wait charge-stall cases were written for */
#define MW15 "charge-stall.min-wait=15"
/* A 10 % headset connected at 70 %, held 150 min, then 60; the same with 140 min; then at 40 %
 * (charge-stall's dwells, 150 and 140 min), DWELLS_T minutes after the start. */
#define DWELLS_150_140 "c1 b70 +150 b60 +5 c0 +600 c1 b70 +140 b60 +5 c0 +600 c1 b40"
#define DWELLS_T 1500
/* Four sessions of in-use drain at 10 min per point (6 %/h): a drain baseline of 20 h. */
#define BASELINE_6PH "n:4:10"

static const struct tcase cases[] = {
        /* charge-stall: typical fall pace 7.5 min (8 %/h at 1 % steps): 1.25 × 7.5 = 9.4 min, so the
         * wait is min-wait, 45 min (cases marked MW15 were written for the earlier 15 min) */
        { "/analyzer/charge-stall/stops-at-60", "charge-stall", CHARGE_40_60 " +60 a", NULL,
          { { "charge-stall", "raised", 24 + 45, 24 + 45 } } },
        /* a fine gauge unplugged after a step up and left idle: flat for 35 min, then two steps
         * down; the earlier 15 min min-wait raised it */
        { "/analyzer/charge-stall/fine-gauge-idle-after-unplug", "charge-stall", CHARGE_40_60 " +35 b59 +12 b58 +30 a",
          NULL, { { NULL } } },
        { "/analyzer/charge-stall/fine-gauge-idle-after-unplug-min-wait-15", "charge-stall",
          CHARGE_40_60 " +35 b59 +12 b58 +30 a", MW15, { { "charge-stall", "raised", 39, 39 } } },
        /* dwell-factor: a 10 % headset whose level has held 150 and 140 min while connected before
         * falling a step (idle, light use) waits 1.25 × 140 = 175 min (the second longest dwell),
         * not 1.25 × 75 min: flat 130 min after a charge, then a step down, is an unplug */
        { "/analyzer/charge-stall/dwell-idle-after-unplug", "charge-stall", DWELLS_150_140 " r40:70:10:12 +130 b60 +30 a",
          NULL, { { NULL } } },
        { "/analyzer/charge-stall/dwell-idle-after-unplug-dwell-off", "charge-stall",
          DWELLS_150_140 " r40:70:10:12 +130 b60 +30 a", "charge-stall.dwell-factor=0",
          { { "charge-stall", "raised", DWELLS_T + 36 + 93.75, DWELLS_T + 36 + 93.75 } } },
        /* a stall on that headset still raises, 175 min after the peak */
        { "/analyzer/charge-stall/dwell-stall-still-raised", "charge-stall", DWELLS_150_140 " r40:70:10:12 +300 a", NULL,
          { { "charge-stall", "raised", DWELLS_T + 36 + 175, DWELLS_T + 36 + 175 } } },
        /* a dwell that ends in a rise teaches nothing (one during which a stall was raised:
         * dwell-not-learnt-from-a-stall below) */
        { "/analyzer/charge-stall/dwell-only-before-a-fall", "charge-stall",
          "c1 b70 +150 b80 +5 c0 +600 c1 b70 +140 b80 +5 c0 +600 c1 b40 r40:70:10:12 +300 a", NULL,
          { { "charge-stall", "raised", 1500 + 36 + 93.75, 1500 + 36 + 93.75 } } },
        /* a dwell held while a stall was raised (the unplug after a stall says how long the
         * stall lasted, not how long the headset takes to drain) is not learnt: after one dwell
         * of 150 min, a stall raised at 93.75 min, flickering a step down and back, that ends in
         * a fall 151 min after its peak leaves the next stall's wait at the falling pace's 93.75
         * min, not 1.25 × 150 */
        { "/analyzer/charge-stall/dwell-not-learnt-from-a-stall", "charge-stall",
          "c1 b70 +150 b60 +5 c0 +600 c1 b40 r40:70:10:12 +100 b60 +1 b70 +40 b60 +10 b50 +5 c0 +600 c1 b40 r40:70:10:12 +300 a", NULL,
          { { "charge-stall", "raised", 755 + 36 + 93.75, 755 + 36 + 93.75 }, { "charge-stall", "cleared", 1547 + 12, 1547 + 12 },
            { "charge-stall", "raised", 1547 + 36 + 93.75, 1547 + 36 + 93.75 } } },
        /* dwells at or above charge-stall.below (a full headset sits at 100 for hours) are
         * not learnt either: the same two dwells as DWELLS_150_140, at 100 */
        { "/analyzer/charge-stall/dwell-above-below-not-learnt", "charge-stall",
          "c1 b100 +150 b90 +5 c0 +600 c1 b100 +140 b90 +5 c0 +600 c1 b40 r40:70:10:12 +300 a", NULL,
          { { "charge-stall", "raised", DWELLS_T + 36 + 93.75, DWELLS_T + 36 + 93.75 } } },
        { "/analyzer/charge-stall/silent-charger", "charge-stall", "c1 b40 +90 c0 +1 c1 +0.1 b100 +60 a", NULL, { { NULL } } },
        { "/analyzer/charge-stall/full-charge", "charge-stall", "c1 b40 r40:100:1:1.2 +120 a", NULL, { { NULL } } },
        { "/analyzer/charge-stall/unplugged-and-used", "charge-stall", CHARGE_40_60 " +5 b59 r59:50:1:7 +30 a", NULL,
          { { NULL } } },
        { "/analyzer/charge-stall/flicker-while-stalled", "charge-stall", CHARGE_40_60 " f59:60:12:3 a", MW15,
          { { "charge-stall", "raised", 39, 39 } } },
        { "/analyzer/charge-stall/flicker-two-steps", "charge-stall", CHARGE_40_60 " +1 b61 f60:59:4:3 b60 +3 b61 +20 a", MW15,
          { { "charge-stall", "raised", 25 + 15, 25 + 15 } } },
        { "/analyzer/charge-stall/slow-fall-after-unplug", "charge-stall", CHARGE_40_60 " +5 b59 +8 b58 +4 b59 +9 b58 +20 a",
          NULL, { { NULL } } },
        /* unplugged just after the step up to 60 and left on: a step below when the wait runs out
         * is a fall, not a stall; a stalled gauge that flickered down and comes back is raised then */
        { "/analyzer/charge-stall/a-step-below-when-due", "charge-stall", CHARGE_40_60 " +2 b59 +60 a", NULL,
          { { NULL } } },
        { "/analyzer/charge-stall/back-at-the-peak-after-due", "charge-stall", CHARGE_40_60 " +2 b59 +20 b60 +10 a", MW15,
          { { "charge-stall", "raised", 46, 46 } } },
        /* a step lower for more than one falling step's time (7.5 min) but less than factor (2) of
         * them is not yet a plateau: the third step down then is a fall */
        { "/analyzer/charge-stall/plateau-needs-factor-falling-steps", "charge-stall",
          CHARGE_40_60 " +1 b59 +1 b58 +1 b59 +5 b58 +5 b59 +5 b57 +30 a", NULL, { { NULL } } },
        { "/analyzer/charge-stall/disconnected", "charge-stall", CHARGE_40_60 " +2 c0 +120 a", NULL, { { NULL } } },
        { "/analyzer/charge-stall/flap-carries-over", "charge-stall", CHARGE_40_60 " +5 c0 +0.3 c1 +60 a", MW15,
          { { "charge-stall", "raised", 39, 39 } } },
        /* a reconnection after a short disconnection (a host's nap) carries the rise over: the
         * level unchanged after 10 min (≥ 2 rising steps of 1.2 min) says it did not charge.
         * The 10 min away count for the rising wait, not for the falling one or min-wait:
         * 24 + 10 + 15 */
        { "/analyzer/charge-stall/nap-carries-over", "charge-stall", CHARGE_40_60 " +5 c0 +10 c1 +60 a", MW15,
          { { "charge-stall", "raised", 49, 49 } } },
        { "/analyzer/charge-stall/carry-over-disabled", "charge-stall", CHARGE_40_60 " +5 c0 +10 c1 +60 a",
          "charge-stall.carry-over=0", { { NULL } } },
        { "/analyzer/charge-stall/long-reconnect-starts-over", "charge-stall", CHARGE_40_60 " +5 c0 +120 c1 +60 a", NULL,
          { { NULL } } },
        /* 10 % steps every 12 min: 10 min away is under two rising steps, too short to tell */
        { "/analyzer/charge-stall/nap-too-short-to-tell", "charge-stall", "c1 b40 r40:70:10:12 +5 c0 +10 c1 +200 a", NULL,
          { { NULL } } },
        /* 60 min away: the falling wait (93.75 min) counts connected time only: 36 + 60 + 93.75 */
        { "/analyzer/charge-stall/nap-away-is-not-falling-time", "charge-stall",
          "c1 b40 r40:70:10:12 +5 c0 +60 c1 +200 a", NULL, { { "charge-stall", "raised", 189.75, 189.75 } } },
        /* a step higher at the reconnection: it charged a while longer, flat from then (59.1 + 15) */
        { "/analyzer/charge-stall/nap-step-up-counts-from-reconnection", "charge-stall",
          CHARGE_40_60 " +5 c0 +30 c1 +0.1 b61 +60 a", MW15, { { "charge-stall", "raised", 74.1, 74.1 } } },
        { "/analyzer/charge-stall/nap-charged-while-away", "charge-stall", CHARGE_40_60 " +5 c0 +30 c1 +0.1 b63 +60 a",
          NULL, { { NULL } } },
        { "/analyzer/charge-stall/nap-used-while-away", "charge-stall", CHARGE_40_60 " +5 c0 +30 c1 +0.1 b57 +60 a",
          NULL, { { NULL } } },
        /* the rising wait (80 min from 160) ran out while away: due at once, but the level at the
         * reconnection is the last one logged only once a minute has passed without a line */
        { "/analyzer/charge-stall/nap-level-known-a-minute-after-reconnection", "charge-stall",
          "c1 b20 r20:60:10:40 +10 c0 +85 c1 +30 a", "charge-stall.fall-factor=0;charge-stall.min-wait=1",
          { { "charge-stall", "raised", 256, 256 } } },
        { "/analyzer/charge-stall/cleared-when-charging-resumes", "charge-stall", CHARGE_40_60 " +20 r60:62:1:1.2 a",
          MW15, { { "charge-stall", "raised", 39, 39 }, { "charge-stall", "cleared", 45.2, 45.2 } } },
        /* 10 % steps: the fall pace is 75 min at 8 %/h, the wait fall-factor × 75 = 93.75 min
         * (rising, 2 × 12 min, is shorter) */
        { "/analyzer/charge-stall/ten-percent-steps", "charge-stall", "c1 b40 r40:70:10:12 +200 a", NULL,
          { { "charge-stall", "raised", 36 + 93.75, 36 + 93.75 } } },
        { "/analyzer/charge-stall/fall-factor", "charge-stall", "c1 b40 r40:70:10:12 +200 a", "charge-stall.fall-factor=2",
          { { "charge-stall", "raised", 36 + 150, 36 + 150 } } },
        /* the rising pace rules when it is the slower: 10 % steps every 40 min, 2 × 40 min */
        { "/analyzer/charge-stall/rise-factor", "charge-stall", "c1 b20 r20:60:10:40 +200 a", "charge-stall.fall-factor=0",
          { { "charge-stall", "raised", 160 + 80, 160 + 80 } } },
        { "/analyzer/charge-stall/slow-wander-is-not-a-rise", "charge-stall", "c1 b50 +20 b51 +20 b52 +20 b51 +60 a",
          NULL, { { NULL } } },
        { "/analyzer/charge-stall/disabled", "charge-stall", CHARGE_40_60 " +60 a", "charge-stall.enabled=0", { { NULL } } },
        /* one step up that holds, from a level held since the connection: a rise. 10 % steps,
         * no history: the rising wait is 2 × 24 min (a step at slow-charge's 25 %/h), the falling
         * one 1.25 × 75 min (8 %/h): due 93.75 min after the step up */
        { "/analyzer/charge-stall/one-step-rise-stalls", "charge-stall", "c1 b40 +30 b50 +200 a", NULL,
          { { "charge-stall", "raised", 30 + 93.75, 30 + 93.75 } } },
        /* 5 % steps: 1.25 × 37.5 min falling, more than 2 × 12 min rising */
        { "/analyzer/charge-stall/one-step-rise-five-percent", "charge-stall", "c1 b40 +30 b45 +200 a", NULL,
          { { "charge-stall", "raised", 30 + 46.875, 30 + 46.875 } } },
        /* no line at the reconnection: the level then was the last logged (40), and 50 half an
         * hour later is a step up within the connection */
        { "/analyzer/charge-stall/one-step-rise-after-silent-reconnection", "charge-stall",
          "c1 b40 +5 c0 +60 c1 +30 b50 +200 a", NULL, { { "charge-stall", "raised", 95 + 93.75, 95 + 93.75 } } },
        { "/analyzer/charge-stall/one-step-rise-disabled", "charge-stall", "c1 b40 +30 b50 +200 a",
          "charge-stall.one-step=0", { { NULL } } },
        /* a gauge that reads low under load rebounds a step when the use ends, then idles: a step
         * up against a falling leg is never a rise */
        { "/analyzer/charge-stall/one-step-rebound-after-use", "charge-stall", "c1 b60 +40 b50 +5 b60 +200 a", NULL,
          { { NULL } } },
        { "/analyzer/charge-stall/one-step-rebound-after-long-use", "charge-stall", "c1 b70 r70:50:10:40 +10 b60 +300 a",
          NULL, { { NULL } } },
        /* back at the level it rose from: flicker (the step up again is no boundary), or unplugged
         * and drained a step before the wait ran out */
        { "/analyzer/charge-stall/one-step-flicker-back", "charge-stall", "c1 b40 +30 b50 +1 b40 +5 b50 +200 a", NULL,
          { { NULL } } },
        { "/analyzer/charge-stall/one-step-then-unplugged", "charge-stall", "c1 b40 +30 b50 +60 b40 +200 a", NULL,
          { { NULL } } },
        /* a step up in a report at the connection is no rise: the level was not seen moving */
        { "/analyzer/charge-stall/one-step-at-reconnection", "charge-stall", "c1 b40 +30 c0 +60 c1 +0.1 b50 +200 a", NULL,
          { { NULL } } },
        /* falling in use, then three steps up in one report: a reversal of the leg, not the first
         * move of a run, and no rise either until a second boundary gives its pace */
        { "/analyzer/charge-stall/one-step-not-a-jump-after-a-fall", "charge-stall", "c1 b45 r45:30:5:25 +25 b45 +200 a",
          NULL, { { NULL } } },
        /* 1 % steps: one point up is no rise (a wandering gauge) */
        { "/analyzer/charge-stall/one-step-needs-coarse-steps", "charge-stall", "c1 b40 +30 b41 +200 a", NULL,
          { { NULL } } },
        /* 10 % steps, stalled at 80 (peak at 48): 90 an hour later and back, twice, is flicker
         * above the plateau, whose count goes on (due 48 + 93.75). Without the rule 90 would
         * restart the count at a 60 min pace, and the level back at 80 when that ran out would
         * never raise; the second 90 is no boundary, and no new peak either */
        { "/analyzer/charge-stall/late-step-up-is-flicker-above-plateau", "charge-stall",
          "c1 b40 r40:80:10:12 +60 b90 +1 b80 +5 b90 +1 b80 +200 a", NULL,
          { { "charge-stall", "raised", 141.75, 141.75 } } },
        /* the same late step up, then another: the charge went on, slowly; the count is the new
         * peak's (70 at 126: 2 × 30 min rising, 93.75 falling) */
        { "/analyzer/charge-stall/late-step-up-then-another-is-a-rise", "charge-stall",
          "c1 b20 r20:50:10:12 +60 b60 +30 b70 +300 a", NULL, { { "charge-stall", "raised", 219.75, 219.75 } } },
        /* at 1 % steps a charge slowing above the knee steps up late all the time: a new peak,
         * whose wait (min-wait 60 min from 34) finds the level a step below it, so never due */
        { "/analyzer/charge-stall/late-step-up-at-one-percent-is-a-peak", "charge-stall",
          CHARGE_40_60 " +10 b61 +1 b60 +100 a", "charge-stall.min-wait=60", { { NULL } } },
        /* a second step up makes it an ordinary rise, paced by its own steps: 2 × 12 min rising,
         * 93.75 min falling, from the second step up */
        { "/analyzer/charge-stall/one-step-then-two", "charge-stall", "c1 b40 +30 b50 +12 b60 +200 a", NULL,
          { { "charge-stall", "raised", 42 + 93.75, 42 + 93.75 } } },

        /* slow-charge: under 25 %/h with no history, once the rise has lasted 10 min and 3 points from
         * its first step up (31 at 4 min, 34 at 16) */
        { "/analyzer/slow-charge/weak-charger", "slow-charge", "c1 b30 r30:50:1:4", NULL,
          { { "slow-charge", "raised", 16, 16 } } },
        { "/analyzer/slow-charge/min-rise", "slow-charge", "c1 b30 r30:50:1:4", "slow-charge.min-rise=5",
          { { "slow-charge", "raised", 24, 24 } } },
        { "/analyzer/slow-charge/min-duration", "slow-charge", "c1 b30 r30:50:1:4", "slow-charge.min-duration=20",
          { { "slow-charge", "raised", 24, 24 } } },
        { "/analyzer/slow-charge/normal-charger", "slow-charge", "c1 b30 r30:80:1:1.2", NULL, { { NULL } } },
        { "/analyzer/slow-charge/above-80-not-judged", "slow-charge", "c1 b80 r80:95:1:5", NULL, { { NULL } } },
        { "/analyzer/slow-charge/ends-with-the-rise", "slow-charge", "c1 b30 r30:40:1:4 +3 b39 b38 +5 c0", NULL,
          { { "slow-charge", "raised", 16, 16 }, { "slow-charge", "cleared", 43, 43 } } },
        { "/analyzer/slow-charge/noise-before-charge", "slow-charge", "c1 b50 f51:50:6:4 r50:80:1:1.2", NULL, { { NULL } } },
        /* with history: two rises at 50 %/h make 25 %/h the threshold; 30 %/h is fine, 20 %/h is not */
        { "/analyzer/slow-charge/history-30-is-fine", "slow-charge",
          "c1 b30 r30:60:1:1.2 +1 c0 +300 c1 b30 r30:60:1:1.2 +1 c0 +300 c1 b30 r30:60:1:2", NULL, { { NULL } } },
        { "/analyzer/slow-charge/history-20-is-slow", "slow-charge",
          "c1 b30 r30:60:1:1.2 +1 c0 +300 c1 b30 r30:60:1:1.2 +1 c0 +300 c1 b30 r30:60:1:3", NULL,
          { { "slow-charge", "raised", 674 + 3 + 12, 674 + 3 + 12 } } },
        { "/analyzer/slow-charge/ten-percent-steps", "slow-charge", "c1 b30 r30:60:10:40", NULL,
          { { "slow-charge", "raised", 80, 80 } } },

        /* intermittent-charge: rises at 1.2 min/point, falls at 5 min/point, legs of 3 points */
        { "/analyzer/intermittent-charge/on-off-on-off", "intermittent-charge",
          "c1 b40 r40:43:1:1.2 r43:40:1:5 r40:43:1:1.2 r43:40:1:5", NULL,
          { { "intermittent-charge", "raised", 3.6 + 15 + 3.6 + 10, 3.6 + 15 + 3.6 + 10 } } },
        { "/analyzer/intermittent-charge/cleared-after-window", "intermittent-charge",
          "c1 b40 r40:43:1:1.2 r43:40:1:5 r40:43:1:1.2 r43:40:1:5 +240 a", NULL,
          { { "intermittent-charge", "raised", 32.2, 32.2 }, { "intermittent-charge", "cleared", 212.2, 212.2 } } },
        { "/analyzer/intermittent-charge/one-step-flicker", "intermittent-charge", "c1 b60 f59:60:40:2", NULL, { { NULL } } },
        { "/analyzer/intermittent-charge/charge-then-use", "intermittent-charge", "c1 b40 r40:90:1:1.2 r90:60:1:5",
          NULL, { { NULL } } },
        { "/analyzer/intermittent-charge/slow-wobble", "intermittent-charge",
          "c1 b40 r40:42:1:8 r42:40:1:8 r40:42:1:8 r42:40:1:8", NULL, { { NULL } } },
        { "/analyzer/intermittent-charge/reconnect-starts-over", "intermittent-charge",
          "c1 b40 r40:43:1:1.2 r43:40:1:5 +1 c0 +10 c1 r40:43:1:1.2 r43:40:1:5", NULL, { { NULL } } },

        /* fast-drain: a baseline of 6 %/h, then 2 h at 15 %/h */
        { "/analyzer/fast-drain/battery-drains-fast", "fast-drain", BASELINE_6PH " c1 b90 r90:55:1:4", NULL,
          { { "fast-drain", "raised", 4 * 901 + 4 + 120, 4 * 901 + 4 + 120 } } },
        { "/analyzer/fast-drain/usual-variation", "fast-drain", BASELINE_6PH " c1 b90 r90:55:1:7", NULL, { { NULL } } },
        { "/analyzer/fast-drain/no-history", "fast-drain", "c1 b90 r90:50:1:4", NULL, { { NULL } } },
        { "/analyzer/fast-drain/gaps-say-nothing", "fast-drain",
          BASELINE_6PH " c1 b90 +1 c0 +30 c1 b60 +1 c0 +30 c1 b30 +1 c0", NULL, { { NULL } } },

        /* battery-degraded: early life 6 %/h (16.7 h per charge); now 9.5 %/h (10.5 h) */
        { "/analyzer/battery-degraded/worn-out", "battery-degraded", "n:4:10 n:4:6.3 c1",
          "battery-degraded.early=4;battery-degraded.recent=4",
          { { "battery-degraded", "raised", 4 * 901 + 4 * (30 * 6.3 + 601), 4 * 901 + 4 * (30 * 6.3 + 601) } } },
        { "/analyzer/battery-degraded/healthy", "battery-degraded", "n:4:10 n:4:9 c1",
          "battery-degraded.early=4;battery-degraded.recent=4", { { NULL } } },
        { "/analyzer/battery-degraded/not-before-early-and-recent", "battery-degraded", "n:4:10 n:3:5 c1",
          "battery-degraded.early=4;battery-degraded.recent=4", { { NULL } } },
        /* the defaults: early life is the first 16 falls and now the newest 16, judged only once
         * all of them are later than early life */
        { "/analyzer/battery-degraded/default-windows", "battery-degraded", "n:16:10 n:16:6.3 c1", NULL,
          { { "battery-degraded", "raised", 16 * 901 + 16 * (30 * 6.3 + 601), 16 * 901 + 16 * (30 * 6.3 + 601) } } },
        { "/analyzer/battery-degraded/default-not-before-sixteen", "battery-degraded", "n:16:10 n:15:6.3 c1", NULL,
          { { NULL } } },

        /* sudden-drop */
        { "/analyzer/sudden-drop/collapse", "sudden-drop", "c1 b70 r70:60:1:5 +2 b30 +10 a", NULL,
          { { "sudden-drop", "raised", 57, 57 } } },
        { "/analyzer/sudden-drop/glitch-comes-back", "sudden-drop", "c1 b70 r70:60:1:5 +2 b30 +2 b59 +10 a", NULL,
          { { NULL } } },
        { "/analyzer/sudden-drop/across-a-gap", "sudden-drop", "c1 b70 +5 c0 +20 c1 b30 +10 a", NULL, { { NULL } } },
        { "/analyzer/sudden-drop/one-report-spike", "sudden-drop", "c1 b62 +3 b100 +0.2 b61 +10 a", NULL, { { NULL } } },
        { "/analyzer/sudden-drop/after-long-silence", "sudden-drop", "c1 b80 +120 b60 +10 a", NULL, { { NULL } } },
        { "/analyzer/sudden-drop/twenty-percent-one-step", "sudden-drop", "c1 b80 +30 b60 +10 a", NULL, { { NULL } } },
        { "/analyzer/sudden-drop/twenty-percent-two-steps", "sudden-drop", "c1 b100 +30 b80 +30 b40 +10 a", NULL,
          { { "sudden-drop", "raised", 65, 65 } } },
        { "/analyzer/sudden-drop/a-few-quick-reports", "sudden-drop", "c1 b100 +30 b80 +3 b60 +3 b40 +10 a", NULL,
          { { "sudden-drop", "raised", 41, 41 } } },
        { "/analyzer/sudden-drop/cleared-when-recharged", "sudden-drop", "c1 b70 +2 b30 +10 b40 +1 c0 +60 c1 b80", NULL,
          { { "sudden-drop", "raised", 7, 7 }, { "sudden-drop", "cleared", 73, 73 } } },

        /* not-holding-charge */
        /* 20 % is reached at 56 min; the next report, 19 % at 56.7, confirms it */
        { "/analyzer/not-holding-charge/dies-within-the-hour", "not-holding-charge", "c1 b100 r100:15:1:0.7", NULL,
          { { "not-holding-charge", "raised", 56.7, 56.7 } } },
        { "/analyzer/not-holding-charge/one-glitchy-reading", "not-holding-charge",
          "c1 b100 r100:90:1:1 +1 b15 +0.5 b89 +10 a", NULL, { { NULL } } },
        { "/analyzer/not-holding-charge/normal-day", "not-holding-charge", "c1 b100 r100:15:1:6", NULL, { { NULL } } },
        { "/analyzer/not-holding-charge/used-elsewhere", "not-holding-charge", "c1 b95 +600 c0 +10 c1 +0.1 b15", NULL,
          { { NULL } } },
        { "/analyzer/not-holding-charge/across-a-short-gap", "not-holding-charge",
          "c1 b100 r100:85:1:0.7 +1 c0 +30 c1 +0.1 b15 +5 a", NULL,
          { { "not-holding-charge", "raised", 43.6, 43.6 } } },        /* one report, confirmed by time */
        { "/analyzer/not-holding-charge/cleared-when-a-charge-lasts", "not-holding-charge",
          "c1 b100 r100:15:1:0.7 +1 c0 +300 c1 b100 r100:60:1:6", NULL,
          { { "not-holding-charge", "raised", 56.7, 56.7 }, { "not-holding-charge", "cleared", 522.5, 522.5 } } },

        /* connection-unstable */
        { "/analyzer/connection-unstable/five-in-ten", "connection-unstable",
          "c1 +2 c0 +0.1 c1 +2 c0 +0.1 c1 +2 c0 +0.1 c1 +2 c0 +0.1 c1 +20 a", NULL,
          { { "connection-unstable", "raised", 8.4, 8.4 }, { "connection-unstable", "cleared", 18.4, 18.4 } } },
        { "/analyzer/connection-unstable/four-in-ten", "connection-unstable",
          "c1 +2 c0 +0.1 c1 +2 c0 +0.1 c1 +2 c0 +0.1 c1 +20 a", NULL, { { NULL } } },
        { "/analyzer/connection-unstable/resync-is-not-a-connect", "connection-unstable",
          "c1 +1 c1 +1 c1 +1 c1 +1 c1 +1 c1 +20 a", NULL, { { NULL } } },
        { "/analyzer/connection-unstable/spread-out", "connection-unstable",
          "c1 +4 c0 +0.1 c1 +4 c0 +0.1 c1 +4 c0 +0.1 c1 +4 c0 +0.1 c1 +20 a", NULL, { { NULL } } },

        /* low-battery */
        /* a low report is confirmed by a second one, or by low-battery.confirm (2 min) without a higher one */
        { "/analyzer/low-battery/warning-then-critical", "low-battery", "c1 b25 r25:9:1:5 +5 r9:40:1:1", NULL,
          { { "low-battery", "raised", 27, 27 }, { "low-battery", "raised", 77, 77 },
            { "low-battery", "cleared", 98, 98 } } },
        { "/analyzer/low-battery/flicker-at-threshold", "low-battery", "c1 b22 +5 b21 f20:21:10:3", NULL,
          { { "low-battery", "raised", 10, 10 } } },
        { "/analyzer/low-battery/glitch", "low-battery", "c1 b50 +10 b15 +0.5 b50 +10 a", NULL, { { NULL } } },
        { "/analyzer/low-battery/at-connection", "low-battery", "c1 +0.1 b15 +5 a", NULL,
          { { "low-battery", "raised", 2.1, 2.1 } } },
        { "/analyzer/low-battery/hfp-steps", "low-battery", "c1 b50 r50:10:10:60 +10 r10:40:10:30", NULL,
          { { "low-battery", "raised", 182, 182 }, { "low-battery", "raised", 242, 242 },
            { "low-battery", "cleared", 310, 310 } } },

        /* deep-discharge-risk: three days after the first empty report */
        { "/analyzer/deep-discharge-risk/left-empty", "deep-discharge-risk", "c1 b8 r8:4:1:10 +5 c0 @5000 a", NULL,
          { { "deep-discharge-risk", "raised", 30 + 4320, 30 + 4320 } } },
        { "/analyzer/deep-discharge-risk/charged-in-time", "deep-discharge-risk",
          "c1 b8 r8:4:1:10 +5 c0 @2000 c1 b80 @6000 a", NULL, { { NULL } } },
        { "/analyzer/deep-discharge-risk/seen-empty-again", "deep-discharge-risk",
          "c1 b6 r6:3:1:10 +5 c0 @2000 c1 +0.1 b2 +5 c0 @5000 a", NULL,
          { { "deep-discharge-risk", "raised", 10 + 4320, 10 + 4320 } } },
        { "/analyzer/deep-discharge-risk/hfp-lowest-report-is-10", "deep-discharge-risk",
          "c1 b60 r60:10:10:60 +5 c0 @5000 a", NULL, { { "deep-discharge-risk", "raised", 300 + 4320, 300 + 4320 } } },
        { "/analyzer/deep-discharge-risk/cleared-when-charged", "deep-discharge-risk",
          "c1 b5 +5 c0 @5000 c1 +0.1 b60", NULL,
          { { "deep-discharge-risk", "raised", 4320, 4320 }, { "deep-discharge-risk", "cleared", 5000.1, 5000.1 } } },

        /* the core: awkward logs change nothing they should not */
        { "/analyzer/core/duplicate-lines", "charge-stall", "c1 d b40 d r40:50:1:1.2 d r50:60:1:1.2 d +60 a", MW15,
          { { "charge-stall", "raised", 24 + 15, 24 + 15 } } },
        { "/analyzer/core/time-goes-backwards", "charge-stall", CHARGE_40_60 " -120 b60 +60 a", NULL, { { NULL } } },
        { "/analyzer/core/connect-without-battery-line", "slow-charge", "c1 b30 +5 c0 +30 c1 +8 r30:50:1:4", NULL,
          { { "slow-charge", "raised", 47 + 12, 47 + 12 } } },
};

/* ---------------------------------------------------------------- API tests */

/* The learned step and rates come out as figures. */
static void test_figures(void **state) {
        static struct script s;
        struct analyzer_figures fig;
        struct found out;
        struct analyzer *a;

        script_parse("c1 b100 r100:40:5:20 +1 c0 +60 c1", &s);
        assert_int_equal(analyzer_new(NULL, NULL, found_cb, &out, &a), 0);
        for (size_t i = 0; i < s.n; i++)
                assert_int_equal(analyzer_feed(a, &s.ops[i].e), 0);
        analyzer_get_figures(a, &fig);
        assert_int_equal(fig.step, 5);
        assert_int_equal(fig.connected, 1);
        assert_int_equal(fig.level, 40);
        assert_int_equal(fig.drains, 1);
        analyzer_free(a);
}

/* The next deadline is the stall's due time; advancing to it raises, then nothing is due. */
static void test_deadline(void **state) {
        static struct script s;
        struct found out = {};
        struct finding open;
        struct analyzer *a;

        script_parse(CHARGE_40_60, &s);
        assert_int_equal(analyzer_new(NULL, "11:22:33:44:55:66", found_cb, &out, &a), 0);
        assert_int_equal(analyzer_next_deadline(a), INT64_MAX);
        for (size_t i = 0; i < s.n; i++)
                assert_int_equal(analyzer_feed(a, &s.ops[i].e), 0);
        assert_int_equal(analyzer_next_deadline(a), T0 + 24 * MIN + 45 * MIN);
        analyzer_advance(a, T0 + 24 * MIN + 45 * MIN - 1);
        assert_int_equal(out.n, 0);
        analyzer_advance(a, T0 + 24 * MIN + 45 * MIN);
        assert_int_equal(out.n, 1);
        assert_int_equal(out.v[0].time_ms, T0 + 69 * MIN);
        assert_true(analyzer_get_open(a, FINDING_CHARGE_STALL, &open));
        assert_string_equal(open.device, "11:22:33:44:55:66");
        assert_false(analyzer_get_open(a, FINDING_SLOW_CHARGE, NULL));
        assert_int_equal(analyzer_next_deadline(a), INT64_MAX);
        analyzer_free(a);
}

/* Events the analyzer does not know are refused, and change nothing. */
static void test_invalid(void **state) {
        struct found out = {};
        struct analyzer *a;
        struct analyzer_config c;

        assert_int_equal(analyzer_new(NULL, NULL, found_cb, &out, &a), 0);
        assert_int_equal(analyzer_feed(a, &(struct hpevent) { T0, EVENT_BATTERY, 101 }), -EINVAL);
        assert_int_equal(analyzer_feed(a, &(struct hpevent) { T0, EVENT_CONNECTED, 2 }), -EINVAL);
        assert_int_equal(analyzer_feed(a, &(struct hpevent) { T0, (enum event_kind) 7, 1 }), -EINVAL);
        analyzer_advance(a, T0 + 100 * MIN);
        assert_int_equal(out.n, 0);
        assert_null(analyzer_free(a));
        assert_null(analyzer_free(NULL));

        analyzer_config_init(&c);
        c.low_critical = 30;
        assert_int_equal(analyzer_new(&c, NULL, found_cb, &out, &a), -EINVAL);
}

/* Each finding carries its evidence by name. */
static void test_evidence(void **state) {
        static struct script s;
        static struct found out;
        struct analyzer_config cfg;
        const struct finding_evidence *e;

        analyzer_config_init(&cfg);
        script_parse("c1 b70 r70:60:1:5 +2 b30 +10 a", &s);
        run(&cfg, &s, s.n, INT64_MIN, &out);
        for (size_t i = 0; i < out.n; i++)
                if (out.v[i].kind == FINDING_SUDDEN_DROP) {
                        e = finding_get_evidence(&out.v[i], "drop_pct");
                        assert_non_null(e);
                        assert_int_equal((int) e->value, 30);
                        assert_int_equal(out.v[i].severity, FINDING_WARNING);
                        return;
                }
        fail_msg("no sudden-drop");
}

/* An open episode as the analyzer keeps it (packed, allocated at the raise): what
 * analyzer_get_open() and the CLEARED edge give back must be the raised finding, bit for bit. */
struct open_case {
        const char *name;
        enum finding_kind kind;
        enum finding_severity severity;
        int64_t time_ms;
        unsigned n;
        const char *names[FINDING_EVIDENCE_MAX];
        double values[FINDING_EVIDENCE_MAX];
};

static const struct open_case open_cases[] = {
        { "/analyzer/open/no-evidence", FINDING_DEEP_DISCHARGE_RISK, FINDING_INFO, T0, 0, {}, {} },
        { "/analyzer/open/one", FINDING_LOW_BATTERY, FINDING_CRITICAL, -1, 1, { "level_pct" }, { 5 } },
        { "/analyzer/open/full", FINDING_FAST_DRAIN, FINDING_WARNING, INT64_C(1) << 49, FINDING_EVIDENCE_MAX,
          { "after_pct", "within_min", "window_h", "to_pct", "drop_pct", "flat_min", "baseline_h", "after_pct" },
          { 0.1, -0.0, 1e300, -2.5e-310, 1.0 / 3.0, 100, 17.000000000000004, INFINITY } },
};

/* One finding against the raised one: all but state and time. */
static void assert_same_finding(const struct finding *g, const struct finding *f, const struct open_case *c) {
        assert_int_equal(g->kind, f->kind);
        assert_int_equal(g->severity, f->severity);
        assert_string_equal(g->device, "11:22:33:44:55:66");
        assert_ptr_equal(g->advice, f->advice);
        assert_int_equal(g->n_evidence, c->n);
        for (unsigned i = 0; i < c->n; i++) {
                assert_ptr_equal(g->evidence[i].name, f->evidence[i].name);
                assert_memory_equal(&g->evidence[i].value, &c->values[i], sizeof(double));
        }
}

/* Raises, reads back, escalates, clears. */
static void test_open_pack(void **state) {
        const struct open_case *c = *state;
        struct analyzer *a;
        struct finding f, g;
        static struct found out;

        out.n = 0;
        assert_int_equal(analyzer_new(NULL, "11:22:33:44:55:66", found_cb, &out, &a), 0);
        analyzer_finding_init(a, c->kind, c->severity, 0, &f);
        f.time_ms = c->time_ms;
        for (unsigned i = 0; i < c->n; i++)
                assert_int_equal(finding_add_evidence(&f, c->names[i], c->values[i]), 0);
        assert_false(analyzer_get_open(a, c->kind, &g));
        analyzer_raise(a, &f);
        assert_true(analyzer_get_open(a, c->kind, &g));
        assert_int_equal(g.state, FINDING_RAISED);
        assert_true(g.time_ms == c->time_ms);
        assert_same_finding(&g, &f, c);
        analyzer_raise(a, &f);          /* an escalation reuses the episode's allocation */
        analyzer_clear(a, c->kind, 0);
        assert_false(analyzer_get_open(a, c->kind, NULL));
        assert_int_equal(out.n, 3);
        assert_int_equal(out.v[2].state, FINDING_CLEARED);
        assert_same_finding(&out.v[2], &f, c);
        analyzer_raise(a, &f);          /* left open: analyzer_free() frees it (the sanitizers check) */
        analyzer_free(a);
}

/* Every evidence name has an index that gives back the table's own pointer. */
static void test_evidence_index(void **state) {
        const char *name;
        unsigned i;

        for (i = 0; (name = finding_evidence_name_at(i)); i++) {
                assert_ptr_equal(finding_evidence_name(name, strlen(name)), name);
                assert_int_equal(finding_evidence_index(name), (int) i);
        }
        assert_true(i > 0 && i <= 256);
        /* the table's pointer, found by name (a literal of the same text may or may not be
         * merged with it: the sanitizers' build keeps them apart) */
        assert_true(finding_evidence_index(finding_evidence_name("level_pct", 9)) >= 0);
        assert_int_equal(finding_evidence_index(NULL), -EINVAL);
        {
                /* a copy on the stack: a const literal may be merged with the table's own */
                char copy[] = "level_pct";

                assert_int_equal(finding_evidence_index(copy), -EINVAL); /* not the table's pointer */
        }
}

/* Runs the table and the API tests. */
int main(void) {
        struct CMUnitTest tests[TEST_TABLE_ROWS(cases) + TEST_TABLE_ROWS(open_cases) + 5];
        size_t n = 0;

        TEST_TABLE_ADD(tests, n, cases, test_case);
        tests[n++] = (struct CMUnitTest) { .name = "/analyzer/api/figures", .test_func = test_figures };
        tests[n++] = (struct CMUnitTest) { .name = "/analyzer/api/deadline", .test_func = test_deadline };
        tests[n++] = (struct CMUnitTest) { .name = "/analyzer/api/invalid", .test_func = test_invalid };
        tests[n++] = (struct CMUnitTest) { .name = "/analyzer/api/evidence", .test_func = test_evidence };
        TEST_TABLE_ADD(tests, n, open_cases, test_open_pack);
        tests[n++] = (struct CMUnitTest) { .name = "/analyzer/open/evidence-index", .test_func = test_evidence_index };
        return _cmocka_run_group_tests("analyzer", tests, n, NULL, NULL);
}
