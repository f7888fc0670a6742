/* hpmon — the analyzer core: timeline, connection state, hysteresis, legs, learned history,
 * the table of detectors, and the delivery of findings (see analyzer.h and analyzer-internal.h). */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advice.h"
#include "analyzer-internal.h"

/* Every detector, by kind: the analyzer runs them in this order. */
const struct detector *const analyzer_detectors[_FINDING_KIND_MAX] = {
        [FINDING_CHARGE_STALL] = &detect_charge_stall,
        [FINDING_SLOW_CHARGE] = &detect_slow_charge,
        [FINDING_INTERMITTENT_CHARGE] = &detect_intermittent_charge,
        [FINDING_FAST_DRAIN] = &detect_fast_drain,
        [FINDING_BATTERY_DEGRADED] = &detect_battery_degraded,
        [FINDING_SUDDEN_DROP] = &detect_sudden_drop,
        [FINDING_NOT_HOLDING_CHARGE] = &detect_not_holding_charge,
        [FINDING_CONNECTION_UNSTABLE] = &detect_connection_unstable,
        [FINDING_LOW_BATTERY] = &detect_low_battery,
        [FINDING_DEEP_DISCHARGE_RISK] = &detect_deep_discharge_risk,
};

/* DESIGN.md's defaults; the config file documents each (etc/hpmon.conf, hpmon.conf(5)).
 * One constant, so analyzers made without a config can all point at it. */
static const struct analyzer_config analyzer_config_defaults = {
        .enabled = { [0 ... _FINDING_KIND_MAX - 1] = true },

        .typical_drain_rate = 8.0,
        .min_charges = 2,
        .min_drains = 3,
        .min_leg_ms = 20 * ANALYZER_MINUTE_MS,
        .silence_ms = 30 * ANALYZER_MINUTE_MS,
        .flap_ms = 2 * ANALYZER_MINUTE_MS,

        .stall_factor = 2.0,
        .stall_fall_factor = 1.25,
        .stall_min_wait_ms = 45 * ANALYZER_MINUTE_MS,
        .stall_below = 90,
        .stall_carry_ms = 90 * ANALYZER_MINUTE_MS,
        .stall_one_step = true,
        .stall_dwell_factor = 1.25,

        .slow_below = 80,
        .slow_fraction = 0.5,
        .slow_fallback_rate = 25.0,
        .slow_min_duration_ms = 10 * ANALYZER_MINUTE_MS,
        .slow_min_rise = 3,

        .intermittent_reversals = 3,
        .intermittent_leg_steps = 2,
        .intermittent_window_ms = 3 * ANALYZER_HOUR_MS,

        .fast_drain_factor = 1.8,
        .fast_drain_min_ms = 120 * ANALYZER_MINUTE_MS,
        .fast_drain_lookback_ms = 48 * ANALYZER_HOUR_MS,

        .degraded_fraction = 0.7,
        .degraded_early = 16,
        .degraded_recent = 16,

        .sudden_drop_points = 20,
        .sudden_drop_within_ms = 15 * ANALYZER_MINUTE_MS,
        .sudden_drop_confirm_ms = 5 * ANALYZER_MINUTE_MS,
        .sudden_drop_max_rate = 30.0,
        .sudden_drop_drain_factor = 4.0,

        .not_holding_from = 90,
        .not_holding_to = 20,
        .not_holding_within_ms = 90 * ANALYZER_MINUTE_MS,

        .unstable_connects = 5,
        .unstable_window_ms = 10 * ANALYZER_MINUTE_MS,

        .low_warning = 20,
        .low_critical = 10,
        .low_confirm_ms = 2 * 60 * 1000,
        .not_holding_confirm_ms = 2 * 60 * 1000,

        .deep_level = 5,
        .deep_after_ms = 72 * ANALYZER_HOUR_MS,

        .log_keep_ms = 730 * 24 * ANALYZER_HOUR_MS,
};

/* Fills a config with the defaults. */
void analyzer_config_init(struct analyzer_config *c) {
        *c = analyzer_config_defaults;
}

