/* hpmon — the analyzer: one object per device that turns charge-log events into findings.
 *
 * Contract (DESIGN.md, "Analyzer contract"):
 *
 *   - analyzer_new() keeps a pointer to its config (not a copy): the config must outlive
 *     the analyzer, and analyzers with the same thresholds share one.
 *   - Feed it the device's events in log order with analyzer_feed(); call
 *     analyzer_advance(now) between events and at the end. Time comes only from events
 *     and from advance(): the analyzer never reads a clock, a file or the bus.
 *   - Detectors keep timers; analyzer_next_deadline() says when the earliest is due (Unix
 *     ms, INT64_MAX for none); the daemon arms one timer for it and calls advance() when it
 *     fires. Timers due before an event fire inside analyzer_feed(), before the event.
 *   - Findings go to the callback given to analyzer_new(), synchronously, from inside
 *     feed() and advance(). The callback must not call back into the same analyzer.
 *   - Deterministic and causal: a finding's time is when it could first be known, the
 *     time of the event that showed it or the due time of the timer that proved it,
 *     never the time of a later event. Feeding a log cut at any point and advancing to
 *     the cut yields exactly the findings of the whole log up to that time.
 *
 * Episodes. A finding is RAISED when a condition begins (or escalates: low-battery goes
 * from warning to critical with a second RAISED) and CLEARED when it ends; at most one
 * episode per kind is open. When each ends:
 *
 *   charge-stall         the level moves again (a new step up, or a fall of three steps)
 *   slow-charge          the rise ends (reversal, reconnection after more than a flap) or
 *                        reaches slow-charge.below
 *   intermittent-charge  a whole window passes without another reversal
 *   fast-drain           the recent drain rate is back under the midpoint of 1 and factor
 *   battery-degraded     runtime per charge is back above fraction + 0.05 of early life
 *   sudden-drop          the level is seen back at or above where it fell from
 *   not-holding-charge   a charge from ≥ from lasts longer than `within` without reaching `to`
 *   connection-unstable  a whole window passes without another connect
 *   low-battery          the level is seen at warning + 2 steps (at most warning + 10) or more
 *                        (raised only once a second low report or low-battery.confirm confirms it)
 *   deep-discharge-risk  the level is seen above the empty threshold again
 *
 * Time going backwards: the analyzer runs on its own monotonic timeline (an event older
 * than the last one is taken as happening at the last one's time, and the difference is
 * kept as an offset). Reported times and deadlines are converted back to the log's clock
 * with the offset current when they are reported. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "finding.h"

/* Every threshold, in the units the config file uses: percent, %/h, factors, and
 * durations in milliseconds. analyzer_config_init() gives DESIGN.md's defaults. */
struct analyzer_config {
        bool enabled[_FINDING_KIND_MAX];

        /* [history]: what the analyzer learns and what it assumes before it has */
        double typical_drain_rate;              /* %/h assumed in use until learned (8) */
        unsigned min_charges;                   /* rises before the usual charge rate counts (2) */
        unsigned min_drains;                    /* drains before the drain baseline counts (3) */
        int64_t min_leg_ms;                     /* shortest rise/fall kept in history (20 min) */
        int64_t silence_ms;                     /* a ≥ 2-step change after this much silence hides a gap (30 min) */
        int64_t flap_ms;                        /* a reconnection this soon is a flap, not a gap (2 min) */

        /* [charge-stall] */
        double stall_factor;                    /* flat for this many times a rising step's time (2) */
        double stall_fall_factor;               /* and this many times a falling step's time (1.25) */
        int64_t stall_min_wait_ms;              /* and at least this long (45 min) */
        int stall_below;                        /* only below this level (90) */
        int64_t stall_carry_ms;                 /* a rise carries over a disconnection this short (90 min) */
        double stall_dwell_factor;              /* and this many times the second longest of the latest connected dwells before a fall (1.25) */
        bool stall_one_step;                    /* one step up that holds is a rise, steps ≥ 3 points (yes) */

