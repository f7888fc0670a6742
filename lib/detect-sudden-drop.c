/* hpmon — sudden-drop: one report falls at least 20 points and does not come back within
 * minutes.
 *
 * "One report" is compared with the report before it in the same connection: across a
 * gap the headset may simply have been used elsewhere. At coarse steps one step can be 20
 * points, so the fall must also be at least two steps; and it must be faster than any use
 * could drain (its smallest possible size, one step less, over the time since the report
 * before; once the device's drain rate is known, faster than sudden-drop.drain-factor times
 * it, whichever is lower), so a writer that missed reports for an hour does not look like
 * a collapse, while a coarse-step headset that drains slowly still can.
 * Then it waits sudden-drop.confirm: a glitch that comes back (within half the threshold
 * of where it fell from) is forgotten; one that stays, or a headset that switches off, is
 * raised at the end of the wait. A fall that only undoes a jump up of the report before
 * (a one-report spike) is a glitch, not a drop. The episode ends when the level is back
 * where it fell from. */
#include "analyzer-internal.h"

struct detect_sudden_drop_state {
        bool pending;
        int before;             /* level before the fall */
        int after;              /* level it fell to */
        int latest;             /* newest level during the wait */
        int64_t at;             /* time of the fall */
        double gap_min;         /* minutes since the report before it */
        int cleared_at;         /* open episode: level that ends it */
        int prev2;              /* the report before the previous one in this connection, -1 none */
};

/* Looks for a fall, follows the wait, and ends an episode on recovery. */
static void detect_sudden_drop_update(struct analyzer *a, void *state, const struct analyzer_update *u) {
        struct detect_sudden_drop_state *st = state;
        const struct analyzer_config *c = &a->config;
        int drop, need, prev2;
        double hours, limit, baseline;

        if (u->what != ANALYZER_LEVEL)
                return;
        prev2 = u->same_connection ? st->prev2 : -1;
        st->prev2 = u->same_connection ? u->prev_level : -1;
        if (analyzer_is_open(a, FINDING_SUDDEN_DROP) && u->level >= st->cleared_at)
                analyzer_clear(a, FINDING_SUDDEN_DROP, u->t);
        if (st->pending) {
                st->latest = u->level;
                return;
        }
        if (!u->same_connection || u->prev_level < 0 || analyzer_is_open(a, FINDING_SUDDEN_DROP))
                return;
        drop = u->prev_level - u->level;
        need = c->sudden_drop_points > 2 * a->step ? c->sudden_drop_points : 2 * a->step;
        if (drop < need)
                return;
        if (prev2 >= 0 && u->prev_level - prev2 >= need && abs(u->level - prev2) <= 2 * a->step &&
            u->t - u->prev_time <= a->config.sudden_drop_confirm_ms)
                return;         /* a spike up and back */
        hours = analyzer_hours(u->t - u->prev_time);
        limit = c->sudden_drop_max_rate;
        if (analyzer_drain_baseline(a, 1u << FINDING_FAST_DRAIN, &baseline) && c->sudden_drop_drain_factor * baseline < limit)
                limit = c->sudden_drop_drain_factor * baseline;
        if (hours > 0 && (drop - a->step) / hours <= limit)
                return;
        *st = (struct detect_sudden_drop_state) {
                .prev2 = st->prev2,
                .pending = true,
                .before = u->prev_level,
                .after = u->level,
                .latest = u->level,
                .at = u->t,
                .gap_min = hours * 60.0,
        };
        analyzer_arm(a, FINDING_SUDDEN_DROP, u->t + c->sudden_drop_confirm_ms);
}

/* The wait is over: raise unless the level came back. */
static void detect_sudden_drop_timer(struct analyzer *a, void *state, int64_t due) {
        struct detect_sudden_drop_state *st = state;
        struct finding f;

        if (!st->pending)
                return;
        st->pending = false;
        if (st->latest >= st->before - a->config.sudden_drop_points / 2)
                return;
        st->cleared_at = st->before;
        analyzer_finding_init(a, FINDING_SUDDEN_DROP, FINDING_WARNING, due, &f);
        (void) finding_add_evidence(&f, "before_pct", st->before);
        (void) finding_add_evidence(&f, "after_pct", st->after);
        (void) finding_add_evidence(&f, "drop_pct", st->before - st->after);
        (void) finding_add_evidence(&f, "minutes_between_reports", st->gap_min);
        (void) finding_add_evidence(&f, "level_after_wait_pct", st->latest);
        (void) finding_add_evidence(&f, "wait_min", (double) (due - st->at) / ANALYZER_MINUTE_MS);
        analyzer_raise(a, &f);
}

const struct detector detect_sudden_drop = {
        .kind = FINDING_SUDDEN_DROP,
        .state_size = sizeof(struct detect_sudden_drop_state),
        .update = detect_sudden_drop_update,
        .timer = detect_sudden_drop_timer,
};
