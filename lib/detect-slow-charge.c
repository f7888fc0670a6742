/* hpmon — slow-charge: a sustained rise below 80 % at under half this device's usual
 * charge rate, or under 25 %/h before it has a usual rate.
 *
 * The rate is the step over the median of the rise's latest times per step (boundary to
 * boundary), so it means the same at 1 % and at 20 % steps, and a step of gauge noise
 * before the charger took over does not make a normal charge look slow. It is judged once
 * the rise has lasted slow-charge.min-duration and risen at least a step and
 * slow-charge.min-rise points from its first step up (10 min and 3 points: the median of
 * three times per step at 1 %, one whole step at coarser steps); a 1 % gauge wandering a
 * point up while idle is not a sustained rise.
 * Rises that were themselves slow are kept out of the usual rate. A rise seen only across
 * a gap bounds the charge rate from below, so it may raise the no-history threshold (half
 * that bound) but never lower it. A rise that stops altogether is charge-stall's: an open
 * stall keeps this quiet. */
#include "analyzer-internal.h"

/* Judges the rise at each of its boundaries below the knee; clears when the rise ends. */
static void detect_slow_charge_update(struct analyzer *a, void *state, const struct analyzer_update *u) {
        const struct analyzer_config *c = a->config;
        const struct analyzer_leg *L = &a->leg;
        double rate, threshold, usual;
        int64_t dur;
        struct finding f;

        if (u->what == ANALYZER_LEG_END || u->what == ANALYZER_BREAK || (u->what == ANALYZER_CONNECT && !u->flap)) {
                analyzer_clear(a, FINDING_SLOW_CHARGE, u->t);
                return;
        }
        if (u->what != ANALYZER_LEVEL || !u->boundary || L->dir <= 0)
                return;
        if (L->l_last > c->slow_below) {
                analyzer_clear(a, FINDING_SLOW_CHARGE, u->t);
                return;
        }
        if (analyzer_is_open(a, FINDING_SLOW_CHARGE) || analyzer_is_open(a, FINDING_CHARGE_STALL))
                return;
        if (L->cc_boundaries < 2 || L->cc_boundaries != L->boundaries || L->l_first >= c->slow_below)
                return;
        dur = L->t_cc_last - L->t_first;
        if (dur < c->slow_min_duration_ms || L->l_cc_last - L->l_first < c->slow_min_rise)
                return;
        threshold = analyzer_slow_charge_threshold(a, &usual);
        if (analyzer_leg_cc_rate_floor(a, L) >= threshold)
                return;         /* even its slowest latest step was fast enough: no median needed */
        rate = analyzer_leg_cc_rate(a, L);
        if (!(rate < threshold))
                return;

        analyzer_finding_init(a, FINDING_SLOW_CHARGE, FINDING_WARNING, u->t, &f);
        (void) finding_add_evidence(&f, "rate_pct_per_h", rate);
        (void) finding_add_evidence(&f, "average_rate_pct_per_h", (L->l_cc_last - L->l_first) / analyzer_hours(dur));
        (void) finding_add_evidence(&f, "threshold_pct_per_h", threshold);
        if (!isnan(usual))
                (void) finding_add_evidence(&f, "usual_rate_pct_per_h", usual);
        (void) finding_add_evidence(&f, "from_pct", L->l_first);
        (void) finding_add_evidence(&f, "to_pct", L->l_cc_last);
        (void) finding_add_evidence(&f, "duration_min", (double) dur / ANALYZER_MINUTE_MS);
        (void) finding_add_evidence(&f, "step_pct", a->step);
        analyzer_raise(a, &f);
}

const struct detector detect_slow_charge = {
        .kind = FINDING_SLOW_CHARGE,
        .sees = ANALYZER_SEES_CONNECT | ANALYZER_SEES_LEG_END | ANALYZER_SEES_BREAK | ANALYZER_SEES_BOUNDARY,
        .update = detect_slow_charge_update,
};
