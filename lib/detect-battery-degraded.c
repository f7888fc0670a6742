/* hpmon — battery-degraded: runtime per full charge is now at most 70 % of what it was in
 * early life.
 *
 * Runtime per full charge is 100 % over the drain rate in use. Early life is the drain of
 * the first battery-degraded.early-discharges falls the analyzer ever measured for the
 * device (kept for good); now is that of the newest recent-discharges, judged only once
 * they are all later than the early ones. Both are points over hours summed across whole
 * falls, so one heavy session does not age a battery and a usual mix of use cancels out.
 *
 * How many falls define now trades lag for noise, and both cost: a fall's rate swings by a
 * quarter or more with the use (a call, music, idle while connected), so a short window
 * crosses 70 % on a battery still at 75–80 % of its capacity, and a long one (16 falls are
 * 8–16 days of use for a headset used once or twice a day with this host) sees a battery
 * losing 1–2 % of its capacity a day a week late. 12 found more on the tuning seeds and
 * fewer on the report seeds than 16 (bench/RESULTS.md, issue 4 third pass): 16 stays. */
#include "analyzer-internal.h"

struct detect_battery_degraded_state {
        unsigned seen;          /* falls recorded so far */
        int64_t last_end;       /* newest record already counted */
};

/* Judges after every fall that made it into history. */
static void detect_battery_degraded_update(struct analyzer *a, void *state, const struct analyzer_update *u) {
        struct detect_battery_degraded_state *st = state;
        const struct analyzer_config *c = a->config;
        const struct analyzer_record *newest;
        double points = 0, hours = 0, early, now, runtime, early_runtime;
        struct finding f;

        if (u->what != ANALYZER_LEG_END || u->leg->dir >= 0)
                return;
        newest = analyzer_ring_get(&a->drains, 0);
        if (!newest || newest->t_end != u->leg->t_last || (st->seen > 0 && newest->t_end == st->last_end))
                return;         /* this fall was too short to be recorded */
        st->seen++;
        st->last_end = newest->t_end;
        if (a->n_early < c->degraded_early || st->seen < c->degraded_early + c->degraded_recent)
                return;

        for (unsigned i = 0; i < c->degraded_recent; i++) {
                const struct analyzer_record *r = analyzer_ring_get(&a->drains, i);

                if (!r)
                        return;         /* fewer falls kept than counted (a restored state) */
                points += r->points;
                hours += r->hours;
        }
        now = hours > 0 ? points / hours : NAN;
        early = a->early_hours > 0 ? a->early_points / a->early_hours : NAN;
        if (!(now > 0) || !(early > 0))
                return;
        runtime = 100.0 / now;
        early_runtime = 100.0 / early;

        if (analyzer_is_open(a, FINDING_BATTERY_DEGRADED)) {
                if (runtime > (c->degraded_fraction + 0.05) * early_runtime)
                        analyzer_clear(a, FINDING_BATTERY_DEGRADED, u->t);
                return;
        }
        if (runtime > c->degraded_fraction * early_runtime)
                return;
        analyzer_finding_init(a, FINDING_BATTERY_DEGRADED, FINDING_WARNING, u->t, &f);
        (void) finding_add_evidence(&f, "runtime_h", runtime);
        (void) finding_add_evidence(&f, "early_runtime_h", early_runtime);
        (void) finding_add_evidence(&f, "ratio", runtime / early_runtime);
        (void) finding_add_evidence(&f, "drain_rate_pct_per_h", now);
        (void) finding_add_evidence(&f, "early_drain_rate_pct_per_h", early);
        (void) finding_add_evidence(&f, "discharges", st->seen);
        analyzer_raise(a, &f);
}

/* Whether a restored state holds only values its code is safe with (checkpoint.c). */
static bool detect_battery_degraded_valid(const void *state) {
        const struct detect_battery_degraded_state *st = state;

        return st->seen <= UINT32_MAX / 2 && analyzer_time_ok(st->last_end);
}

const struct detector detect_battery_degraded = {
        .kind = FINDING_BATTERY_DEGRADED,
        .sees = ANALYZER_SEES_LEG_END,
        .state_size = sizeof(struct detect_battery_degraded_state),
        .state_valid = detect_battery_degraded_valid,
        .update = detect_battery_degraded_update,
};
