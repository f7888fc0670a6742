/* hpmon — charge-stall: the level was rising, then neither rises nor falls for much longer
 * than this device takes per step, rising or falling, below 90 %.
 *
 * A rise is the core's rising leg with a whole step interval (two boundaries), at least
 * two steps and 3 points up, at a charging pace (half slow-charge's threshold or more: a
 * 1 % gauge wandering up two points while idle is not charging); its last boundary is the
 * peak, and the flat time counts from the peak.
 *
 * A one-step rise (charge-stall.one-step) counts too on gauges of 3-point steps or more,
 * where a charge that stalls a step above where it began shows nothing else: the first move
 * of a run (a level held since the connection) is a step up, and it holds. Its pace is
 * unknown from one boundary, so the rising wait takes the device's usual charge rate, or
 * before it has one the slowest that is not slow (slow-charge's threshold); the falling wait
 * is any rise's. Back at the level it rose from, it was flicker (or a fall) and is forgotten.
 * A step up against a falling leg is never one: that is how a gauge that reads low under
 * load rebounds when the use ends, or flicker at the edge it just fell through, and
 * measured it costs more false alarms than it finds stalls (bench/RESULTS.md).
 *
 * Flicker above a plateau: a gauge stalled just under a step's edge (a 10 % gauge at 84)
 * reads the next step now and then. The core takes that as a boundary of the rising leg,
 * and as a new peak it would restart the count at a pace slower than the charge ever was.
 * So on gauges of 3-point steps or more, a step up that comes after the level has sat at the
 * peak, without a report, for charge-stall.factor rising steps (the rise had stopped by its
 * own pace; not merely since it came back there from flicker) is a new peak that remembers
 * the plateau; back at the plateau, the step up was flicker, and the plateau's count goes
 * on. The next report of the step above is flicker too (the core's filtered level, no
 * boundary): only a second step up makes it a rise again. (At 1 % steps a charge slowing
 * above 80 % does exactly this, and must restart the count.)
 *
 * Why both paces: a charger pulled a moment u after the step up leaves the level flat until
 * it has drained back through that step's edge, u × (1 + falling/rising step time) later:
 * at most one rising plus one falling step. So the wait is the longest of
 * charge-stall.factor rising steps, charge-stall.fall-factor falling steps (or the dwell
 * floor below) and charge-stall.min-wait; and a level a step below the peak when the wait runs out has
 * drained back through that edge, so it is not raised then (a stalled gauge that flickered
 * down is raised when it comes back).
 *
 * What the falling side's floors are for, a headset unplugged after a step up and left on,
 * idle (it drains at about 0.6 of its in-use pace): charge-stall.dwell-factor times the second
 * longest of the device's latest connected dwells below charge-stall.below that ended in a step
 * down (detect_charge_stall_dwell_ms(): the device's own idle and light-use time per step,
 * which the in-use pace, or the 8 %/h default on coarse gauges, does not say), and
 * charge-stall.min-wait, 45 min: a 1 % gauge shows a fall past its one-step flicker only after
 * about two idle steps.
 *
 * Flicker: a stalled gauge wanders a step either side of where it stopped, and the core's
 * hysteresis may read a wander of two steps as a fall. So two steps below the peak only
 * suspends the count: back at the peak before going three steps below it, the level was
 * flat all along and the count resumes (a stall already due is then raised at once);
 * three steps below, it was a real fall and the rise is forgotten. One step below the peak
 * is flicker and does not suspend (nor does it resume a suspended count, unless the level
 * has wandered between one and two steps below for charge-stall.factor falling steps' time
 * without going further: then the peak was a flicker above a plateau, which becomes the
 * peak); "below 90 %" is judged on that lower level (a 10 % gauge stalled at 85 reads 80 and
 * 90 in turn). A flap (history.flap) keeps all this: the headset did not leave
 * the charger for a link that dropped for seconds.
 *
 * Silence is not a stall: only a rise seen while connected starts the count, so a headset
 * silent on the charger that jumps to 100 on reconnection never does. A count goes on over
 * a short disconnection (a host's nap, charge-stall.carry-over) when the level comes back
 * where it was after long enough that a charge going on would have shown: see
 * detect_charge_stall_reconnect(). The episode ends with the next move: a new peak or a
 * real fall. */
#include "analyzer-internal.h"

#define STALL_DWELLS 8

/* A peak and what the count from it needs: the current one, and the plateau a late step up
 * left (see the top), saved and restored whole. */