/* Whether thresholds make sense together; on -EINVAL, *ret_problem names the first that does not. */
int analyzer_config_check(const struct analyzer_config *c, const char **ret_problem) {
        const char *p = NULL;

        if (c->low_critical > c->low_warning)
                p = "low-battery.critical is above low-battery.warning";
        else if (c->not_holding_to >= c->not_holding_from)
                p = "not-holding-charge.to is not below not-holding-charge.from";
        else if (c->degraded_early > ANALYZER_EARLY_MAX || c->degraded_recent > ANALYZER_DRAINS_MAX)
                p = "battery-degraded.early-discharges or recent-discharges is too large";
        else if (c->min_charges > ANALYZER_CHARGES_MAX || c->min_drains > ANALYZER_DRAINS_MAX)
                p = "history.min-charges or min-discharges is too large";
        else if (c->fast_drain_factor <= 1.0)
                p = "fast-drain.factor must be above 1";
        else if (c->intermittent_reversals < 1 || c->intermittent_leg_steps < 1 || c->unstable_connects < 1)
                p = "a count is zero";
        if (p) {
                if (ret_problem)
                        *ret_problem = p;
                return -EINVAL;
        }
        return 0;
}

/* Which enabled detectors see each kind of update (analyzer_notify()). */
static void analyzer_listen(struct analyzer *a) {
        for (unsigned bit = 0; bit < _ANALYZER_SEES_BITS; bit++) {
                a->listeners[bit] = 0;
                for (int k = 0; k < _FINDING_KIND_MAX; k++)
                        if (a->config->enabled[k] && analyzer_detectors[k]->update &&
                            (analyzer_detectors[k]->sees & (1u << bit)))
                                a->listeners[bit] |= (uint16_t) (1u << k);
        }
}

/* Where detector k's state starts in an analyzer's allocation (k = _FINDING_KIND_MAX: its
 * size). One allocation for the analyzer and the ten states: ten mallocs' headers and
 * rounding saved a device, and one free. The states hold integers, doubles, pointers and
 * findings, nothing wider (no long double): they are aligned as the widest of those. */
static size_t analyzer_state_offset(int k) {
        const size_t align = _Alignof(union { int64_t i; double d; void *p; });
        size_t off = (sizeof(struct analyzer) + align - 1) / align * align;

        for (int i = 0; i < k; i++)
                off += (analyzer_detectors[i]->state_size + align - 1) / align * align;
        return off;
}

/* Creates the analyzer of one device. `config` NULL means the defaults; otherwise it is used,
 * not copied, and must outlive the analyzer (devices with the same thresholds share one).
 * `device` may be NULL. */
int analyzer_new(const struct analyzer_config *config, const char *device, analyzer_finding_cb cb, void *userdata,
                 struct analyzer **ret) {
        struct analyzer *a;
        size_t size = analyzer_state_offset(_FINDING_KIND_MAX);

        assert(size <= UINT16_MAX);     /* state_at[] holds offsets within it */
        if (!cb || !ret)
                return -EINVAL;
        if (config && analyzer_config_check(config, NULL) < 0)
                return -EINVAL;
        a = calloc(1, size);
        if (!a)
                return -ENOMEM;
        a->config = config ? config : &analyzer_config_defaults;
        if (device)
                snprintf(a->device, sizeof(a->device), "%s", device);
        a->cb = cb;
        a->userdata = userdata;
        a->connected = -1;
        a->level = -1;
        a->filtered = -1;
        a->pending = -1;
        a->flicker = -1;
        a->step = 1;
        a->due_bound = ANALYZER_NEVER;
        analyzer_listen(a);
        analyzer_ring_init(&a->charges, a->charge_buf, ANALYZER_CHARGES_MAX);
        analyzer_ring_init(&a->drains, a->drain_buf, ANALYZER_DRAINS_MAX);
        for (int k = 0; k < _FINDING_KIND_MAX; k++) {
                const struct detector *d = analyzer_detectors[k];

                a->due[k] = ANALYZER_NEVER;
                a->state_at[k] = (uint16_t) analyzer_state_offset(k);
                if (d->init)
                        d->init(a, analyzer_state(a, k));
        }
        *ret = a;
        return 0;
}

/* Frees an analyzer; accepts NULL, returns NULL. */
struct analyzer *analyzer_free(struct analyzer *a) {
        if (!a)
                return NULL;
        free(a->opens);
        free(a);
        return NULL;
}

/* Milliseconds as hours. */
double analyzer_hours(int64_t ms) {
        return (double) ms / (double) ANALYZER_HOUR_MS;
}

/* The median of n values (NAN for none); selects in a copy, n is small. */
double analyzer_median(const double *v, unsigned n) {
        double s[ANALYZER_DRAINS_MAX + ANALYZER_EARLY_MAX];

        if (n > sizeof(s) / sizeof(s[0]))
                n = sizeof(s) / sizeof(s[0]);
        memcpy(s, v, n * sizeof(s[0]));
        return analyzer_ring_median_of(s, n);
}

