/* hpmon — sudden-drop: one report falls at least 20 points and does not come back within
 * minutes.
 *
 * The fall is measured from the report before, or from any report of the same connection
 * within sudden-drop.within (a few reports in quick succession: a 20 % headset that goes 80, 60, 40 in eight
 * minutes has collapsed as surely as one that jumps); across a gap the headset may simply
 * have been used elsewhere. At coarse steps one step can be 20 points, so the fall must
 * also be at least two steps; and it must be faster than any use could drain: its smallest
 * possible size (one step less) over the time it took must exceed sudden-drop.max-drain-rate,
 * or, once the device's drain rate is known, drain-factor times that if lower. So a writer
 * that missed reports for an hour does not look like a collapse, while a coarse-step
 * headset that drains slowly still can. A fall that only undoes a jump up of the report
 * before it (a one-report spike) is a glitch. Then it waits sudden-drop.confirm: a level
 * that comes back (within half the threshold of where it fell from) is forgotten; one that
 * stays, or a headset that switches off, is raised at the end of the wait. The episode
 * ends when the level is back where it fell from. */
#include "analyzer-internal.h"

#define DETECT_SUDDEN_DROP_RECENT 16

struct detect_sudden_drop_report {
        int64_t t;
        int level;
};

struct detect_sudden_drop_state {      /* widest first: 304 bytes, no holes */
        struct detect_sudden_drop_report recent[DETECT_SUDDEN_DROP_RECENT];     /* this connection, ring */
        int64_t at;             /* pending: time of the fall */
        double fall_min;        /* pending: minutes the fall took */
        unsigned n, next;
        int highest;            /* the highest level among the recent reports (any age), -1 for none */
        int before;             /* pending: level before the fall */
        int after;              /* pending: level it fell to */
        int latest;             /* pending: newest level during the wait */
        int cleared_at;         /* open episode: level that ends it */
        bool pending;           /* a fall waits for its confirmation */
};

/* A recent report by age (0 the newest). */
static const struct detect_sudden_drop_report *detect_sudden_drop_get(const struct detect_sudden_drop_state *st,
                                                                      unsigned age) {
        return &st->recent[(st->next + DETECT_SUDDEN_DROP_RECENT - 1 - age) % DETECT_SUDDEN_DROP_RECENT];
}

/* Looks for a fall to this report from the latest recent one it is sudden from. */
static bool detect_sudden_drop_find(const struct analyzer *a, const struct detect_sudden_drop_state *st,
                                    const struct analyzer_update *u, int *ret_before, double *ret_min) {
        const struct analyzer_config *c = a->config;
        int need = c->sudden_drop_points > 2 * a->step ? c->sudden_drop_points : 2 * a->step;
        double limit = c->sudden_drop_max_rate, baseline;
        bool have_limit = false;

        if (st->n == 0 || st->highest - u->level < need)
                return false;   /* no recent report is high enough above this one: most reports */

        for (unsigned age = 0, i = (st->next + DETECT_SUDDEN_DROP_RECENT - 1) % DETECT_SUDDEN_DROP_RECENT; age < st->n;
             age++, i = (i + DETECT_SUDDEN_DROP_RECENT - 1) % DETECT_SUDDEN_DROP_RECENT) {
                const struct detect_sudden_drop_report *r = &st->recent[i];     /* detect_sudden_drop_get(st, age) */
                int drop = r->level - u->level;
                double hours;

                if (age > 0 && u->t - r->t > c->sudden_drop_within_ms)
                        break;          /* the report just before always counts */
                if (drop < need)
                        continue;
                hours = analyzer_hours(u->t - r->t);
                if (!have_limit) {
                        /* only now, for a fall big enough: most reports are not one */
                        if (analyzer_drain_baseline(a, 1u << FINDING_FAST_DRAIN, &baseline) &&
                            c->sudden_drop_drain_factor * baseline < limit)
                                limit = c->sudden_drop_drain_factor * baseline;
                        have_limit = true;
                }
                if (hours > 0 && (drop - a->step) / hours <= limit)
                        continue;
                if (age + 1 < st->n) {
                        const struct detect_sudden_drop_report *p = detect_sudden_drop_get(st, age + 1);

                        if (r->level - p->level >= need && abs(u->level - p->level) <= 2 * a->step)
                                continue;       /* a spike up and back */
                }
                *ret_before = r->level;
                *ret_min = hours * 60.0;
                return true;
        }
        return false;
}