struct detect_charge_stall_plateau {
        int64_t flat_since;     /* the peak's time */
        double rise_pace_ms;
        int peak;               /* last rising boundary; -1 in prev: none */
        int start;              /* where the rise began */
        int low;                /* lowest level since the peak, while within a step of it */
        bool single;            /* the rise is one step up from `start`, and nothing more yet */
};

/* Widest first, padding zero (the analyzer's allocation is calloc'd and fields are assigned
 * one by one, or whole plateaus copied). A field more or less: bump CHECKPOINT_VERSION (the
 * assertions below the struct fail first). */
struct detect_charge_stall_state {
        struct detect_charge_stall_plateau cur, prev;
        double fall_pace_ms;
        int64_t suspended_since;
        int64_t away_ms;        /* disconnected time since the peak (reconnections carried over) */
        int64_t dwell_since;            /* when the filtered level became dwell_level, in this connection */
        uint32_t dwell_s[STALL_DWELLS]; /* the latest dwells that ended in a fall, seconds (ring, 0 unused) */
        int dwell_level;                /* the filtered level being dwelt at, if dwelling */
        unsigned dwell_next;            /* next slot of dwell_s */
        bool rising;            /* a rise was seen and not undone by a real fall */
        bool suspended;         /* the level is below the peak (a fall or flicker) */
        bool carried;           /* the peak was seen in an earlier connection than this one */
        bool dwelling;          /* dwell_level and dwell_since hold this connection's level */
};
_Static_assert(sizeof(struct detect_charge_stall_plateau) == 32, "checkpoint layout: bump CHECKPOINT_VERSION");
_Static_assert(sizeof(struct detect_charge_stall_state) == 144, "checkpoint layout: bump CHECKPOINT_VERSION");

/* The second longest of the times the level has recently held while connected, below
 * charge-stall.below, before falling a step (ms; 0 with fewer than two): how long this device
 * has shown a level can sit still off the charger, idle or in light use, which the learned
 * falling pace (in use, and often the default on coarse gauges that rarely show two falling
 * boundaries in a connection) does not say. Not the longest, so that one odd dwell does not
 * set it. */
static double detect_charge_stall_dwell_ms(const struct detect_charge_stall_state *st) {
        uint32_t first = 0, second = 0;     /* the longest, the second longest */

        for (unsigned i = 0; i < STALL_DWELLS; i++) {
                if (st->dwell_s[i] > first) {
                        second = first;
                        first = st->dwell_s[i];
                } else if (st->dwell_s[i] > second)
                        second = st->dwell_s[i];
        }
        return second * 1000.0;
}

/* Follows the filtered level's dwells while connected (see detect_charge_stall_dwell_ms()): a
 * dwell that ends in a step down is recorded, unless a stall was raised meanwhile (an unplug
 * after a stall says how long the stall lasted, not how long the device takes to drain). */
static void detect_charge_stall_dwell(struct analyzer *a, struct detect_charge_stall_state *st,
                                      const struct analyzer_update *u) {
        if (a->connected != 1 || a->filtered < 0) {
                st->dwelling = false;
                return;
        }
        if (st->dwelling && a->filtered == st->dwell_level)
                return;
        if (st->dwelling && !u->first && a->filtered < st->dwell_level && st->dwell_level < a->config->stall_below &&
            u->t > st->dwell_since && !analyzer_is_open(a, FINDING_CHARGE_STALL)) {
                int64_t d = (u->t - st->dwell_since) / 1000;

                st->dwell_s[st->dwell_next] = d > UINT32_MAX ? UINT32_MAX : (uint32_t) (d > 0 ? d : 1);
                st->dwell_next = (st->dwell_next + 1) % STALL_DWELLS;
        }
        st->dwelling = true;
        st->dwell_level = a->filtered;
        st->dwell_since = u->t;
}

/* Arms the timer from the peak when counting, else disarms it. Time away (disconnected)
 * counts towards the rising steps' wait, since a charge goes on whether connected or not,
 * but not towards the falling steps' wait or min-wait: a gap says nothing about drain. */