/* The device's usual charge rate below slow-charge.below (%/h), learned from connected rises;
 * rises that were themselves slow are left out, so a bad cable does not become the norm. */
bool analyzer_usual_charge_rate(const struct analyzer *a, double *ret) {
        return analyzer_ring_median(&a->charges, 1u << FINDING_SLOW_CHARGE, a->config->min_charges, ret);
}

/* The device's drain rate in use (%/h): the median of its connected falls, leaving out
 * those recorded while an episode in `exclude_flags` was open. */
bool analyzer_drain_baseline(const struct analyzer *a, unsigned exclude_flags, double *ret) {
        return analyzer_ring_median(&a->drains, exclude_flags, a->config->min_drains, ret);
}

/* The rate (%/h) below which a rise is slow: a fraction of the usual charge rate, or before
 * there is one, the fallback rate (raised, never lowered, by half the best lower bound a
 * rise across a gap gave). *ret_usual is the usual rate, or NAN. */
double analyzer_slow_charge_threshold(const struct analyzer *a, double *ret_usual) {
        const struct analyzer_config *c = a->config;
        double usual, t;

        if (analyzer_usual_charge_rate(a, &usual) && usual > 0) {
                *ret_usual = usual;
                return c->slow_fraction * usual;
        }
        *ret_usual = NAN;
        t = c->slow_fallback_rate;
        if (c->slow_fraction * a->gap_charge_bound > t)
                t = c->slow_fraction * a->gap_charge_bound;
        return t;
}

/* How long one step takes falling in use: learned, or from the typical drain rate. */
double analyzer_fall_pace_ms(const struct analyzer *a) {
        double rate;

        if (!analyzer_drain_baseline(a, 1u << FINDING_FAST_DRAIN, &rate) || !(rate > 0))
                rate = a->config->typical_drain_rate;
        if (!(rate > 0))
                rate = 8.0;
        return (double) a->step / rate * (double) ANALYZER_HOUR_MS;
}

/* Steps a leg has moved from where it started. */
unsigned analyzer_leg_steps(const struct analyzer *a, const struct analyzer_leg *leg) {
        if (leg->dir == 0 || leg->boundaries == 0)
                return 0;
        return (unsigned) (abs(leg->l_last - leg->origin) / (a->step > 0 ? a->step : 1));
}

/* A leg's rate between its first and last boundary (%/h, positive), NAN with fewer than two. */
double analyzer_leg_rate(const struct analyzer_leg *leg) {
        if (leg->boundaries < 2 || leg->t_last <= leg->t_first)
                return NAN;
        return (double) abs(leg->l_last - leg->l_first) / analyzer_hours(leg->t_last - leg->t_first);
}

/* A rising leg's charge rate below the knee (%/h) from the median of its latest times per
 * step: a step or two of gauge noise before the charger took over does not drag it down. */
double analyzer_leg_cc_rate(const struct analyzer *a, const struct analyzer_leg *leg) {
        unsigned n = leg->n_cc_steps < ANALYZER_LEG_STEPS_MAX ? leg->n_cc_steps : ANALYZER_LEG_STEPS_MAX;
        double pace = analyzer_median(leg->cc_step_ms, n);

        if (n == 0 || !(pace > 0))
                return NAN;
        return (double) a->step / analyzer_hours((int64_t) pace);
}

/* What analyzer_leg_cc_rate() can be at the least: the rate at the slowest of the leg's latest
 * steps, since their median is no slower (the same arithmetic, monotone in the pace). NAN when
 * there is nothing to bound with. A caller that only asks "slower than x?" is spared the median
 * when even this is not. */
double analyzer_leg_cc_rate_floor(const struct analyzer *a, const struct analyzer_leg *leg) {
        unsigned n = leg->n_cc_steps < ANALYZER_LEG_STEPS_MAX ? leg->n_cc_steps : ANALYZER_LEG_STEPS_MAX;
        double slowest = 0;

        for (unsigned i = 0; i < n; i++) {
                if (isnan(leg->cc_step_ms[i]))
                        return NAN;
                if (leg->cc_step_ms[i] > slowest)
                        slowest = leg->cc_step_ms[i];
        }
        if (!(slowest > 0))
                return NAN;
        return (double) a->step / analyzer_hours((int64_t) slowest);
}

