/* hpmon — deep-discharge-risk: last seen ≤ 5 % and not charged for 3 days.
 *
 * The clock starts at the first report at or below the level since the last charge and
 * runs through disconnections (that is the point: a headset left in a drawer). A report two
 * steps above the level is a charge. Headsets whose lowest report is 10 (HFP levels mapped
 * to 10–100 never say 0) count 10 as empty once their step is known to be 10 or more. */
#include "analyzer-internal.h"

struct detect_deep_discharge_risk_state {      /* widest first: 16 bytes */
        int64_t since;          /* first seen empty */
        int lowest;
        bool empty;
};

/* The level that counts as empty for this device. */
static int detect_deep_discharge_risk_level(const struct analyzer *a) {
        int l = a->config->deep_level;

        if (a->step >= 10 && l < 10)
                l = 10;
        return l;
}

/* Starts the clock on an empty report; stops it, and ends an episode, on a charge. */
static void detect_deep_discharge_risk_update(struct analyzer *a, void *state, const struct analyzer_update *u) {
        struct detect_deep_discharge_risk_state *st = state;
        int empty = detect_deep_discharge_risk_level(a);

        if (u->what != ANALYZER_LEVEL)
                return;
        if (u->level <= empty) {
                if (!st->empty) {
                        st->empty = true;
                        st->since = u->t;
                        st->lowest = u->level;
                        if (!analyzer_is_open(a, FINDING_DEEP_DISCHARGE_RISK))
                                analyzer_arm(a, FINDING_DEEP_DISCHARGE_RISK, u->t + a->config->deep_after_ms);
                } else if (u->level < st->lowest)
                        st->lowest = u->level;
                return;
        }
        if (u->level >= empty + 2 * a->step) {
                st->empty = false;
                analyzer_arm(a, FINDING_DEEP_DISCHARGE_RISK, ANALYZER_NEVER);
                analyzer_clear(a, FINDING_DEEP_DISCHARGE_RISK, u->t);
        }
}

/* Three days empty. */
static void detect_deep_discharge_risk_timer(struct analyzer *a, void *state, int64_t due) {
        struct detect_deep_discharge_risk_state *st = state;
        struct finding f;

        if (!st->empty || analyzer_is_open(a, FINDING_DEEP_DISCHARGE_RISK))
                return;
        analyzer_finding_init(a, FINDING_DEEP_DISCHARGE_RISK, FINDING_WARNING, due, &f);
        (void) finding_add_evidence(&f, "level_pct", st->lowest);
        (void) finding_add_evidence(&f, "empty_days", (double) (due - st->since) / (24.0 * ANALYZER_HOUR_MS));
        (void) finding_add_evidence(&f, "threshold_pct", detect_deep_discharge_risk_level(a));
        analyzer_raise(a, &f);
}

/* Whether a restored state holds only values its code is safe with (checkpoint.c). */
static bool detect_deep_discharge_risk_valid(const void *state) {
        const struct detect_deep_discharge_risk_state *st = state;

        return analyzer_bool_ok(&st->empty) && analyzer_time_ok(st->since) && analyzer_level_ok(st->lowest);
}

const struct detector detect_deep_discharge_risk = {
        .kind = FINDING_DEEP_DISCHARGE_RISK,
        .sees = ANALYZER_SEES_LEVEL | ANALYZER_SEES_BOUNDARY,
        .state_size = sizeof(struct detect_deep_discharge_risk_state),
        .state_valid = detect_deep_discharge_risk_valid,
        .update = detect_deep_discharge_risk_update,
        .timer = detect_deep_discharge_risk_timer,
};
