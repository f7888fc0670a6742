/* hpmon — what a person wants to know about a headset at a glance, from the analyzer's
 * learned figures and the state fold. -1 where there is not enough history yet. Pure. */
#pragma once

#include "analyzer.h"
#include "devstate.h"

struct figures {
        double time_to_empty_h;         /* at the current drain rate from the current level */
        double health_pct;              /* runtime per full charge now, as % of its early life */
        double typical_charge_h;        /* a full charge at the usual charge rate */
        double cycles;                  /* equivalent full cycles so far */
};

/* A bit per figure, for what moved. */
enum {
        FIGURES_TIME_TO_EMPTY = 1 << 0,
        FIGURES_HEALTH        = 1 << 1,
        FIGURES_CHARGE_TIME   = 1 << 2,
        FIGURES_CYCLES        = 1 << 3,
        FIGURES_ALL           = (1 << 4) - 1,
};

void figures_compute(const struct analyzer_figures *af, const struct devstate *s, struct figures *ret);
unsigned figures_changed(const struct figures *a, const struct figures *b);