/* Remembers a report of this connection. */
static void detect_sudden_drop_remember(struct detect_sudden_drop_state *st, int64_t t, int level) {
        int evicted = st->n == DETECT_SUDDEN_DROP_RECENT ? st->recent[st->next].level : -1;

        st->recent[st->next] = (struct detect_sudden_drop_report) { .t = t, .level = level };
        st->next = (st->next + 1) % DETECT_SUDDEN_DROP_RECENT;
        if (st->n < DETECT_SUDDEN_DROP_RECENT)
                st->n++;
        if (st->n == 1 || level >= st->highest)
                st->highest = level;
        else if (evicted == st->highest) {
                /* the highest just left the ring: look again */
                st->highest = level;
                for (unsigned i = 0; i < st->n; i++)
                        if (st->recent[i].level > st->highest)
                                st->highest = st->recent[i].level;
        }
}

/* Forgets every recent report (a new connection, or a break). */
static void detect_sudden_drop_forget(struct detect_sudden_drop_state *st) {
        st->n = st->next = 0;
        st->highest = -1;
}

/* Looks for a fall, follows the wait, and ends an episode on recovery. */
static void detect_sudden_drop_update(struct analyzer *a, void *state, const struct analyzer_update *u) {
        struct detect_sudden_drop_state *st = state;
        int before;
        double minutes;

        if (u->what == ANALYZER_BREAK || (u->what == ANALYZER_CONNECT && !u->flap)) {
                detect_sudden_drop_forget(st);
                return;
        }
        if (u->what != ANALYZER_LEVEL)
                return;
        if (analyzer_is_open(a, FINDING_SUDDEN_DROP) && u->level >= st->cleared_at)
                analyzer_clear(a, FINDING_SUDDEN_DROP, u->t);
        if (st->pending) {
                st->latest = u->level;
                detect_sudden_drop_remember(st, u->t, u->level);
                return;
        }
        if (u->same_connection && st->n == 0 && u->prev_level >= 0)
                detect_sudden_drop_remember(st, u->prev_time, u->prev_level);  /* the level at the connect */
        if (u->same_connection && !analyzer_is_open(a, FINDING_SUDDEN_DROP) &&
            detect_sudden_drop_find(a, st, u, &before, &minutes)) {
                st->pending = true;
                st->before = before;
                st->after = st->latest = u->level;
                st->at = u->t;
                st->fall_min = minutes;
                analyzer_arm(a, FINDING_SUDDEN_DROP, u->t + a->config->sudden_drop_confirm_ms);
        }
        detect_sudden_drop_remember(st, u->t, u->level);
}

/* The wait is over: raise unless the level came back. */
static void detect_sudden_drop_timer(struct analyzer *a, void *state, int64_t due) {
        struct detect_sudden_drop_state *st = state;
        struct finding f;

        if (!st->pending)
                return;
        st->pending = false;
        if (st->latest >= st->before - a->config->sudden_drop_points / 2)
                return;
        st->cleared_at = st->before;
        analyzer_finding_init(a, FINDING_SUDDEN_DROP, FINDING_WARNING, due, &f);
        (void) finding_add_evidence(&f, "before_pct", st->before);
        (void) finding_add_evidence(&f, "after_pct", st->after);
        (void) finding_add_evidence(&f, "drop_pct", st->before - st->after);
        (void) finding_add_evidence(&f, "fall_min", st->fall_min);
        (void) finding_add_evidence(&f, "level_after_wait_pct", st->latest);
        (void) finding_add_evidence(&f, "wait_min", (double) (due - st->at) / ANALYZER_MINUTE_MS);
        analyzer_raise(a, &f);
}

/* Whether a restored ring holds times (and levels) in range (checkpoint.c). */
static bool detect_sudden_drop_recent_ok(const struct detect_sudden_drop_state *st) {
        for (unsigned i = 0; i < DETECT_SUDDEN_DROP_RECENT; i++)
                if (!(analyzer_time_ok(st->recent[i].t) && analyzer_level_ok(st->recent[i].level)))
                        return false;
        return true;
}

/* Whether a restored state holds only values its code is safe with (checkpoint.c). */
static bool detect_sudden_drop_valid(const void *state) {
        const struct detect_sudden_drop_state *st = state;

        return st->n <= DETECT_SUDDEN_DROP_RECENT && st->next < DETECT_SUDDEN_DROP_RECENT && analyzer_bool_ok(&st->pending) &&
               analyzer_level_ok(st->highest) && analyzer_level_ok(st->before) && analyzer_level_ok(st->after) &&
               analyzer_level_ok(st->latest) &&
               analyzer_level_ok(st->cleared_at) && analyzer_time_ok(st->at) && analyzer_real_or_nan_ok(st->fall_min) &&
               detect_sudden_drop_recent_ok(st);
}

const struct detector detect_sudden_drop = {
        .kind = FINDING_SUDDEN_DROP,
        .sees = ANALYZER_SEES_CONNECT | ANALYZER_SEES_BREAK | ANALYZER_SEES_LEVEL | ANALYZER_SEES_BOUNDARY,
        .state_size = sizeof(struct detect_sudden_drop_state),
        .state_valid = detect_sudden_drop_valid,
        .update = detect_sudden_drop_update,
        .timer = detect_sudden_drop_timer,
};