static void detect_charge_stall_rearm(struct analyzer *a, struct detect_charge_stall_state *st) {
        double rise, fall, dwell;
        int64_t due;

        if (!st->rising || st->suspended || a->connected != 1 || st->cur.low >= a->config->stall_below ||
            analyzer_is_open(a, FINDING_CHARGE_STALL)) {
                analyzer_arm(a, FINDING_CHARGE_STALL, ANALYZER_NEVER);
                return;
        }
        st->fall_pace_ms = analyzer_fall_pace_ms(a);
        rise = a->config->stall_factor * st->cur.rise_pace_ms;
        fall = a->config->stall_fall_factor * st->fall_pace_ms;
        if (fall < (double) a->config->stall_min_wait_ms)
                fall = (double) a->config->stall_min_wait_ms;
        dwell = a->config->stall_dwell_factor * detect_charge_stall_dwell_ms(st);
        if (fall < dwell)
                fall = dwell;
        fall += (double) st->away_ms;
        due = st->cur.flat_since + (int64_t) (rise > fall ? rise : fall);
        /* carried over a reconnection with no line yet: the level is the last one logged only
         * once a line at the connect would have come (analyzer-internal.h) */
        if (st->carried && !a->in_run && due < a->connected_since + ANALYZER_CONNECT_REPORT_MS)
                due = a->connected_since + ANALYZER_CONNECT_REPORT_MS;
        analyzer_arm(a, FINDING_CHARGE_STALL, due);
}

/* Takes the level as the new peak at `t` (closing any open episode), flat since `flat`. */
static void detect_charge_stall_peak(struct analyzer *a, struct detect_charge_stall_state *st, int64_t t, int64_t flat) {
        analyzer_clear(a, FINDING_CHARGE_STALL, t);
        st->rising = true;
        st->suspended = false;
        st->carried = false;
        st->cur.single = false;
        st->prev.peak = -1;
        st->cur.peak = st->cur.low = a->filtered;
        st->cur.flat_since = flat;
        st->away_ms = 0;
}

/* The rise is over: the level moved away from the peak, closing any open episode at `t`. */
static void detect_charge_stall_forget(struct analyzer *a, struct detect_charge_stall_state *st, int64_t t) {
        analyzer_clear(a, FINDING_CHARGE_STALL, t);
        st->rising = false;
        st->carried = false;
        st->prev.peak = -1;
}

/* A reconnection after more than a flap: a host that slept, or a headset switched off and
 * on. The level is the last one logged until a line says otherwise (writers log a level only
 * when it changes). The rise is carried over when that level is within a step of the peak
 * and the time away is at least charge-stall.factor rising steps, so that a charge going on
 * would have shown as a rise (the level unchanged says it did not charge), and at most
 * charge-stall.carry-over: a host's nap, not a night or a headset put away after an unplug,
 * which leave the level where it was just the same. The time away then counts as flat for
 * the rising pace, not for the falling one. */
static void detect_charge_stall_reconnect(struct analyzer *a, struct detect_charge_stall_state *st, int64_t t) {
        int s = a->step > 0 ? a->step : 1;
        int64_t away = t - a->disconnected_since;

        if (!st->rising)
                return;
        if (a->level < st->cur.peak - s || a->level > st->cur.peak + s || away < 0 || away > a->config->stall_carry_ms ||
            (double) away < a->config->stall_factor * st->cur.rise_pace_ms) {
                st->rising = false;
                st->carried = false;
                return;
        }
        st->carried = true;
        st->away_ms += away;
        if (st->suspended)
                st->suspended_since += away;    /* a plateau is timed while connected too */
}

/* Whether the core's current leg is a rise that can stall. */
static bool detect_charge_stall_is_rise(const struct analyzer *a) {
        const struct analyzer_leg *L = &a->leg;
        int risen = a->filtered - L->origin;
        double usual;

        return L->dir > 0 && L->boundaries >= 2 && risen >= 2 * a->step && risen >= 3 &&
               analyzer_leg_rate(L) >= 0.5 * analyzer_slow_charge_threshold(a, &usual);
}

/* Whether this report is a one-step rise (see the top): the first move of a run (since the
 * connection, or a gap within it) is a step up, on a gauge whose steps are 3 points or more.
 * Exactly one step: a leg of one boundary that rose more is a jump in one report, most often
 * the reversal of a fall (the core starts a leg on its first move, or on two steps at once).
 * Sets *ret_pace_ms to the time a step takes at the device's usual charge rate, or at
 * slow-charge's threshold before it has one. */