/* Euclid. */
static int analyzer_gcd(int x, int y) {
        while (y) {
                int t = x % y;
                x = y;
                y = t;
        }
        return x;
}

/* Learns the reporting step from the last few changes: their greatest common divisor.
 * A window, not all history, so a firmware update or a new transport can change it.
 * Changes over 20 points (no headset reports coarser steps) say nothing about the step:
 * a collapse or a charge across a gap must not make a 1 % headset look like a 40 % one. */
static void analyzer_learn_step(struct analyzer *a, int delta) {
        int g = 0;

        if (delta <= 0 || delta > 20)
                return;
        a->deltas[a->next_delta] = (int8_t) delta;
        a->next_delta = (uint8_t) ((a->next_delta + 1) % ANALYZER_DELTAS_MAX);
        if (a->n_deltas < ANALYZER_DELTAS_MAX)
                a->n_deltas++;
        /* a divisor of 1 ends the search: most headsets report 1 % steps */
        for (unsigned i = 0; i < a->n_deltas && g != 1 && delta != 1; i++)
                g = analyzer_gcd(a->deltas[i], g);
        a->step = delta == 1 || g <= 0 ? 1 : g;
}

/* A bitmask of the open episodes, stored with history records. */
static unsigned analyzer_open_mask(const struct analyzer *a) {
        unsigned m = 0;

        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                if (a->open[k])
                        m |= 1u << k;
        return m;
}

/* Hands one update to every enabled detector that reacts to it, in table order. */
static void analyzer_notify(struct analyzer *a, const struct analyzer_update *u) {
        unsigned bit = u->what == ANALYZER_LEVEL && u->boundary ? _ANALYZER_SEES_BITS - 1 : (unsigned) u->what;

        for (unsigned m = a->listeners[bit]; m; m &= m - 1) {
                int k = __builtin_ctz(m);

                analyzer_detectors[k]->update(a, analyzer_state(a, k), u);
        }
}

/* Keeps a finished leg in history if it is long enough to say something:
 * falls give the drain rate in use, rises the charge rate below the CV knee. */
static void analyzer_record_leg(struct analyzer *a, const struct analyzer_leg *leg) {
        struct analyzer_record rec = { .t_end = leg->t_last, .flags = (uint16_t) analyzer_open_mask(a) };

        if (leg->dir < 0 && leg->boundaries >= 2) {
                int64_t dur = leg->t_last - leg->t_first;
                int points = leg->l_first - leg->l_last;        /* levels are 0-100 */

                if (dur < a->config->min_leg_ms || points < 2)
                        return;
                rec.points = (int8_t) points;
                rec.hours = analyzer_hours(dur);
                analyzer_ring_push(&a->drains, &rec);
                if (a->n_early < a->config->degraded_early && a->n_early < ANALYZER_EARLY_MAX) {
                        a->n_early++;
                        a->early_points += rec.points;
                        a->early_hours += rec.hours;
                }
        } else if (leg->dir > 0 && leg->cc_boundaries >= 2) {
                int64_t dur = leg->t_cc_last - leg->t_first;
                int points = leg->l_cc_last - leg->l_first;

                if (dur < a->config->min_leg_ms || points < 2)
                        return;
                rec.points = (int8_t) points;
                rec.t_end = leg->t_cc_last;
                rec.hours = analyzer_hours(dur);
                analyzer_ring_push(&a->charges, &rec);
        }
}

/* Ends the current leg, if any: records it, then tells the detectors. */
static void analyzer_end_leg(struct analyzer *a, int64_t t) {
        struct analyzer_leg ended = a->leg;

        if (a->leg.dir == 0) {
                a->leg = (struct analyzer_leg) { .origin = a->filtered };
                return;
        }
        analyzer_record_leg(a, &ended);
        a->leg = (struct analyzer_leg) { .origin = a->filtered };
        analyzer_notify(a, &(struct analyzer_update) { .what = ANALYZER_LEG_END, .t = t, .leg = &ended });
}

