/* hpmon — what to do about a finding: one table from kind to the charging guide's steps
 * (guide/headphone-charging-guide.txt) and a plain-words meaning for the owner. */
#pragma once

#include "finding.h"

#define ADVICE_STEPS_MAX 4

/* One place in the guide: "Step 2" and its title, or "Q4" and its question. */
struct advice_step {
        const char *ref;        /* "Step 2", "Q4", or the section name for a whole section */
        const char *title;      /* the guide's own words */
};

struct advice {
        enum finding_kind kind;
        const char *meaning;    /* what the owner sees: "charging stopped before full" */
        const char *action;     /* one sentence: what to try first */
        unsigned n_steps;
        struct advice_step steps[ADVICE_STEPS_MAX];
};

const struct advice *advice_for(enum finding_kind k);
