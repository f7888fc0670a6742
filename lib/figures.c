/* hpmon — figures at a glance (see figures.h). */
#include <math.h>
#include <string.h>

#include "figures.h"
#include "numeric.h"

/* A learned rate or runtime is usable when it is a positive finite number. */
static bool figures_known(double v) {
        return isfinite(v) && v > 0;
}

/* Rounds to a tenth, so tiny changes of a learned median do not look like news. */
static double figures_round(double v) {
        return numeric_round(v * 10.0) / 10.0;
}

/* Derives the figures. Time to empty needs a connected headset with a level (a level
 * seen before a gap says nothing about now) and a learned drain rate in use. */
void figures_compute(const struct analyzer_figures *af, const struct devstate *s, struct figures *ret) {
        *ret = (struct figures) {
                .time_to_empty_h = -1,
                .health_pct = -1,
                .typical_charge_h = -1,
                .cycles = figures_round((double) s->discharged / 100.0),
        };
        if (s->connected == 1 && s->percentage >= 0 && figures_known(af->drain_rate))
                ret->time_to_empty_h = figures_round(s->percentage / af->drain_rate);
        if (figures_known(af->runtime_h) && figures_known(af->early_runtime_h))
                ret->health_pct = figures_round(100.0 * af->runtime_h / af->early_runtime_h);
        if (figures_known(af->charge_rate))
                ret->typical_charge_h = figures_round(100.0 / af->charge_rate);
}

/* Which figures differ (FIGURES_* bits). Bit for bit: a figure that stays NaN, or -1, has
 * not moved; a rounded figure that keeps its tenth has not either (figures_compute rounds). */
unsigned figures_changed(const struct figures *a, const struct figures *b) {
        unsigned mask = 0;

        if (memcmp(&a->time_to_empty_h, &b->time_to_empty_h, sizeof(double)) != 0)
                mask |= FIGURES_TIME_TO_EMPTY;
        if (memcmp(&a->health_pct, &b->health_pct, sizeof(double)) != 0)
                mask |= FIGURES_HEALTH;
        if (memcmp(&a->typical_charge_h, &b->typical_charge_h, sizeof(double)) != 0)
                mask |= FIGURES_CHARGE_TIME;
        if (memcmp(&a->cycles, &b->cycles, sizeof(double)) != 0)
                mask |= FIGURES_CYCLES;
        return mask;
}