/* The filtered level crossed into step `v` at `t`. */
static void analyzer_boundary(struct analyzer *a, int64_t t, int v) {
        struct analyzer_leg *L = &a->leg;

        if (L->boundaries == 0) {
                L->t_first = t;
                L->l_first = v;
        } else {
                int s = a->step > 0 ? a->step : 1;
                double last = (double) (t - L->t_last) / ((double) abs(v - L->l_last) / s);
                double avg = (double) (t - L->t_first) / ((double) abs(v - L->l_first) / s);

                L->pace_ms = last > avg ? last : avg;
        }
        L->t_last = t;
        L->l_last = v;
        L->boundaries++;
        if (L->dir > 0 && v <= a->config->slow_below && L->cc_boundaries + 1 == L->boundaries) {
                if (L->cc_boundaries > 0) {
                        int s = a->step > 0 ? a->step : 1;

                        L->cc_step_ms[L->n_cc_steps % ANALYZER_LEG_STEPS_MAX] =
                                (double) (t - L->t_cc_last) / ((double) abs(v - L->l_cc_last) / s);
                        L->n_cc_steps++;
                }
                L->cc_boundaries++;
                L->t_cc_last = t;
                L->l_cc_last = v;
        }
        a->filtered = v;
        a->pending = -1;
        a->flicker = -1;
}

/* A discontinuity inside a connection (time went back, the daemon resynced, a hidden gap):
 * ends the leg, and the next report starts afresh as if after a reconnection. */
static void analyzer_break(struct analyzer *a, int64_t t) {
        analyzer_end_leg(a, t);
        a->in_run = false;
        a->connect_logged = false;
        a->pending = -1;
        a->flicker = -1;
        analyzer_notify(a, &(struct analyzer_update) { .what = ANALYZER_BREAK, .t = t });
}

/* Starts a connection. */
/* Starts a connection. One that comes back within history.flap of a disconnect is a flap:
 * the link dropped for a moment, the headset and its charger did not, so the run of levels
 * and the leg in progress carry on. Otherwise the leg ends here (not at the disconnect, so
 * that a flap never cuts it) and the next report starts a new run. */
static void analyzer_connect(struct analyzer *a, int64_t t, bool implicit) {
        bool flap = a->in_run && a->connected == 0 && t - a->disconnected_since <= a->config->flap_ms;

        if (!flap) {
                analyzer_end_leg(a, t);
                a->in_run = false;
                a->connected_since = t;
                a->connect_logged = !implicit;
        }
        a->connected = 1;
        a->pending = -1;
        a->flicker = -1;
        analyzer_notify(a, &(struct analyzer_update) { .what = ANALYZER_CONNECT, .t = t, .implicit = implicit,
                                                       .flap = flap });
}

/* A connected event. connected=1 while connected means the writer lost track (a restart,
 * a re-read): whatever happened meanwhile is unknown, so it is a break, not a connect. */
static void analyzer_connected_event(struct analyzer *a, int64_t t, int value) {
        if (value) {
                if (a->connected == 1)
                        analyzer_break(a, t);
                else
                        analyzer_connect(a, t, false);
                return;
        }
        if (a->connected == 0)
                return;
        a->connected = 0;
        a->disconnected_since = t;
        a->pending = -1;
        a->flicker = -1;
        analyzer_notify(a, &(struct analyzer_update) { .what = ANALYZER_DISCONNECT, .t = t });
}

/* The first report of a run: a level, not a boundary (the level did not just cross into it).
 * A rise since the last known level proves a charge happened across the gap, at no less
 * than rise / gap: kept as a lower bound on the charge rate. */
static void analyzer_first_report(struct analyzer *a, int64_t t, int v, struct analyzer_update *u) {
        int prev = a->level;

        if (prev >= 0 && a->level_valid_time && v != prev && !u->same_connection) {
                int64_t gap = t - a->level_time;

                analyzer_learn_step(a, abs(v - prev));
                if (v - prev >= 2 * a->step && gap >= 10 * ANALYZER_MINUTE_MS) {
                        double bound = (v - prev) / analyzer_hours(gap);

                        if (bound > a->gap_charge_bound)
                                a->gap_charge_bound = bound;
                }
        }
        a->level = v;
        a->level_time = t;
        a->level_valid_time = true;
        a->in_run = true;
        a->filtered = v;
        a->pending = -1;
        a->flicker = -1;
        a->last_move = t;
        a->leg = (struct analyzer_leg) { .origin = v };
        u->first = true;
        u->moved = true;
        analyzer_notify(a, u);
}

/* Returns -1, 0 or +1. */
static int analyzer_sign(int x) {
        return (x > 0) - (x < 0);
}

/* A change report within a run: the hysteresis. A move in the leg's direction is a boundary;
 * one step against it is held as pending (flicker) and only a second step confirms a
 * reversal, whose first boundary is then the pending report's time. */
