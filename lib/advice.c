/* hpmon — the advice table. Step numbers and titles are the guide's, word for word, so an
 * owner can find them; the meanings are DESIGN.md's "the owner sees" column. */
#include <stddef.h>

#include "advice.h"

#define ADVICE_STEP1 { "Step 1", "Inspect the Charging Port" }
#define ADVICE_STEP2 { "Step 2", "Test the Charging Cable and Adapter" }
#define ADVICE_STEP3 { "Step 3", "Verify the Power Source" }
#define ADVICE_STEP4 { "Step 4", "Restart and Reset Your Headphones (If Applicable)" }
#define ADVICE_STEP5 { "Step 5", "Check for Firmware Updates" }
#define ADVICE_STEP6 { "Step 6", "Assess the Battery Health" }
#define ADVICE_REPLACE { "Replace", "When to Seek Professional Help or Replace" }
#define ADVICE_Q4 { "Q4", "I’ve tried everything, and my headphones still won’t charge. Could the battery be completely dead?" }

static const struct advice advice_table[_FINDING_KIND_MAX] = {
        [FINDING_CHARGE_STALL] = {
                .kind = FINDING_CHARGE_STALL,
                .meaning = "charging stopped before full",
                .action = "Clean the charging port, then try another cable, adapter and outlet.",
                .n_steps = 3, .steps = { ADVICE_STEP1, ADVICE_STEP2, ADVICE_STEP3 },
        },
        [FINDING_SLOW_CHARGE] = {
                .kind = FINDING_SLOW_CHARGE,
                .meaning = "charging far slower than it should",
                .action = "Try a known-good cable and a wall adapter instead of a computer or hub port.",
                .n_steps = 2, .steps = { ADVICE_STEP2, ADVICE_STEP3 },
        },
        [FINDING_INTERMITTENT_CHARGE] = {
                .kind = FINDING_INTERMITTENT_CHARGE,
                .meaning = "charging starts and stops",
                .action = "Look for debris or bent pins in the port and for a loose or frayed cable.",
                .n_steps = 2, .steps = { ADVICE_STEP1, ADVICE_STEP2 },
        },
        [FINDING_FAST_DRAIN] = {
                .kind = FINDING_FAST_DRAIN,
                .meaning = "battery empties much faster than it used to",
                .action = "Restart or reset the headset and update its firmware; if it stays, check the battery.",
                .n_steps = 3, .steps = { ADVICE_STEP4, ADVICE_STEP5, ADVICE_STEP6 },
        },
        [FINDING_BATTERY_DEGRADED] = {
                .kind = FINDING_BATTERY_DEGRADED,
                .meaning = "battery has worn out",
                .action = "The battery holds much less than it did: ask for a repair or battery replacement.",
                .n_steps = 2, .steps = { ADVICE_STEP6, ADVICE_REPLACE },
        },
        [FINDING_SUDDEN_DROP] = {
                .kind = FINDING_SUDDEN_DROP,
                .meaning = "level collapses at once",
                .action = "A level that falls in one jump points at a failing cell: check the battery health.",
                .n_steps = 1, .steps = { ADVICE_STEP6 },
        },
        [FINDING_NOT_HOLDING_CHARGE] = {
                .kind = FINDING_NOT_HOLDING_CHARGE,
                .meaning = "dies soon after a full charge",
                .action = "The battery no longer holds a charge: it needs replacing.",
                .n_steps = 2, .steps = { ADVICE_STEP6, ADVICE_Q4 },
        },
        [FINDING_CONNECTION_UNSTABLE] = {
                .kind = FINDING_CONNECTION_UNSTABLE,
                .meaning = "headset keeps dropping",
                .action = "Restart or reset the headset and update its firmware.",
                .n_steps = 2, .steps = { ADVICE_STEP4, ADVICE_STEP5 },
        },
        [FINDING_LOW_BATTERY] = {
                .kind = FINDING_LOW_BATTERY,
                .meaning = "charge it soon",
                .action = "Charge the headset.",
                .n_steps = 0,
        },
        [FINDING_DEEP_DISCHARGE_RISK] = {
                .kind = FINDING_DEEP_DISCHARGE_RISK,
                .meaning = "left empty for days",
                .action = "Charge it now: a battery left empty for long may not recover.",
                .n_steps = 1, .steps = { ADVICE_Q4 },
        },
};

/* The advice for a kind; NULL only for a kind out of range. */
const struct advice *advice_for(enum finding_kind k) {
        if (k < 0 || k >= _FINDING_KIND_MAX)
                return NULL;
        return &advice_table[k];
}