static bool detect_charge_stall_is_step_rise(const struct analyzer *a, const struct analyzer_update *u,
                                             double *ret_pace_ms) {
        const struct analyzer_leg *L = &a->leg;
        double usual, rate;

        if (!a->config->stall_one_step || u->first || !u->same_connection || !u->boundary || a->step < 3 ||
            L->dir <= 0 || L->boundaries != 1 || a->filtered - L->origin != a->step)
                return false;
        rate = analyzer_slow_charge_threshold(a, &usual);
        if (usual > 0)
                rate = usual;
        if (!(rate > 0))
                return false;
        *ret_pace_ms = (double) a->step / rate * (double) ANALYZER_HOUR_MS;
        return true;
}

/* Follows rises, falls, flaps and reconnections. */
static void detect_charge_stall_update(struct analyzer *a, void *state, const struct analyzer_update *u) {
        struct detect_charge_stall_state *st = state;
        int s = a->step > 0 ? a->step : 1;
        double pace;

        switch (u->what) {
        case ANALYZER_DISCONNECT:
                break;
        case ANALYZER_CONNECT:
                if (!u->flap) {
                        st->dwelling = false;
                        detect_charge_stall_reconnect(a, st, u->t);
                }
                break;
        case ANALYZER_BREAK:
                st->rising = false;
                st->carried = false;
                st->dwelling = false;
                break;
        case ANALYZER_LEG_END:
                break;
        case ANALYZER_LEVEL:
                detect_charge_stall_dwell(a, st, u);
                if (detect_charge_stall_is_rise(a) && a->filtered > (st->rising ? st->cur.peak : -1) &&
                    (u->boundary || !st->rising || a->filtered > st->cur.peak + s)) {
                        /* a new peak (a report one step above the peak that is no boundary is
                         * flicker above a plateau, see the top); a late step up may be flicker
                         * too: the plateau is remembered */
                        bool late = a->step >= 3 && st->rising && !st->carried && !st->suspended &&
                                    a->filtered == st->cur.peak + s && u->prev_level == st->cur.peak &&
                                    u->t - u->prev_time >= (int64_t) (a->config->stall_factor * st->cur.rise_pace_ms);
                        struct detect_charge_stall_plateau plateau;

                        memcpy(&plateau, &st->cur, sizeof(plateau));    /* padding too: checkpoints are bytes */

                        if (!st->rising)
                                st->cur.start = a->leg.origin;
                        detect_charge_stall_peak(a, st, u->t, a->leg.t_last);
                        st->cur.rise_pace_ms = a->leg.pace_ms;
                        if (late)
                                memcpy(&st->prev, &plateau, sizeof(plateau));
                } else if (st->rising && st->prev.peak >= 0 && u->level == st->prev.peak) {
                        /* back at the plateau a late step up left: that step was flicker, and
                         * the count goes on from the plateau's (a stall due is raised at once) */
                        analyzer_clear(a, FINDING_CHARGE_STALL, u->t);
                        memcpy(&st->cur, &st->prev, sizeof(st->cur));
                        if (u->level < st->cur.low)
                                st->cur.low = u->level;
                        st->suspended = false;
                        st->prev.peak = -1;
                } else if (!st->rising && detect_charge_stall_is_step_rise(a, u, &pace)) {
                        /* one step up from a level held since the connection */
                        st->cur.start = a->leg.origin;
                        detect_charge_stall_peak(a, st, u->t, u->t);
                        st->cur.single = true;
                        st->cur.rise_pace_ms = pace;
                } else if (st->rising && st->cur.single && u->level <= st->cur.start) {
                        /* back where a one-step rise began: it was flicker, or it fell */
                        detect_charge_stall_forget(a, st, u->t);
                } else if (st->carried && u->first && (u->level >= st->cur.peak + 2 * s || u->level <= st->cur.peak - 2 * s)) {
                        /* moved while away: charged out of sight (a rise seen only across a gap
                         * starts no count), or used elsewhere */
                        detect_charge_stall_forget(a, st, u->t);
                } else if (st->carried && u->first && u->level > st->cur.peak) {
                        /* a step higher at the reconnection: the charge went on while away, so
                         * the flat time counts from now. A step up later on is flicker, as a
                         * step down is */
                        detect_charge_stall_peak(a, st, u->t, u->t);
                } else if (st->rising && u->level <= st->cur.peak - 3 * s) {
                        /* a real fall: the charger was pulled, or charging reversed */
                        detect_charge_stall_forget(a, st, u->t);
                } else if (st->rising && u->level <= st->cur.peak - 2 * s) {
                        if (!st->suspended)
                                st->suspended_since = u->t;
                        st->suspended = true;
                } else if (st->rising) {
                        if (u->level >= st->cur.peak)
                                st->suspended = false;
                        else if (st->suspended &&
                                 u->t - st->suspended_since >= (int64_t) (a->config->stall_factor * analyzer_fall_pace_ms(a))) {
                                /* charge-stall.factor falling steps' time between two levels and
                                 * never a third step down: a plateau a step lower, not a fall (the
                                 * peak was flicker). One falling step's time is not enough: a
                                 * headset unplugged and idle drains slower than in use */
                                st->cur.peak -= s;
                                st->suspended = false;
                        }
                        if (u->level < st->cur.low)
                                st->cur.low = u->level;
                }
                break;
        }
        detect_charge_stall_rearm(a, st);
}

