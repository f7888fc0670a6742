/* hpmon — low-battery: level ≤ 20 % (warning), ≤ 10 % (critical).
 *
 * Any report counts, the first of a connection too: a level is a level, wherever it was
 * used. Critical escalates an open warning. The episode ends only two steps above the
 * warning level (at most ten points above), so one-step flicker at the threshold does not
 * raise it again and again. */
#include "analyzer-internal.h"

/* Raises, escalates or clears on each report. */
static void detect_low_battery_update(struct analyzer *a, void *state, const struct analyzer_update *u) {
        const struct analyzer_config *c = &a->config;
        struct finding f, open;
        enum finding_severity sev;
        int clear_at;

        if (u->what != ANALYZER_LEVEL)
                return;
        clear_at = c->low_warning + 2 * a->step;
        if (clear_at > c->low_warning + 10)
                clear_at = c->low_warning + 10;
        if (u->level >= clear_at) {
                analyzer_clear(a, FINDING_LOW_BATTERY, u->t);
                return;
        }
        if (u->level <= c->low_critical)
                sev = FINDING_CRITICAL;
        else if (u->level <= c->low_warning)
                sev = FINDING_WARNING;
        else
                return;
        if (analyzer_get_open(a, FINDING_LOW_BATTERY, &open) && open.severity >= sev)
                return;
        analyzer_finding_init(a, FINDING_LOW_BATTERY, sev, u->t, &f);
        (void) finding_add_evidence(&f, "level_pct", u->level);
        (void) finding_add_evidence(&f, "threshold_pct", sev == FINDING_CRITICAL ? c->low_critical : c->low_warning);
        analyzer_raise(a, &f);
}

const struct detector detect_low_battery = {
        .kind = FINDING_LOW_BATTERY,
        .update = detect_low_battery_update,
};