static void analyzer_change(struct analyzer *a, int64_t t, int v, struct analyzer_update *u) {
        int s = a->step, dir = a->leg.dir, towards = analyzer_sign(v - a->filtered);

        a->level = v;
        a->level_time = t;
        if (dir == 0) {
                a->leg.dir = towards;
                a->leg.origin = a->filtered;
                analyzer_boundary(a, t, v);
                u->boundary = u->moved = true;
        } else if (towards == dir) {
                analyzer_boundary(a, t, v);
                u->boundary = u->moved = true;
        } else if (towards == 0) {
                /* back to the filtered level: flicker. The level has just crossed into
                 * this step again, so this is the latest boundary into it: time steps
                 * from here, not from a crossing the flicker has since undone. */
                if (a->pending >= 0)
                        a->flicker = a->pending;
                a->pending = -1;
                if (a->leg.boundaries == 1) {
                        a->leg.t_first = t;
                        if (a->leg.cc_boundaries == 1)
                                a->leg.t_cc_last = t;
                }
                if (a->leg.boundaries >= 1) {
                        a->leg.t_last = t;
                        if (a->leg.cc_boundaries == a->leg.boundaries)
                                a->leg.t_cc_last = t;
                }
        } else if (abs(v - a->filtered) >= 2 * s) {
                int pend = a->pending;
                int64_t pend_t = a->pending_time;
                bool use_pending = pend >= 0 && analyzer_sign(pend - a->filtered) == towards &&
                                   abs(pend - a->filtered) < abs(v - a->filtered);

                analyzer_end_leg(a, t);
                a->leg.dir = towards;
                a->leg.origin = a->filtered;
                if (use_pending)
                        analyzer_boundary(a, pend_t, pend);
                analyzer_boundary(a, t, v);
                u->boundary = u->moved = true;
        } else {
                u->moved = v != a->flicker && v != a->pending;
                a->pending = v;
                a->pending_time = t;
                a->flicker = v;
        }
        if (u->moved)
                a->last_move = t;
        analyzer_notify(a, u);
}

/* A battery event: implies a connection; then a first report, a duplicate, or a change. */
static void analyzer_battery_event(struct analyzer *a, int64_t t, int v) {
        struct analyzer_update u = {
                .what = ANALYZER_LEVEL,
                .t = t,
                .level = v,
                .prev_level = a->level,
                .prev_time = a->level_time,
        };

        if (a->connected != 1)
                analyzer_connect(a, t, true);
        if (!a->in_run && a->connect_logged && a->level >= 0 && a->level_valid_time && v != a->level &&
            t - a->connected_since >= ANALYZER_CONNECT_REPORT_MS) {
                /* no line at the connect: the level then was the last one logged */
                a->in_run = true;
                a->level_time = a->connected_since;
                a->filtered = a->level;
                a->pending = -1;
                a->flicker = -1;
                a->last_move = a->connected_since;
                a->leg = (struct analyzer_leg) { .origin = a->level };
                u.prev_time = a->connected_since;
        }
        u.same_connection = a->in_run && a->level_valid_time;
        if (!a->in_run) {
                analyzer_first_report(a, t, v, &u);
                return;
        }
        if (v == a->level)
                return;         /* the same level again: nothing new */
        analyzer_learn_step(a, abs(v - a->level));
        if (abs(v - a->level) >= 2 * a->step && t - a->level_time >= a->config->silence_ms) {
                /* steps skipped after a long silence: the writer missed something (a daemon
                 * down, a host asleep): a gap as far as rates go, a report as far as levels go */
                analyzer_end_leg(a, t);
                analyzer_first_report(a, t, v, &u);
                return;
        }
        analyzer_change(a, t, v, &u);
}

/* Fires every timer due at or before `until`, earliest first (ties: table order). */
static void analyzer_run_timers(struct analyzer *a, int64_t until) {
        for (;;) {
                int64_t earliest = ANALYZER_NEVER;
                int best = -1;

                if (a->due_bound > until)
                        return;         /* nothing can be due: every timer is at or after the bound */
                for (int k = 0; k < _FINDING_KIND_MAX; k++) {
                        if (a->due[k] <= until && (best < 0 || a->due[k] < a->due[best]))
                                best = k;
                        if (a->due[k] < earliest)
                                earliest = a->due[k];
                }
                if (best < 0) {
                        a->due_bound = earliest;
                        return;
                }
                int64_t due = a->due[best];
                a->due[best] = ANALYZER_NEVER;
                if (due > a->now)
                        a->now = due;
                if (a->config->enabled[best] && analyzer_detectors[best]->timer)
                        analyzer_detectors[best]->timer(a, analyzer_state(a, best), due);
        }
}

