/* hpmon — not-holding-charge: from ≥ 90 % to ≤ 20 % within 90 minutes.
 *
 * The clock starts when the level is seen leaving ≥ 90: at the report that shows it
 * below, when that report is a change within a connection (a boundary); after a gap, at
 * the last report that was still ≥ 90, the earliest it can have left, so a headset used
 * elsewhere for hours is never mistaken for one that died. No healthy battery loses 70
 * points in 90 minutes by any use, so unlike drain rates this holds across gaps. One low
 * report is not yet a fact: it is confirmed by a second one at or below 20 (at once), or
 * by not-holding-charge.confirm passing with no higher report — a glitchy reading
 * between two good ones never alerts. The episode ends when a later charge from ≥ 90
 * lasts longer than the window without reaching ≤ 20. */
#include "analyzer-internal.h"

struct detect_not_holding_charge_state {
        bool full;              /* seen ≥ from since the last time it reached ≤ to */
        int full_level;         /* highest level of that charge */
        int64_t last_full;      /* last report ≥ from */
        int64_t left;           /* when it left ≥ from, or -1 */
        bool pending;           /* a low report waits for confirmation */
        struct finding waiting; /* what it would raise */
};

/* Resets to "no full charge seen". */
static void detect_not_holding_charge_init(struct analyzer *a, void *state) {
        struct detect_not_holding_charge_state *st = state;

        st->left = -1;
}

/* Follows each discharge from full. */
static void detect_not_holding_charge_update(struct analyzer *a, void *state, const struct analyzer_update *u) {
        struct detect_not_holding_charge_state *st = state;
        const struct analyzer_config *c = a->config;
        struct finding f;
        int64_t took;

        if (u->what != ANALYZER_LEVEL)
                return;
        if (st->pending) {
                st->pending = false;
                if (u->level <= c->not_holding_to) {
                        /* a second low report: confirmed now */
                        st->waiting.time_ms = u->t - a->offset;
                        analyzer_raise(a, &st->waiting);
                        return;
                }
                st->full = true;        /* the low report was a glitch: the charge goes on */
        }
        if (u->level >= c->not_holding_from) {
                if (!st->full || st->left >= 0)
                        st->full_level = u->level;
                else if (u->level > st->full_level)
                        st->full_level = u->level;
                st->full = true;
                st->last_full = u->t;
                st->left = -1;
                return;
        }
        if (!st->full)
                return;
        if (st->left < 0)
                st->left = u->same_connection && !u->first ? u->t : st->last_full;
        took = u->t - st->left;
        if (u->level > c->not_holding_to) {
                if (took > c->not_holding_within_ms)
                        analyzer_clear(a, FINDING_NOT_HOLDING_CHARGE, u->t);
                return;
        }
        st->full = false;
        if (took > c->not_holding_within_ms || analyzer_is_open(a, FINDING_NOT_HOLDING_CHARGE))
                return;
        analyzer_finding_init(a, FINDING_NOT_HOLDING_CHARGE, FINDING_CRITICAL, u->t, &f);
        (void) finding_add_evidence(&f, "from_pct", st->full_level);
        (void) finding_add_evidence(&f, "to_pct", u->level);
        (void) finding_add_evidence(&f, "minutes", (double) took / ANALYZER_MINUTE_MS);
        (void) finding_add_evidence(&f, "drain_rate_pct_per_h",
                                    took > 0 ? (st->full_level - u->level) / analyzer_hours(took) : INFINITY);
        (void) finding_add_evidence(&f, "within_min", (double) c->not_holding_within_ms / ANALYZER_MINUTE_MS);
        if (c->not_holding_confirm_ms <= 0) {
                analyzer_raise(a, &f);
                return;
        }
        st->pending = true;
        st->waiting = f;
        analyzer_arm(a, FINDING_NOT_HOLDING_CHARGE, u->t + c->not_holding_confirm_ms);
}

/* No higher report came within not-holding-charge.confirm: the low level stands. */
static void detect_not_holding_charge_timer(struct analyzer *a, void *state, int64_t due) {
        struct detect_not_holding_charge_state *st = state;

        if (!st->pending)
                return;
        st->pending = false;
        st->waiting.time_ms = due - a->offset;
        analyzer_raise(a, &st->waiting);
}

/* The finding the state holds while a low report waits (checkpoint.c rebuilds its pointers). */
static struct finding *detect_not_holding_charge_finding(void *state) {
        struct detect_not_holding_charge_state *st = state;

        return &st->waiting;
}

/* Whether a restored state holds only values its code is safe with (checkpoint.c). */
static bool detect_not_holding_charge_valid(const void *state) {
        const struct detect_not_holding_charge_state *st = state;

        return analyzer_bool_ok(&st->full) && analyzer_bool_ok(&st->pending) && analyzer_level_ok(st->full_level) &&
               analyzer_time_ok(st->last_full) && analyzer_time_ok(st->left) && analyzer_finding_ok(&st->waiting) &&
               (st->waiting.n_evidence == 0 || st->waiting.kind == FINDING_NOT_HOLDING_CHARGE);
}

const struct detector detect_not_holding_charge = {
        .kind = FINDING_NOT_HOLDING_CHARGE,
        .sees = ANALYZER_SEES_LEVEL | ANALYZER_SEES_BOUNDARY,
        .state_size = sizeof(struct detect_not_holding_charge_state),
        .state_valid = detect_not_holding_charge_valid,
        .state_finding = detect_not_holding_charge_finding,
        .init = detect_not_holding_charge_init,
        .update = detect_not_holding_charge_update,
        .timer = detect_not_holding_charge_timer,
};
