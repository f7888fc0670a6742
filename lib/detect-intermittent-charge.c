/* hpmon — intermittent-charge: three or more reversals between rising and falling, each
 * leg at least two steps, within a few hours, in one connection.
 *
 * The core's hysteresis already refuses one-step flicker as a reversal; this counts a
 * reversal once both the leg before it and the leg after it have moved the required
 * number of steps, at the boundary where the second one does. A rise counts only at a
 * charging pace (at least slow-charge's threshold): a gauge that wobbles two steps up
 * while the headset drains is noise, not a charger coming and going. A reconnection (other
 * than a flap) starts the count again: legs are compared only within one connection. */
#include "analyzer-internal.h"

#define DETECT_INTERMITTENT_MAX 16

struct detect_intermittent_charge_state {
        int64_t at[DETECT_INTERMITTENT_MAX];    /* reversal times, ring */
        unsigned n, next;
        int prev_dir;                           /* direction of the leg before the current, 0 none */
        unsigned prev_steps;
        double prev_rate;                       /* its rate, %/h */
        bool counted;                           /* the current leg's reversal is counted */
};

/* Reversals within the window ending at t, and the time of the oldest of them. */
static unsigned detect_intermittent_charge_count(const struct analyzer *a, const struct detect_intermittent_charge_state *st,
                                                 int64_t t, int64_t *ret_oldest) {
        unsigned c = 0;

        *ret_oldest = t;
        for (unsigned i = 0; i < st->n; i++) {
                int64_t x = st->at[i];

                if (x > t - a->config->intermittent_window_ms) {
                        c++;
                        if (x < *ret_oldest)
                                *ret_oldest = x;
                }
        }
        return c;
}

/* Follows legs, counts reversals, raises on enough of them. */
static void detect_intermittent_charge_update(struct analyzer *a, void *state, const struct analyzer_update *u) {
        struct detect_intermittent_charge_state *st = state;
        const struct analyzer_config *c = a->config;
        unsigned n;
        int64_t oldest;
        double rise_rate, usual;
        struct finding f;

        switch (u->what) {
        case ANALYZER_LEG_END:
                st->prev_dir = u->leg->dir;
                st->prev_steps = analyzer_leg_steps(a, u->leg);
                st->prev_rate = analyzer_leg_rate(u->leg);
                st->counted = false;
                return;
        case ANALYZER_DISCONNECT:
                return;
        case ANALYZER_CONNECT:
                if (u->flap)
                        return;
                /* fall through */
        case ANALYZER_BREAK:
                st->n = st->next = 0;
                st->prev_dir = 0;
                st->counted = false;
                return;
        case ANALYZER_LEVEL:
                break;
        }
        if (u->first) {
                st->prev_dir = 0;
                st->counted = false;
                return;
        }
        if (!u->boundary || st->counted || st->prev_dir == 0 || st->prev_dir != -a->leg.dir ||
            st->prev_steps < c->intermittent_leg_steps || analyzer_leg_steps(a, &a->leg) < c->intermittent_leg_steps)
                return;
        rise_rate = a->leg.dir > 0 ? analyzer_leg_rate(&a->leg) : st->prev_rate;
        if (!(rise_rate >= analyzer_slow_charge_threshold(a, &usual)))
                return;

        st->counted = true;
        st->at[st->next] = u->t;
        st->next = (st->next + 1) % DETECT_INTERMITTENT_MAX;
        if (st->n < DETECT_INTERMITTENT_MAX)
                st->n++;
        n = detect_intermittent_charge_count(a, st, u->t, &oldest);
        if (analyzer_is_open(a, FINDING_INTERMITTENT_CHARGE)) {
                analyzer_arm(a, FINDING_INTERMITTENT_CHARGE, u->t + c->intermittent_window_ms);
                return;
        }
        if (n < c->intermittent_reversals)
                return;
        analyzer_finding_init(a, FINDING_INTERMITTENT_CHARGE, FINDING_WARNING, u->t, &f);
        (void) finding_add_evidence(&f, "reversals", n);
        (void) finding_add_evidence(&f, "span_min", (double) (u->t - oldest) / ANALYZER_MINUTE_MS);
        (void) finding_add_evidence(&f, "window_h", analyzer_hours(c->intermittent_window_ms));
        (void) finding_add_evidence(&f, "level_pct", a->filtered);
        (void) finding_add_evidence(&f, "step_pct", a->step);
        analyzer_raise(a, &f);
        analyzer_arm(a, FINDING_INTERMITTENT_CHARGE, u->t + c->intermittent_window_ms);
}

/* A whole window without a reversal: the episode is over. */
static void detect_intermittent_charge_timer(struct analyzer *a, void *state, int64_t due) {
        analyzer_clear(a, FINDING_INTERMITTENT_CHARGE, due);
}

/* Whether a restored state holds only values its code is safe with (checkpoint.c). */
static bool detect_intermittent_charge_valid(const void *state) {
        const struct detect_intermittent_charge_state *st = state;

        return st->n <= DETECT_INTERMITTENT_MAX && st->next < DETECT_INTERMITTENT_MAX && analyzer_bool_ok(&st->counted) &&
               st->prev_dir >= -1 && st->prev_dir <= 1 && st->prev_steps <= 100 &&
               analyzer_real_or_nan_ok(st->prev_rate) && analyzer_times_ok(st->at, DETECT_INTERMITTENT_MAX);
}

const struct detector detect_intermittent_charge = {
        .kind = FINDING_INTERMITTENT_CHARGE,
        .sees = ANALYZER_SEES_CONNECT | ANALYZER_SEES_LEG_END | ANALYZER_SEES_BREAK | ANALYZER_SEES_LEVEL |
                ANALYZER_SEES_BOUNDARY,
        .state_size = sizeof(struct detect_intermittent_charge_state),
        .state_valid = detect_intermittent_charge_valid,
        .update = detect_intermittent_charge_update,
        .timer = detect_intermittent_charge_timer,
};