/* Feeds one event. Timers due before it fire first. An event older than the last is taken
 * as happening now (the clock went back) and breaks any rise or fall in progress; an exact
 * repeat of the last line is ignored. -EINVAL for an event the analyzer does not know. */
int analyzer_feed(struct analyzer *a, const struct hpevent *e) {
        int64_t t;

        if (!a || !e || !event_value_valid(e->kind, e->value))
                return -EINVAL;
        if (e->kind != EVENT_CONNECTED && e->kind != EVENT_BATTERY)
                return 0;       /* the owner's own events (ack, mute) say nothing about the battery */
        if (a->have_last && a->last.time_ms == e->time_ms && a->last.kind == e->kind && a->last.value == e->value)
                return 0;
        a->last = *e;
        a->have_last = true;

        t = e->time_ms + a->offset;
        if (!a->started) {
                a->started = true;
                a->now = t;
        }
        if (t < a->now) {
                a->offset += a->now - t;
                t = a->now;
                a->level_valid_time = false;
                if (a->connected == 1 || a->in_run)
                        analyzer_break(a, t);
        }
        analyzer_run_timers(a, t);
        a->now = t;

        if (e->kind == EVENT_CONNECTED)
                analyzer_connected_event(a, t, e->value);
        else
                analyzer_battery_event(a, t, e->value);
        return 0;
}

/* Moves time on to `now_ms` (log clock), firing the timers due by then. Earlier than the
 * analyzer's time (before any event, or a clock gone back) is a no-op. */
void analyzer_advance(struct analyzer *a, int64_t now_ms) {
        int64_t t;

        if (!a || !a->started)
                return;
        t = now_ms + a->offset;
        if (t < a->now)
                return;
        analyzer_run_timers(a, t);
        a->now = t;
}

/* When advance() next has something to do (log clock), INT64_MAX if nothing is pending. */
int64_t analyzer_next_deadline(const struct analyzer *a) {
        int64_t best = ANALYZER_NEVER;

        if (!a)
                return ANALYZER_NEVER;
        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                if (a->due[k] < best)
                        best = a->due[k];
        return best == ANALYZER_NEVER ? ANALYZER_NEVER : best - a->offset;
}

/* Arms (or, with ANALYZER_NEVER, disarms) a detector's one timer. A due time in the past
 * fires at the next feed or advance, with its own due time as the finding's time. */
void analyzer_arm(struct analyzer *a, enum finding_kind k, int64_t due) {
        if (k < 0 || k >= _FINDING_KIND_MAX)
                return;
        a->due[k] = due < a->now && due != ANALYZER_NEVER ? a->now : due;
        if (a->due[k] < a->due_bound)
                a->due_bound = a->due[k];
}

/* Fills a finding's fixed fields; `t` is on the analyzer's timeline. */
void analyzer_finding_init(const struct analyzer *a, enum finding_kind k, enum finding_severity s, int64_t t,
                           struct finding *ret) {
        *ret = (struct finding) {
                .kind = k,
                .state = FINDING_RAISED,
                .severity = s,
                .time_ms = t - a->offset,
                .advice = advice_for(k),
        };
        memcpy(ret->device, a->device, sizeof(ret->device));
}

/* Open episode k's slot in a->opens: the one it has, or a new one, inserted in kind order;
 * NULL without memory. */
static struct analyzer_open *analyzer_open_add(struct analyzer *a, enum finding_kind k) {
        struct analyzer_open *o = analyzer_open_find(a, k);
        unsigned n = (unsigned) __builtin_popcount(a->open_packed), at;

        if (o)
                return o;
        o = realloc(a->opens, (n + 1) * sizeof(*o));
        if (!o)
                return NULL;
        at = analyzer_open_slot(a, k);
        memmove(o + at + 1, o + at, (n - at) * sizeof(*o));
        a->opens = o;
        a->open_packed |= (uint16_t) (1u << k);
        return o + at;
}