        /* [slow-charge] */
        int slow_below;                         /* the rise measured below this level (80) */
        double slow_fraction;                   /* of the usual charge rate (0.5) */
        double slow_fallback_rate;              /* %/h threshold with no history (25) */
        int64_t slow_min_duration_ms;           /* sustained for at least (10 min) */
        int slow_min_rise;                      /* and risen at least this many points (3) */

        /* [intermittent-charge] */
        unsigned intermittent_reversals;        /* reversals (3) */
        unsigned intermittent_leg_steps;        /* each leg at least this many steps (2) */
        int64_t intermittent_window_ms;         /* all within (3 h) */

        /* [fast-drain] */
        double fast_drain_factor;               /* recent ≥ factor × baseline (1.8) */
        int64_t fast_drain_min_ms;              /* recent = at least this much in-use drain (2 h) */
        int64_t fast_drain_lookback_ms;         /* taken from the last (2 d) */

        /* [battery-degraded] */
        double degraded_fraction;               /* runtime now ≤ fraction × early life (0.7) */
        unsigned degraded_early;                /* discharges that define early life (16) */
        unsigned degraded_recent;               /* discharges that define now (16) */

        /* [sudden-drop] */
        int sudden_drop_points;                 /* one report falls at least (20) */
        int64_t sudden_drop_within_ms;          /* (or a few reports within this, 15 min) */
        int64_t sudden_drop_confirm_ms;         /* and does not come back within (5 min) */
        double sudden_drop_max_rate;            /* faster than any use could drain, %/h (30) */
        double sudden_drop_drain_factor;        /* or than this many times the learned drain rate (4) */

        /* [not-holding-charge] */
        int not_holding_from;                   /* from ≥ (90) */
        int not_holding_to;                     /* to ≤ (20) */
        int64_t not_holding_within_ms;          /* within (90 min) */
        int64_t not_holding_confirm_ms;         /* one low report waits this long for a second (2 min) */

        /* [connection-unstable] */
        unsigned unstable_connects;             /* connects (5) */
        int64_t unstable_window_ms;             /* within (10 min) */

        /* [low-battery] */
        int low_warning;                        /* ≤ warning (20) */
        int low_critical;                       /* ≤ critical (10) */
        int64_t low_confirm_ms;                 /* one low report waits this long for a second (2 min) */

        /* [deep-discharge-risk] */
        int deep_level;                         /* last seen ≤ (5) */
        int64_t deep_after_ms;                  /* not charged for (3 d) */

        /* [log]: not a threshold — hpmond's retention; the analyzer never reads it */
        int64_t log_keep_ms;                    /* events older than this are compacted (730 d; 0 keeps all) */
};

/* What the analyzer has learned about a device, for status displays (NAN where unknown). */
struct analyzer_figures {
        int connected;                          /* -1 unknown, 0, 1 */
        int level;                              /* last report, -1 none */
        int64_t level_time_ms;                  /* Unix ms of that report */
        int step;                               /* reporting step (quantization), percent */
        double charge_rate;                     /* usual charge rate below slow-charge.below, %/h */
        double drain_rate;                      /* drain rate in use (median of recent discharges), %/h */
        double runtime_h;                       /* runtime per full charge at that drain rate */
        double early_runtime_h;                 /* the same in early life */
        unsigned charges, drains;               /* rises and falls learned from */
};

struct analyzer;

typedef void (*analyzer_finding_cb)(const struct finding *f, void *userdata);

void analyzer_config_init(struct analyzer_config *c);
int analyzer_config_check(const struct analyzer_config *c, const char **ret_problem);

int analyzer_new(const struct analyzer_config *config, const char *device, analyzer_finding_cb cb, void *userdata,
                 struct analyzer **ret);
struct analyzer *analyzer_free(struct analyzer *a);
int analyzer_feed(struct analyzer *a, const struct hpevent *e);
void analyzer_advance(struct analyzer *a, int64_t now_ms);
int64_t analyzer_next_deadline(const struct analyzer *a);
bool analyzer_get_open(const struct analyzer *a, enum finding_kind k, struct finding *ret);
void analyzer_get_figures(const struct analyzer *a, struct analyzer_figures *ret);
