/* hpmon — low-battery: level ≤ 20 % (warning), ≤ 10 % (critical).
 *
 * Any report counts, the first of a connection too: a level is a level, wherever it was
 * used. But one report is not yet a fact — a glitchy reading between two good ones must
 * never alert — so a low level is confirmed first: by a second low report (at once), or
 * by time (low-battery.confirm passes with no higher report). Critical escalates an open
 * warning, confirmed the same way. The episode ends only two steps above the warning
 * level (at most ten points above), so one-step flicker at the threshold does not raise
 * it again and again. */
#include "analyzer-internal.h"

struct detect_low_battery_state {
        bool pending;                   /* a low report waits for confirmation */
        enum finding_severity severity; /* what it would raise */
        int level;                      /* the lowest level seen while waiting */
        int64_t at;                     /* the first low report */
};

/* Raises (or escalates) low-battery for a confirmed level. */
static void detect_low_battery_raise(struct analyzer *a, struct detect_low_battery_state *st, int64_t t,
                                     bool by_time) {
        const struct analyzer_config *c = a->config;
        struct finding f;

        st->pending = false;
        analyzer_finding_init(a, FINDING_LOW_BATTERY, st->severity, t, &f);
        (void) finding_add_evidence(&f, "level_pct", st->level);
        (void) finding_add_evidence(&f, "threshold_pct", st->severity == FINDING_CRITICAL ? c->low_critical : c->low_warning);
        (void) finding_add_evidence(&f, "confirmed_after_min", (double) (t - st->at) / ANALYZER_MINUTE_MS);
        (void) finding_add_evidence(&f, "confirmed_by_time", by_time ? 1 : 0);
        analyzer_raise(a, &f);
}

/* Raises, escalates or clears on each report; a first low report only starts the wait. */
static void detect_low_battery_update(struct analyzer *a, void *state, const struct analyzer_update *u) {
        struct detect_low_battery_state *st = state;
        const struct analyzer_config *c = a->config;
        struct finding open;
        enum finding_severity sev;
        int clear_at;

        if (u->what != ANALYZER_LEVEL)
                return;
        clear_at = c->low_warning + 2 * a->step;
        if (clear_at > c->low_warning + 10)
                clear_at = c->low_warning + 10;
        if (u->level >= clear_at)
                analyzer_clear(a, FINDING_LOW_BATTERY, u->t);
        if (u->level <= c->low_critical)
                sev = FINDING_CRITICAL;
        else if (u->level <= c->low_warning)
                sev = FINDING_WARNING;
        else {
                st->pending = false;    /* a higher report: the low one was a glitch */
                return;
        }
        if (st->pending && sev < st->severity)
                st->pending = false;    /* not as low as the waiting report: that one was a glitch */
        if (analyzer_get_open(a, FINDING_LOW_BATTERY, &open) && open.severity >= sev)
                return;
        if (st->pending) {
                enum finding_severity waited = st->severity;

                /* a second report at least as low confirms the waiting one */
                detect_low_battery_raise(a, st, u->t, false);
                if (sev <= waited)
                        return;
                /* lower still (critical after warning): it starts the wait for the next severity */
        }
        *st = (struct detect_low_battery_state) { .pending = true, .severity = sev, .level = u->level, .at = u->t };
        if (c->low_confirm_ms <= 0)
                detect_low_battery_raise(a, st, u->t, true);
        else
                analyzer_arm(a, FINDING_LOW_BATTERY, u->t + c->low_confirm_ms);
}

/* No higher report came within low-battery.confirm: the level stands. */
static void detect_low_battery_timer(struct analyzer *a, void *state, int64_t due) {
        struct detect_low_battery_state *st = state;

        if (st->pending)
                detect_low_battery_raise(a, st, due, true);
}

/* Whether a restored state holds only values its code is safe with (checkpoint.c). */
static bool detect_low_battery_valid(const void *state) {
        const struct detect_low_battery_state *st = state;

        return analyzer_bool_ok(&st->pending) && st->severity >= 0 && st->severity < _FINDING_SEVERITY_MAX &&
               analyzer_level_ok(st->level) && analyzer_time_ok(st->at);
}

const struct detector detect_low_battery = {
        .kind = FINDING_LOW_BATTERY,
        .sees = ANALYZER_SEES_LEVEL | ANALYZER_SEES_BOUNDARY,
        .state_size = sizeof(struct detect_low_battery_state),
        .state_valid = detect_low_battery_valid,
        .update = detect_low_battery_update,
        .timer = detect_low_battery_timer,
};
