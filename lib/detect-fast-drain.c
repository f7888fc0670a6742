/* hpmon — fast-drain: the recent drain rate in use is at least 1.8 times this device's
 * baseline.
 *
 * Both rates are measured the same way, points over hours summed across whole falls, so
 * short and long falls weigh by their length and a mix of calls, music and idle time
 * averages out the same on both sides. "Recent" is the newest falls (the one in progress
 * included), back until fast-drain.min-duration of falling has been measured, within
 * fast-drain.lookback. The baseline is every older fall in history, leaving out those
 * recorded while an episode was open (so a lasting fault does not become the norm), and
 * counts only once it holds history.min-discharges falls and three times the recent
 * window's hours. Only falls measured while connected count: a change across a gap says
 * nothing about drain. */
#include "analyzer-internal.h"

struct detect_fast_drain_state {
        double baseline;        /* at the raise, for the clearing test */
};

/* Measures the recent drain rate and the baseline before it; false without enough of either. */
static bool detect_fast_drain_measure(const struct analyzer *a, int64_t now, double *ret_recent, double *ret_hours,
                                      double *ret_baseline, double *ret_baseline_hours) {
        const struct analyzer_config *c = a->config;
        const struct analyzer_leg *L = &a->leg;
        double points = 0, hours = 0, min_h = analyzer_hours(c->fast_drain_min_ms);
        unsigned used = 0, size = analyzer_ring_size(&a->drains);
        struct analyzer_ring_stats base;

        if (L->dir < 0 && L->boundaries >= 2 && L->t_last > L->t_first) {
                points += L->l_first - L->l_last;
                hours += analyzer_hours(L->t_last - L->t_first);
        }
        while (hours < min_h && used < size) {
                const struct analyzer_record *r = analyzer_ring_get(&a->drains, used);

                if (r->t_end < now - c->fast_drain_lookback_ms)
                        break;
                points += r->points;
                hours += r->hours;
                used++;
        }
        if (hours < min_h || !(hours > 0))
                return false;
        /* every older fall: the ring keeps these sums until its next record */
        analyzer_ring_stats(&a->drains, used, 1u << FINDING_FAST_DRAIN, false, &base);
        if (base.n < c->min_drains || base.hours < 3 * min_h || !(base.points > 0))
                return false;
        *ret_recent = points / hours;
        *ret_hours = hours;
        *ret_baseline = base.points / base.hours;
        *ret_baseline_hours = base.hours;
        return true;
}

/* Judges at every falling boundary and whenever a fall ends. */
static void detect_fast_drain_update(struct analyzer *a, void *state, const struct analyzer_update *u) {
        struct detect_fast_drain_state *st = state;
        const struct analyzer_config *c = a->config;
        double recent, hours, baseline, baseline_hours;
        struct finding f;

        if (!((u->what == ANALYZER_LEVEL && u->boundary && a->leg.dir < 0) ||
              (u->what == ANALYZER_LEG_END && u->leg->dir < 0)))
                return;
        if (!detect_fast_drain_measure(a, u->t, &recent, &hours, &baseline, &baseline_hours))
                return;
        if (analyzer_is_open(a, FINDING_FAST_DRAIN)) {
                if (recent < (1.0 + c->fast_drain_factor) / 2.0 * st->baseline)
                        analyzer_clear(a, FINDING_FAST_DRAIN, u->t);
                return;
        }
        if (recent < c->fast_drain_factor * baseline)
                return;
        st->baseline = baseline;
        analyzer_finding_init(a, FINDING_FAST_DRAIN, FINDING_WARNING, u->t, &f);
        (void) finding_add_evidence(&f, "drain_rate_pct_per_h", recent);
        (void) finding_add_evidence(&f, "baseline_pct_per_h", baseline);
        (void) finding_add_evidence(&f, "ratio", recent / baseline);
        (void) finding_add_evidence(&f, "measured_h", hours);
        (void) finding_add_evidence(&f, "baseline_h", baseline_hours);
        (void) finding_add_evidence(&f, "runtime_h", 100.0 / recent);
        (void) finding_add_evidence(&f, "baseline_runtime_h", 100.0 / baseline);
        (void) finding_add_evidence(&f, "level_pct", a->level);
        analyzer_raise(a, &f);
}

/* Whether a restored state holds only values its code is safe with (checkpoint.c). */
static bool detect_fast_drain_valid(const void *state) {
        const struct detect_fast_drain_state *st = state;

        return analyzer_real_or_nan_ok(st->baseline);
}

const struct detector detect_fast_drain = {
        .kind = FINDING_FAST_DRAIN,
        .sees = ANALYZER_SEES_LEG_END | ANALYZER_SEES_BOUNDARY,
        .state_size = sizeof(struct detect_fast_drain_state),
        .state_valid = detect_fast_drain_valid,
        .update = detect_fast_drain_update,
};
