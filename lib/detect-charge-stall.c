/* hpmon — charge-stall: the level was rising, then sits still for much longer than this
 * device takes per step, rising or falling, below 90 %.
 *
 * Why both paces: a charger pulled mid-charge leaves the level flat until the first step
 * down, which takes a falling step's time (longer still when idle); only flat for several
 * times the slower of the two is "stopped while plugged in". Silence is not a stall: the
 * timer is armed only once a rise of at least one whole step interval (two boundaries) has
 * been seen in this connection, so a headset that is silent on the charger and jumps to
 * 100 on reconnection never arms it. One-step flicker is not movement (see analyzer.c). */
#include "analyzer-internal.h"

struct detect_charge_stall_state {
        double wait_ms;         /* the wait the armed timer was computed with */
        double pace_ms;         /* the slower step time it used */
        double rise_pace_ms;
        double fall_pace_ms;
};

/* Whether the device is in the state a stall grows from: connected, rising, below the limit. */
static bool detect_charge_stall_rising(const struct analyzer *a) {
        return a->connected == 1 && a->leg.dir > 0 && a->leg.boundaries >= 2 &&
               a->filtered < a->config.stall_below;
}

/* Re-arms (or disarms) the timer from the last movement. */
static void detect_charge_stall_rearm(struct analyzer *a, struct detect_charge_stall_state *st) {
        double pace, wait;

        if (analyzer_is_open(a, FINDING_CHARGE_STALL) || !detect_charge_stall_rising(a)) {
                analyzer_arm(a, FINDING_CHARGE_STALL, ANALYZER_NEVER);
                return;
        }
        st->rise_pace_ms = a->leg.pace_ms;
        st->fall_pace_ms = analyzer_fall_pace_ms(a);
        pace = st->rise_pace_ms > st->fall_pace_ms ? st->rise_pace_ms : st->fall_pace_ms;
        wait = a->config.stall_factor * pace;
        if (wait < (double) a->config.stall_min_wait_ms)
                wait = (double) a->config.stall_min_wait_ms;
        st->pace_ms = pace;
        st->wait_ms = wait;
        analyzer_arm(a, FINDING_CHARGE_STALL, a->last_move + (int64_t) wait);
}

/* Movement clears an open stall; every change re-arms from the last movement. */
static void detect_charge_stall_update(struct analyzer *a, void *state, const struct analyzer_update *u) {
        struct detect_charge_stall_state *st = state;

        if (u->what == ANALYZER_LEVEL && u->moved)
                analyzer_clear(a, FINDING_CHARGE_STALL, u->t);
        detect_charge_stall_rearm(a, st);
}

/* Flat for the whole wait: a stall, timed at the moment the wait ran out. */
static void detect_charge_stall_timer(struct analyzer *a, void *state, int64_t due) {
        struct detect_charge_stall_state *st = state;
        struct finding f;

        if (!detect_charge_stall_rising(a) || analyzer_is_open(a, FINDING_CHARGE_STALL))
                return;
        analyzer_finding_init(a, FINDING_CHARGE_STALL, FINDING_WARNING, due, &f);
        (void) finding_add_evidence(&f, "level_pct", a->filtered);
        (void) finding_add_evidence(&f, "flat_min", (double) (due - a->last_move) / ANALYZER_MINUTE_MS);
        (void) finding_add_evidence(&f, "rise_step_min", st->rise_pace_ms / ANALYZER_MINUTE_MS);
        (void) finding_add_evidence(&f, "fall_step_min", st->fall_pace_ms / ANALYZER_MINUTE_MS);
        (void) finding_add_evidence(&f, "charge_rate_pct_per_h", analyzer_leg_rate(&a->leg));
        (void) finding_add_evidence(&f, "risen_pct", a->leg.l_last - a->leg.origin);
        (void) finding_add_evidence(&f, "step_pct", a->step);
        analyzer_raise(a, &f);
}

const struct detector detect_charge_stall = {
        .kind = FINDING_CHARGE_STALL,
        .state_size = sizeof(struct detect_charge_stall_state),
        .update = detect_charge_stall_update,
        .timer = detect_charge_stall_timer,
};