/* Takes open episode k's packed finding, if it has one, out of a->opens. */
static void analyzer_open_drop(struct analyzer *a, enum finding_kind k) {
        unsigned n = (unsigned) __builtin_popcount(a->open_packed), at;
        struct analyzer_open *o;

        if (!(a->open_packed & (1u << k)))
                return;
        at = analyzer_open_slot(a, k);
        memmove(a->opens + at, a->opens + at + 1, (n - at - 1) * sizeof(*a->opens));
        a->open_packed &= (uint16_t) ~(1u << k);
        if (n == 1) {
                free(a->opens);
                a->opens = NULL;
                return;
        }
        o = realloc(a->opens, (n - 1) * sizeof(*o));
        if (o)
                a->opens = o;   /* a shrink that failed leaves the bigger block, still right */
}

/* Opens (or escalates) an episode and delivers the finding. */
void analyzer_raise(struct analyzer *a, struct finding *f) {
        struct analyzer_open *o;

        f->state = FINDING_RAISED;
        a->open[f->kind] = true;
        a->open_severity[f->kind] = (uint8_t) f->severity;
        o = analyzer_open_add(a, f->kind);
        if (o)
                analyzer_open_pack(f, o);
        a->cb(f, a->userdata);
}

/* Packs the finding that opens or escalates an episode (its names are finding.c's own).
 * Padding is zeroed too: a checkpoint saves the struct as bytes. */
void analyzer_open_pack(const struct finding *f, struct analyzer_open *ret) {
        memset(ret, 0, sizeof(*ret));
        ret->time_ms = f->time_ms;
        ret->n_evidence = (uint8_t) finding_evidence_pack(f->evidence, f->n_evidence, ret->name, ret->value);
        assert(ret->n_evidence == (f->n_evidence < FINDING_EVIDENCE_MAX ? f->n_evidence : FINDING_EVIDENCE_MAX));
}

/* The finding open episode k was packed from (state RAISED); without its packed finding
 * (no memory at the raise), one with no evidence. */
void analyzer_open_unpack(const struct analyzer *a, enum finding_kind k, struct finding *ret) {
        const struct analyzer_open *o = analyzer_open_find(a, k);

        *ret = (struct finding) {
                .kind = k,
                .state = FINDING_RAISED,
                .severity = (enum finding_severity) a->open_severity[k],
                .time_ms = o ? o->time_ms : 0,
                .n_evidence = o ? o->n_evidence : 0,
                .advice = advice_for(k),
        };
        memcpy(ret->device, a->device, sizeof(ret->device));
        if (o)
                finding_evidence_unpack(o->name, o->value, o->n_evidence, ret->evidence);
}

/* analyzer_clear() of an open episode: out of line, so that the call detectors make at
 * every update for an episode that is not open stays a test and a return (no frame). */
static __attribute__((noinline)) void analyzer_clear_open(struct analyzer *a, enum finding_kind k, int64_t t) {
        struct finding f;

        analyzer_open_unpack(a, k, &f);
        f.state = FINDING_CLEARED;
        f.time_ms = t - a->offset;
        a->open[k] = false;
        analyzer_open_drop(a, k);
        a->cb(&f, a->userdata);
}

/* Closes an open episode at `t`, repeating the evidence it was raised with. */
void analyzer_clear(struct analyzer *a, enum finding_kind k, int64_t t) {
        if (a->open[k])
                analyzer_clear_open(a, k, t);
}

/* The finding that opened (or last escalated) an open episode; false if none is open.
 * A daemon that replays a log at start-up learns from this which alerts stand. */
bool analyzer_get_open(const struct analyzer *a, enum finding_kind k, struct finding *ret) {
        if (!a || !analyzer_is_open(a, k))
                return false;
        if (ret)
                analyzer_open_unpack(a, k, ret);
        return true;
}

/* What the analyzer has learned about its device. */
void analyzer_get_figures(const struct analyzer *a, struct analyzer_figures *ret) {
        double early = a->early_hours > 0 ? a->early_points / a->early_hours : NAN, drain = NAN, charge = NAN;

        (void) analyzer_drain_baseline(a, 0, &drain);
        (void) analyzer_usual_charge_rate(a, &charge);
        *ret = (struct analyzer_figures) {
                .connected = a->connected,
                .level = a->level,
                .level_time_ms = a->level >= 0 ? a->level_time - a->offset : 0,
                .step = a->step,
                .charge_rate = charge,
                .drain_rate = drain,
                .runtime_h = drain > 0 ? 100.0 / drain : NAN,
                .early_runtime_h = early > 0 && a->n_early >= a->config->min_drains ? 100.0 / early : NAN,
                .charges = analyzer_ring_size(&a->charges),
                .drains = analyzer_ring_size(&a->drains),
        };
}