/* Flat for the whole wait: a stall, timed when the wait ran out (or, if the level was
 * wandering below the peak then, when it came back). */
static void detect_charge_stall_timer(struct analyzer *a, void *state, int64_t due) {
        struct detect_charge_stall_state *st = state;
        struct finding f;

        if (!st->rising || st->suspended || a->connected != 1 || analyzer_is_open(a, FINDING_CHARGE_STALL))
                return;
        if (a->level >= 0 && a->level < st->cur.peak) {
                /* below the peak when the wait ran out: the level has fallen a step and not
                 * come back, as a headset unplugged just after a step up does. A stalled
                 * gauge that flickered comes back to the peak, and is raised then */
                st->suspended = true;
                st->suspended_since = due;
                return;
        }
        analyzer_finding_init(a, FINDING_CHARGE_STALL, FINDING_WARNING, due, &f);
        (void) finding_add_evidence(&f, "level_pct", st->cur.peak);
        (void) finding_add_evidence(&f, "flat_min", (double) (due - st->cur.flat_since) / ANALYZER_MINUTE_MS);
        (void) finding_add_evidence(&f, "away_min", (double) st->away_ms / ANALYZER_MINUTE_MS);
        (void) finding_add_evidence(&f, "rise_step_min", st->cur.rise_pace_ms / ANALYZER_MINUTE_MS);
        (void) finding_add_evidence(&f, "fall_step_min", st->fall_pace_ms / ANALYZER_MINUTE_MS);
        (void) finding_add_evidence(&f, "charge_rate_pct_per_h",
                                    st->cur.rise_pace_ms > 0 ? a->step / analyzer_hours((int64_t) st->cur.rise_pace_ms) : NAN);
        (void) finding_add_evidence(&f, "risen_pct", st->cur.peak - st->cur.start);
        (void) finding_add_evidence(&f, "step_pct", a->step);
        analyzer_raise(a, &f);
}

/* Whether a restored plateau holds only values its code is safe with. */
static bool detect_charge_stall_plateau_valid(const struct detect_charge_stall_plateau *p) {
        return analyzer_level_ok(p->peak) && analyzer_level_ok(p->start) && analyzer_level_ok(p->low) &&
               analyzer_time_ok(p->flat_since) && analyzer_real_ok(p->rise_pace_ms) && analyzer_bool_ok(&p->single);
}

/* Whether a restored state holds only values its code is safe with (checkpoint.c). */
static bool detect_charge_stall_valid(const void *state) {
        const struct detect_charge_stall_state *st = state;

        return detect_charge_stall_plateau_valid(&st->cur) && detect_charge_stall_plateau_valid(&st->prev) &&
               analyzer_bool_ok(&st->rising) && analyzer_bool_ok(&st->suspended) && analyzer_bool_ok(&st->carried) &&
               analyzer_time_ok(st->suspended_since) && st->away_ms >= 0 && st->away_ms < ANALYZER_TIME_BOUND &&
               analyzer_real_or_nan_ok(st->fall_pace_ms) && analyzer_time_ok(st->dwell_since) &&
               analyzer_level_ok(st->dwell_level) && st->dwell_next < STALL_DWELLS && analyzer_bool_ok(&st->dwelling);
}

const struct detector detect_charge_stall = {
        .kind = FINDING_CHARGE_STALL,
        .state_size = sizeof(struct detect_charge_stall_state),
        .state_valid = detect_charge_stall_valid,
        .sees = ANALYZER_SEES_ALL,
        .update = detect_charge_stall_update,
        .timer = detect_charge_stall_timer,
};
