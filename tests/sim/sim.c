/* hpmon — scenario simulator (see sim.h). A device is a battery (true state of charge,
 * capacity), a user (a plan of sessions with this host and with a phone, charging habits),
 * a host that sleeps, and a reporting path (quantization, noise, hpmond's logging rule),
 * stepped every 30 seconds. Failures change the battery or the charger at a known time
 * and write a label, only where the log can show them by DESIGN.md's signature (each
 * kind's injection says how). Everything random comes from one xoshiro256** stream per
 * device, seeded from the run's seed and the device's index. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chargelog.h"
#include "finding.h"
#include "sim.h"

#define SIM_SEC INT64_C(1000)
#define SIM_MIN (60 * SIM_SEC)
#define SIM_HOUR (60 * SIM_MIN)
#define SIM_DAY (24 * SIM_HOUR)
#define SIM_TICK (30 * SIM_SEC)
#define SIM_MAX_DAYS 75

/* ---------------------------------------------------------------- randomness */

struct sim_rng {
        uint64_t s[4];
};

/* SplitMix64, to spread a seed over xoshiro's state. */
static uint64_t sim_splitmix(uint64_t *x) {
        uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));

        z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
        return z ^ (z >> 31);
}

/* Seeds a stream from the run's seed and a device index. */
static void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t index) {
        uint64_t x = seed * UINT64_C(0x100000001B3) ^ (index + 1) * UINT64_C(0xD1B54A32D192ED03);

        for (int i = 0; i < 4; i++)
                r->s[i] = sim_splitmix(&x);
}

/* Rotates left. */
static uint64_t sim_rotl(uint64_t x, int k) {
        return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: the next 64 bits. */
static uint64_t sim_next(struct sim_rng *r) {
        uint64_t *s = r->s, result = sim_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = sim_rotl(s[3], 45);
        return result;
}

/* Uniform in [0, 1). */
static double sim_u(struct sim_rng *r) {
        return (double) (sim_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [a, b). */
static double sim_range(struct sim_rng *r, double a, double b) {
        return a + (b - a) * sim_u(r);
}

/* A duration uniform in [a, b) minutes, in ms. */
static int64_t sim_minutes(struct sim_rng *r, double a, double b) {
        return (int64_t) (sim_range(r, a, b) * SIM_MIN);
}

/* True with probability p. */
static bool sim_chance(struct sim_rng *r, double p) {
        return sim_u(r) < p;
}

/* Standard normal (Box–Muller). */
static double sim_normal(struct sim_rng *r) {
        double u = sim_u(r), v = sim_u(r);

        return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(2.0 * M_PI * v);
}

/* An index drawn by weight. */
static int sim_pick(struct sim_rng *r, const double *w, int n) {
        double total = 0, x;

        for (int i = 0; i < n; i++)
                total += w[i];
        x = sim_u(r) * total;
        for (int i = 0; i < n; i++) {
                if (x < w[i])
                        return i;
                x -= w[i];
        }
        return n - 1;
}

/* ---------------------------------------------------------------- devices */

enum sim_profile { SIM_OVER_EAR, SIM_EARBUDS, SIM_BUDGET, SIM_OFFICE, _SIM_PROFILE_MAX };

/* How a headset behaves on the charger. */
enum sim_charge_mode {
        SIM_CHARGE_REPORT,      /* stays connected and reports */
        SIM_CHARGE_SILENT,      /* stays connected, reports nothing until unplugged */
        SIM_CHARGE_OFF,         /* switches Bluetooth off while plugged in */
        SIM_CHARGE_CASE,        /* charges in its case, disconnected */
        _SIM_CHARGE_MAX,
};

static const char *const sim_charge_mode_names[_SIM_CHARGE_MAX] = { "report", "silent", "off", "case" };

/* The reporting grids: 1 %, 5 %, 10 % (0–100), 10 % (HFP, 10–100), 20 %. */
enum sim_grid { SIM_GRID_1, SIM_GRID_5, SIM_GRID_10, SIM_GRID_HFP10, SIM_GRID_20, _SIM_GRID_MAX };

static const int sim_grid_step[_SIM_GRID_MAX] = { 1, 5, 10, 10, 20 };

struct sim_profile_def {
        const char *name;
        double runtime_lo, runtime_hi;  /* hours of use per full charge */
        double cc_lo, cc_hi;            /* constant-current charge rate, %/h */
        double grid_w[_SIM_GRID_MAX];
        double mode_w[_SIM_CHARGE_MAX];
        double only_at_connect;         /* probability it reports only when connecting */
};

static const struct sim_profile_def sim_profiles[_SIM_PROFILE_MAX] = {
        [SIM_OVER_EAR] = { "over-ear", 25, 40, 40, 60, { .55, .2, .1, .1, .05 }, { .5, .25, .25, 0 }, .03 },
        [SIM_EARBUDS] = { "earbuds", 5, 8, 60, 100, { .3, .2, .15, .25, .1 }, { 0, 0, 0, 1 }, .05 },
        [SIM_BUDGET] = { "budget", 10, 20, 30, 45, { 0, .2, .3, .25, .25 }, { .4, .3, .3, 0 }, .15 },
        [SIM_OFFICE] = { "office", 20, 35, 40, 55, { .2, .5, .2, .1, 0 }, { .9, .1, 0, 0 }, 0 },
};

enum sim_host { SIM_HOST_NONE, SIM_HOST_OURS, SIM_HOST_PHONE };

enum sim_act { SIM_ACT_OFF, SIM_ACT_USE, SIM_ACT_IDLE, SIM_ACT_CHARGE };

struct sim_session {
        int64_t start, end;
        enum sim_host host;
        double mode;            /* drain multiplier: music 1, call 1.3, idle-connected 0.6 */
};

struct sim_sleep {
        int64_t start, end;
};

struct sim_dev {
        struct sim_rng rng;
        unsigned index;
        char address[ADDRESS_STRING_MAX];
        char file[40];
        enum sim_profile profile;
        int fault;                      /* a finding kind, or -1 for healthy */
        enum sim_grid grid;
        int step;
        enum sim_charge_mode charge_mode;
        bool only_at_connect;
        bool laptop;                    /* a host that sleeps */
        double noise_sigma;
        double late_disconnect;         /* probability a sleep's disconnect is logged only at resume */
        double rebound;                 /* points the gauge reads low in use (sim_options.rebound) */
        double drain;                   /* %/h in use at full capacity */
        double cc;
        double user_threshold;          /* charges after use below this */
        int64_t start, end, fault_start, max_end;

        struct sim_session *ses;
        size_t n_ses, next_ses;
        struct sim_sleep *sleeps;
        size_t n_sleeps, next_sleep;

        /* the battery and the user */
        double soc, cap, drain_mult, charger_factor, noise;
        enum sim_act act;
        int64_t act_end, session_start;
        enum sim_host host;
        double mode;
        bool on, charging, desk, use_while_charging, full_seen;
        int64_t linger_until;
        double unplug_at;
        int64_t vacation_start, vacation_end;

        /* the host and the log */
        bool awake, hold_awake, link, pending_disc, sleep_late;
        int last_logged;
        bool reported_this_conn;
        int64_t clock_offset, jump_at, jump_by, last_true;
        bool jumped, low_armed;
        FILE *log, *labels;

        /* the failure */
        int64_t arm, onset, deadline;
        bool triggered, done;
        double stall_level;
        int stall_low;                  /* lowest level reported in this connection of the stall charge */
        bool stall_charge, stalled, stall_risen;
        int64_t stall_end;
        bool slow_charge_labelled;
        bool toggling, contact;
        int64_t toggle_next, toggle_end;
        int64_t flap_fault_end;
        bool deep_session, deep_seen;
        int64_t deep_hold_until;
        double fade_days, fade_start_days;
        bool not_holding_ready;
};

/* Writes one label in the log's own clock. */
static void sim_label(struct sim_dev *d, int kind, int64_t onset, int64_t deadline) {
        fprintf(d->labels, "%s\t%s\t%lld\t%lld\n", d->file, finding_kind_to_string(kind),
                (long long) (onset + d->clock_offset), (long long) (deadline + d->clock_offset));
}

/* Appends one event line the way hpmond does, with the rare duplicate and bad line. */
static void sim_log(struct sim_dev *d, int64_t t, enum event_kind kind, int value) {
        char line[CHARGELOG_LINE_MAX];
        struct hpevent e;
        size_t n;

        if (t <= d->last_true)
                t = d->last_true + 1;
        d->last_true = t;
        e = (struct hpevent) { .time_ms = t + d->clock_offset, .kind = kind, .value = value };
        n = chargelog_format_event(line, sizeof(line), &e);
        fwrite(line, 1, n, d->log);
        if (sim_chance(&d->rng, 0.002))
                fwrite(line, 1, n, d->log);     /* an exact duplicate */
        if (sim_chance(&d->rng, 0.001)) {
                switch (sim_next(&d->rng) % 3) {
                case 0:
                        fprintf(d->log, "%lld.%03lld,battery,%d\n", (long long) (e.time_ms / 1000),
                                (long long) (e.time_ms % 1000), 101 + (int) (sim_next(&d->rng) % 50));
                        break;
                case 1:
                        fprintf(d->log, "%lld.%03lld,sleep,1\n", (long long) (e.time_ms / 1000),
                                (long long) (e.time_ms % 1000));
                        break;
                default:
                        fputs("garbage,,\n", d->log);
                        break;
                }
        }
        if (kind == EVENT_BATTERY) {
                d->last_logged = value;
                if (value <= 20 && d->low_armed) {
                        sim_label(d, FINDING_LOW_BATTERY, t, t + 15 * SIM_MIN);
                        d->low_armed = false;
                } else if (value >= 30)
                        d->low_armed = true;
        }
}

/* The level the headset reports for a measured charge. */
static int sim_quantize(const struct sim_dev *d, double x) {
        int q;

        switch (d->grid) {
        case SIM_GRID_1:
                q = (int) lround(x);
                break;
        case SIM_GRID_5:
                q = (int) lround(x / 5) * 5;
                break;
        case SIM_GRID_10:
                q = (int) lround(x / 10) * 10;
                break;
        case SIM_GRID_HFP10:
                q = ((int) floor(x / 10) + 1) * 10;
                break;
        default:
                q = (int) lround(x / 20) * 20;
                break;
        }
        return q < 0 ? 0 : q > 100 ? 100 : q;
}

/* Reports the current level if the headset would and it differs from the last logged. On a
 * charge that is to stall, notes whether the log has shown it rising within a connection. */
static void sim_report(struct sim_dev *d, int64_t t) {
        double sag = d->act == SIM_ACT_USE && d->on && !d->charging ? d->rebound : 0;
        int q = sim_quantize(d, d->soc + d->noise - sag);

        if (q != d->last_logged)
                sim_log(d, t, EVENT_BATTERY, q);
        if (d->stall_charge) {
                if (!d->reported_this_conn || d->stall_low < 0 || q < d->stall_low)
                        d->stall_low = q;
                else if (q > d->stall_low)
                        d->stall_risen = true;
        }
        d->reported_this_conn = true;
}

/* ---------------------------------------------------------------- the plan */

/* Adds a session to the plan. */
static void sim_add_session(struct sim_dev *d, int64_t start, int64_t dur, enum sim_host host) {
        static const double mode_w[3] = { .6, .25, .15 }, modes[3] = { 1.0, 1.3, 0.6 };
        struct sim_session *n = realloc(d->ses, (d->n_ses + 1) * sizeof(*n));

        if (!n)
                abort();
        d->ses = n;
        d->ses[d->n_ses++] = (struct sim_session) {
                .start = start,
                .end = start + dur,
                .host = host,
                .mode = modes[sim_pick(&d->rng, mode_w, 3)] * exp(0.12 * sim_normal(&d->rng)),
        };
}

/* Orders sessions by start time. */
static int sim_session_cmp(const void *x, const void *y) {
        const struct sim_session *a = x, *b = y;

        return (a->start > b->start) - (a->start < b->start);
}

/* The user's days: sessions with this host and with a phone, and when the laptop sleeps. */
static void sim_plan(struct sim_dev *d) {
        unsigned days = (unsigned) ((d->max_end - d->start) / SIM_DAY) + 1;
        size_t kept = 0;

        for (unsigned day = 0; day < days; day++) {
                int64_t t0 = d->start + (int64_t) day * SIM_DAY;
                bool weekday = (day + 1) % 7 < 5;       /* the first day is a Tuesday */

                if (t0 >= d->vacation_start && t0 < d->vacation_end)
                        continue;
                if (weekday) {
                        int n = 1 + (int) (sim_next(&d->rng) % 3);

                        if (sim_chance(&d->rng, .6))
                                sim_add_session(d, t0 + 7 * SIM_HOUR + sim_minutes(&d->rng, 30, 75),
                                                sim_minutes(&d->rng, 30, 50), SIM_HOST_PHONE);
                        for (int i = 0; i < n; i++)
                                sim_add_session(d, t0 + 9 * SIM_HOUR + sim_minutes(&d->rng, 0, 510),
                                                sim_minutes(&d->rng, 30, 150), SIM_HOST_OURS);
                        if (sim_chance(&d->rng, .5))
                                sim_add_session(d, t0 + 17 * SIM_HOUR + sim_minutes(&d->rng, 30, 90),
                                                sim_minutes(&d->rng, 30, 50), SIM_HOST_PHONE);
                        if (sim_chance(&d->rng, .35))
                                sim_add_session(d, t0 + 20 * SIM_HOUR + sim_minutes(&d->rng, 0, 120),
                                                sim_minutes(&d->rng, 30, 100),
                                                sim_chance(&d->rng, .5) ? SIM_HOST_OURS : SIM_HOST_PHONE);
                } else {
                        int n = (int) (sim_next(&d->rng) % 3);

                        for (int i = 0; i < n; i++)
                                sim_add_session(d, t0 + 10 * SIM_HOUR + sim_minutes(&d->rng, 0, 660),
                                                sim_minutes(&d->rng, 30, 150),
                                                sim_chance(&d->rng, .4) ? SIM_HOST_OURS : SIM_HOST_PHONE);
                }
        }
        qsort(d->ses, d->n_ses, sizeof(d->ses[0]), sim_session_cmp);
        for (size_t i = 0; i < d->n_ses; i++)
                if (kept == 0 || d->ses[i].start >= d->ses[kept - 1].end + 5 * SIM_MIN)
                        d->ses[kept++] = d->ses[i];
        d->n_ses = kept;

        if (!d->laptop)
                return;
        d->sleeps = calloc(2 * days + 2, sizeof(*d->sleeps));
        if (!d->sleeps)
                abort();
        for (unsigned day = 0; day < days; day++) {
                int64_t t0 = d->start + (int64_t) day * SIM_DAY, night, last_ours = 0, wake;
                bool weekday = (day + 1) % 7 < 5;

                for (size_t i = 0; i < d->n_ses; i++)
                        if (d->ses[i].host == SIM_HOST_OURS && d->ses[i].start >= t0 && d->ses[i].start < t0 + SIM_DAY &&
                            d->ses[i].end > last_ours)
                                last_ours = d->ses[i].end;
                if (weekday && sim_chance(&d->rng, .5)) {
                        int64_t s = t0 + 12 * SIM_HOUR + sim_minutes(&d->rng, 0, 90), e = s + sim_minutes(&d->rng, 20, 90);
                        bool clash = false;

                        for (size_t i = 0; i < d->n_ses; i++)
                                if (d->ses[i].host == SIM_HOST_OURS && d->ses[i].start < e + 5 * SIM_MIN &&
                                    d->ses[i].end > s - 5 * SIM_MIN)
                                        clash = true;
                        if (!clash)
                                d->sleeps[d->n_sleeps++] = (struct sim_sleep) { s, e };
                }
                night = t0 + 22 * SIM_HOUR + sim_minutes(&d->rng, 30, 180);
                if (last_ours + 5 * SIM_MIN > night)
                        night = last_ours + sim_minutes(&d->rng, 5, 30);
                wake = t0 + SIM_DAY + 7 * SIM_HOUR + sim_minutes(&d->rng, 0, 90);
                if (d->n_sleeps > 0 && d->sleeps[d->n_sleeps - 1].end > night)
                        night = d->sleeps[d->n_sleeps - 1].end + SIM_MIN;
                d->sleeps[d->n_sleeps++] = (struct sim_sleep) { night, wake };
        }
        /* the next day's first session may start before the wake: the user opens the lid */
        for (size_t i = 0; i < d->n_sleeps; i++)
                for (size_t j = 0; j < d->n_ses; j++)
                        if (d->ses[j].host == SIM_HOST_OURS && d->ses[j].start >= d->sleeps[i].start &&
                            d->ses[j].start < d->sleeps[i].end)
                                d->sleeps[i].end = d->ses[j].start;
}

/* Whether the laptop is awake at t. */
static bool sim_awake(struct sim_dev *d, int64_t t) {
        if (d->hold_awake)
                return true;
        while (d->next_sleep < d->n_sleeps && d->sleeps[d->next_sleep].end <= t)
                d->next_sleep++;
        return !(d->next_sleep < d->n_sleeps && d->sleeps[d->next_sleep].start <= t);
}

/* ---------------------------------------------------------------- behaviour */

/* Plugs the headset in: at the desk (this host awake and near) or away. */
static void sim_start_charge(struct sim_dev *d, int64_t t, bool desk) {
        d->charging = true;
        d->act = SIM_ACT_CHARGE;
        d->desk = desk;
        d->full_seen = false;
        d->host = desk ? SIM_HOST_OURS : SIM_HOST_NONE;
        d->on = desk && (d->charge_mode == SIM_CHARGE_REPORT || d->charge_mode == SIM_CHARGE_SILENT);
        d->unplug_at = sim_chance(&d->rng, .2) ? sim_range(&d->rng, 60, 95) : 0;
        d->stall_charge = false;

        if (d->triggered || !desk || t < d->arm || d->charge_mode != SIM_CHARGE_REPORT)
                return;
        switch (d->fault) {
        case FINDING_CHARGE_STALL: {
                /* "below 90 %" is what the log says: at most 85, and lower on gauges that
                 * report that as 90 (a 10 % gauge rounds 85 up; an HFP 10 % one reports
                 * 80–89.9 as 90), so that the stalled level itself is reported below 90 */
                double cap = 85;

                if (d->soc > 70)
                        return;
                while (sim_quantize(d, cap) >= 90)
                        cap -= 1;
                d->stall_level = d->soc + sim_range(&d->rng, 10, 40);
                if (d->stall_level > cap)
                        d->stall_level = cap;
                if (d->stall_level < d->soc + 8)
                        return;
                d->stall_charge = true;
                d->stall_low = -1;
                d->stall_risen = false;
                d->triggered = true;
                d->unplug_at = 0;
                break;
        }
        case FINDING_SLOW_CHARGE:
                /* a rise below 80 % shows only from two steps under it */
                if (d->soc > 60 || d->soc > 80 - 2 * d->step)
                        return;
                /* the cable goes bad now, and stays bad */
                d->charger_factor = sim_range(&d->rng, 0.2, 0.4);
                d->triggered = true;
                d->onset = t;
                d->deadline = t + 4 * SIM_HOUR;
                d->unplug_at = 0;
                sim_label(d, FINDING_SLOW_CHARGE, d->onset, d->deadline);
                break;
        case FINDING_INTERMITTENT_CHARGE:
                if (d->soc > 60)
                        return;
                d->triggered = true;
                d->toggling = true;
                d->contact = true;
                d->toggle_next = t + sim_minutes(&d->rng, 8, 15);
                d->toggle_end = t + sim_minutes(&d->rng, 180, 270);
                d->onset = d->toggle_next;
                d->deadline = d->toggle_end;
                d->unplug_at = 0;
                /* in a long call while it charges */
                d->act = SIM_ACT_USE;
                d->use_while_charging = true;
                d->mode = 1.3;
                d->act_end = d->toggle_end;
                sim_label(d, FINDING_INTERMITTENT_CHARGE, d->onset, d->deadline);
                break;
        default:
                break;
        }
}

/* Unplugs: the headset is switched off, or left on and connected until it powers down. */
static void sim_end_charge(struct sim_dev *d, int64_t t) {
        d->charging = false;
        d->stalled = false;
        d->toggling = false;
        d->use_while_charging = false;
        if (d->desk && d->charge_mode != SIM_CHARGE_OFF && sim_chance(&d->rng, .45)) {
                d->act = SIM_ACT_IDLE;
                d->on = true;
                d->host = SIM_HOST_OURS;
                d->act_end = t + sim_minutes(&d->rng, 5, 40);
        } else {
                d->act = SIM_ACT_OFF;
                d->on = false;
        }
}

/* The end of a use session: charge if low, else switch off (or leave it idle, connected). */
static void sim_end_use(struct sim_dev *d, int64_t t) {
        double hour = (double) ((t - d->start) % SIM_DAY) / SIM_HOUR;
        bool ours = d->host == SIM_HOST_OURS && d->awake;
        bool need = d->soc < d->user_threshold || (hour >= 19 && d->soc < 60 && sim_chance(&d->rng, .5)) ||
                    (d->charge_mode == SIM_CHARGE_CASE && d->fault != FINDING_LOW_BATTERY &&
                     d->fault != FINDING_DEEP_DISCHARGE_RISK && sim_chance(&d->rng, .85)); /* back in the case */

        d->hold_awake = false;
        if (d->use_while_charging) {
                d->use_while_charging = false;
                d->act = SIM_ACT_CHARGE;
                d->on = d->charge_mode == SIM_CHARGE_REPORT || d->charge_mode == SIM_CHARGE_SILENT;
                return;
        }
        if (d->deep_session) {
                d->deep_session = false;
                d->act = SIM_ACT_OFF;
                d->on = false;
                d->deep_hold_until = t + sim_minutes(&d->rng, 4 * 1440, 6 * 1440);
                return;
        }
        /* a charging failure waits for a charge at the desk */
        if (!d->triggered && t >= d->arm && ours && d->soc <= 60 && d->soc <= 80 - 2 * d->step &&
            (d->fault == FINDING_CHARGE_STALL || d->fault == FINDING_SLOW_CHARGE ||
             d->fault == FINDING_INTERMITTENT_CHARGE))
                need = true;
        if (need) {
                sim_start_charge(d, t, ours);
                return;
        }
        if (ours && sim_chance(&d->rng, .12)) {
                d->act = SIM_ACT_IDLE;
                d->act_end = t + sim_minutes(&d->rng, 10, 40);
                return;
        }
        d->act = SIM_ACT_OFF;
        d->on = false;
}

/* A session begins, unless the headset is busy, flat, or the user is away. */
static void sim_begin_session(struct sim_dev *d, const struct sim_session *s, int64_t t) {
        if (d->act == SIM_ACT_USE || d->stalled || d->toggling || t < d->deep_hold_until ||
            (d->stall_charge && d->charging))
                return;
        if (d->triggered && d->fault == FINDING_SLOW_CHARGE && d->charging && t < d->deadline)
                return;
        if (d->charging) {
                if (d->profile == SIM_OFFICE && s->host == SIM_HOST_OURS && d->desk && d->awake) {
                        d->act = SIM_ACT_USE;
                        d->use_while_charging = true;
                        d->host = SIM_HOST_OURS;
                        d->mode = s->mode;
                        d->act_end = s->end;
                        d->on = true;
                        d->session_start = t;
                        return;
                }
                if (d->soc < 40)
                        return;
                d->charging = false;
        }
        if (d->soc < 3) {
                sim_start_charge(d, t, false);
                return;
        }
        d->act = SIM_ACT_USE;
        d->host = s->host == SIM_HOST_OURS && !d->awake ? SIM_HOST_PHONE : s->host;
        d->mode = s->mode;
        d->act_end = s->end;
        d->on = true;
        d->session_start = t;
        if (d->profile == SIM_OFFICE && d->host == SIM_HOST_OURS && d->soc < 50 && sim_chance(&d->rng, .6)) {
                d->use_while_charging = true;
                d->charging = true;
                d->desk = true;
                d->full_seen = false;
                d->unplug_at = 0;
        }

        if (d->triggered || t < d->arm || d->host != SIM_HOST_OURS)
                return;
        if (d->fault == FINDING_NOT_HOLDING_CHARGE && d->not_holding_ready && d->soc >= 90) {
                double target = sim_range(&d->rng, 60, 110);

                d->drain_mult = target / (d->drain / d->cap * d->mode);
                d->triggered = true;
                d->onset = t;
                d->deadline = t + 3 * SIM_HOUR;
                d->act_end = t + 4 * SIM_HOUR;
                d->hold_awake = true;
                sim_label(d, FINDING_NOT_HOLDING_CHARGE, d->onset, d->deadline);
        } else if (d->fault == FINDING_DEEP_DISCHARGE_RISK && d->soc <= 40 && !d->use_while_charging) {
                d->triggered = true;
                d->deep_session = true;
                d->act_end = t + 30 * SIM_DAY;
                d->hold_awake = true;
        }
}

/* Failures that strike at a moment rather than at a session or a charge. */
static void sim_fault_tick(struct sim_dev *d, int64_t t) {
        if (d->fault < 0)
                return;
        if (d->fault == FINDING_BATTERY_DEGRADED) {
                double days = (double) (t - d->start) / SIM_DAY - d->fade_start_days;

                d->cap = days <= 0 ? 1.0 : fmax(0.5, 1.0 - 0.5 * days / d->fade_days);
                if (!d->triggered && d->cap <= 0.7) {
                        d->triggered = true;
                        d->onset = t;
                        d->deadline = t + 14 * SIM_DAY;
                        sim_label(d, FINDING_BATTERY_DEGRADED, d->onset, d->deadline);
                }
                return;
        }
        if (d->triggered || t < d->arm)
                return;
        switch (d->fault) {
        case FINDING_FAST_DRAIN:
                d->drain_mult = sim_range(&d->rng, 2.2, 3.0);
                d->triggered = true;
                d->onset = t;
                d->deadline = t + 7 * SIM_DAY;
                sim_label(d, FINDING_FAST_DRAIN, d->onset, d->deadline);
                break;
        case FINDING_SUDDEN_DROP:
                /* a collapse big enough to show as two steps at least */
                double lo = fmax(25, 2.5 * d->step), hi = fmax(45, 3 * d->step);

                if (d->act == SIM_ACT_USE && d->link && d->soc >= hi + 5 && t - d->session_start >= 15 * SIM_MIN &&
                    !d->charging) {
                        d->soc -= sim_range(&d->rng, lo, hi);
                        d->cap *= 0.6;
                        d->triggered = true;
                        d->onset = t;
                        d->deadline = t + 30 * SIM_MIN;
                        if (d->act_end < t + 45 * SIM_MIN)
                                d->act_end = t + 45 * SIM_MIN;
                        sim_label(d, FINDING_SUDDEN_DROP, d->onset, d->deadline);
                }
                break;
        case FINDING_CONNECTION_UNSTABLE:
                if (d->act == SIM_ACT_USE && d->link && t - d->session_start >= 10 * SIM_MIN) {
                        d->triggered = true;
                        d->onset = t;
                        d->deadline = t + 30 * SIM_MIN;
                        d->flap_fault_end = t + sim_minutes(&d->rng, 20, 60);
                        if (d->act_end < d->flap_fault_end + 5 * SIM_MIN)
                                d->act_end = d->flap_fault_end + 5 * SIM_MIN;
                        d->hold_awake = true;
                        sim_label(d, FINDING_CONNECTION_UNSTABLE, d->onset, d->deadline);
                }
                break;
        default:
                break;
        }
}

/* Moves the battery on by one tick. */
static void sim_physics(struct sim_dev *d) {
        double dt = (double) SIM_TICK / SIM_HOUR, use;

        use = d->drain * d->drain_mult / d->cap * d->mode;
        if (d->charging && d->contact && !d->stalled) {
                double rate = d->cc * d->charger_factor;

                if (d->soc >= 80)
                        rate *= 0.25 + 0.75 * (100.0 - d->soc) / 20.0;
                d->soc += rate * dt;
                if (d->act == SIM_ACT_USE)
                        d->soc -= use * dt;
        } else if (d->charging && d->stalled)
                ;       /* powered by the charger, not charging */
        else if (d->on && d->act == SIM_ACT_USE)
                d->soc -= use * dt;
        else if (d->on)
                d->soc -= 0.6 * d->drain * d->drain_mult / d->cap * dt;
        else
                d->soc -= 0.03 * dt;
        if (d->soc > 100)
                d->soc = 100;
        if (d->soc <= 0) {
                d->soc = 0;
                if (d->on && !d->charging) {
                        d->on = false;
                        d->act = SIM_ACT_OFF;
                }
        }
        d->noise = 0.95 * d->noise + sqrt(1 - 0.95 * 0.95) * d->noise_sigma * sim_normal(&d->rng);
}

/* The link to this host and what hpmond logs about it. */
static void sim_link(struct sim_dev *d, int64_t t) {
        bool want = d->on && d->host == SIM_HOST_OURS && d->awake &&
                    !(d->charging && (d->charge_mode == SIM_CHARGE_OFF || d->charge_mode == SIM_CHARGE_CASE));

        if (want && !d->link) {
                d->link = true;
                d->reported_this_conn = false;
                sim_log(d, t + (int64_t) sim_range(&d->rng, 200, 2000), EVENT_CONNECTED, 1);
                sim_report(d, t + (int64_t) sim_range(&d->rng, 2000, 5000));
                return;
        }
        if (!want && d->link) {
                d->link = false;
                if (!d->awake && d->sleep_late)
                        d->pending_disc = true;
                else
                        sim_log(d, t + (int64_t) sim_range(&d->rng, 0, 2000), EVENT_CONNECTED, 0);
                return;
        }
        if (!d->link)
                return;

        /* flaps: now and then in a healthy life, constantly while the link is failing */
        if ((d->flap_fault_end > t && sim_chance(&d->rng, .45)) ||
            (d->act == SIM_ACT_USE && sim_chance(&d->rng, 0.02 * SIM_TICK / SIM_HOUR))) {
                int64_t down = t + (int64_t) sim_range(&d->rng, 0, 10000);

                sim_log(d, down, EVENT_CONNECTED, 0);
                sim_log(d, down + (int64_t) sim_range(&d->rng, 3000, 15000), EVENT_CONNECTED, 1);
                d->reported_this_conn = false;
                sim_report(d, down + 16000);
                return;
        }
        if (d->only_at_connect && d->reported_this_conn)
                return;
        if (d->charging && d->charge_mode == SIM_CHARGE_SILENT)
                return;
        sim_report(d, t + (int64_t) sim_range(&d->rng, 0, 25000));
}

/* One tick of the whole device. */
static void sim_tick(struct sim_dev *d, int64_t t) {
        bool awake = sim_awake(d, t);

        if (!d->jumped && t >= d->jump_at) {
                d->jumped = true;
                d->clock_offset -= d->jump_by;  /* the host's clock is stepped back */
        }
        if (d->awake && !awake)
                d->sleep_late = sim_chance(&d->rng, d->late_disconnect);
        if (!d->awake && awake && d->pending_disc) {
                d->pending_disc = false;
                sim_log(d, t + (int64_t) sim_range(&d->rng, 500, 2000), EVENT_CONNECTED, 0);
        }
        d->awake = awake;

        sim_fault_tick(d, t);
        while (d->next_ses < d->n_ses && d->ses[d->next_ses].start <= t) {
                const struct sim_session *s = &d->ses[d->next_ses++];

                sim_begin_session(d, s, t);
        }

        switch (d->act) {
        case SIM_ACT_USE:
                if (d->deep_session && !d->deep_seen && d->soc <= 5 && d->link) {
                        d->deep_seen = true;
                        d->onset = t;
                        d->deadline = t + 3 * SIM_DAY + 2 * SIM_HOUR;
                        sim_label(d, FINDING_DEEP_DISCHARGE_RISK, d->onset, d->deadline);
                }
                if (t >= d->act_end)
                        sim_end_use(d, t);
                break;
        case SIM_ACT_IDLE:
                if (t >= d->act_end) {
                        d->act = SIM_ACT_OFF;
                        d->on = false;
                }
                break;
        default:
                break;
        }

        if (d->charging) {
                if (d->stall_charge && !d->stalled && d->soc >= d->stall_level && (!d->link || !d->stall_risen)) {
                        /* the log cannot show this one (DESIGN: "level was rising, then neither
                         * rises nor falls ... while connected"): no report a step above another
                         * within a connection of this charge, or the headset away from this host
                         * when it stops (asleep, switched off). It charges on as a healthy one
                         * does, unlabelled, and the fault waits for another charge at the desk */
                        d->stall_charge = false;
                        d->triggered = false;
                } else if (d->stall_charge && !d->stalled && d->soc >= d->stall_level) {
                        d->stalled = true;
                        d->stall_charge = false;
                        d->onset = t;
                        d->stall_end = t + sim_minutes(&d->rng, 120, 480);
                        d->deadline = d->stall_end;
                        sim_label(d, FINDING_CHARGE_STALL, d->onset, d->deadline);
                }
                if (d->toggling && t >= d->toggle_next) {
                        d->contact = !d->contact;
                        d->toggle_next = t + (d->contact ? sim_minutes(&d->rng, 5, 15) : sim_minutes(&d->rng, 25, 50));
                }
                if (d->soc >= 99.9 && !d->full_seen) {
                        d->full_seen = true;
                        d->linger_until = t + sim_minutes(&d->rng, 0, 180);
                        if (d->fault == FINDING_NOT_HOLDING_CHARGE && t >= d->arm)
                                d->not_holding_ready = true;
                }
                if (d->stalled ? t >= d->stall_end :
                    d->toggling ? t >= d->toggle_end :
                    (d->act != SIM_ACT_USE &&
                     ((d->full_seen && t >= d->linger_until) || (d->unplug_at > 0 && d->soc >= d->unplug_at)))) {
                        d->contact = true;
                        if (d->act == SIM_ACT_USE) {
                                d->charging = false;
                                d->stalled = false;
                                d->toggling = false;
                                d->use_while_charging = false;
                        } else
                                sim_end_charge(d, t);
                }
        }
        if (!d->charging && d->act == SIM_ACT_OFF && t >= d->deep_hold_until && d->deep_hold_until > 0) {
                d->deep_hold_until = 0;
                sim_start_charge(d, t, false);
        }

        sim_physics(d);
        if (!d->on) {
                d->hold_awake = false;
                if (d->deep_session) {
                        /* flat: left in a drawer for days */
                        d->deep_session = false;
                        d->deep_hold_until = t + sim_minutes(&d->rng, 4 * 1440, 6 * 1440);
                }
        }
        sim_link(d, t);
}

/* ---------------------------------------------------------------- one device, the run */

/* Chooses a device's make-up; faults that can only be seen on some devices get those. */
static void sim_dev_init(struct sim_dev *d, const struct sim_options *o, unsigned index, int fault) {
        static const double profile_w[_SIM_PROFILE_MAX] = { .35, .3, .2, .15 };
        const struct sim_profile_def *p;
        double grid_w[_SIM_GRID_MAX];

        memset(d, 0, sizeof(*d));
        sim_rng_seed(&d->rng, o->seed, index);
        d->index = index;
        d->fault = fault;
        d->profile = (enum sim_profile) sim_pick(&d->rng, profile_w, _SIM_PROFILE_MAX);
        /* charging faults show only on headsets that report while charging */
        if (fault == FINDING_CHARGE_STALL || fault == FINDING_SLOW_CHARGE || fault == FINDING_INTERMITTENT_CHARGE)
                while (d->profile == SIM_EARBUDS)
                        d->profile = (enum sim_profile) sim_pick(&d->rng, profile_w, _SIM_PROFILE_MAX);
        p = &sim_profiles[d->profile];
        memcpy(grid_w, p->grid_w, sizeof(grid_w));
        /* reversals of two steps within hours need fine steps */
        if (fault == FINDING_INTERMITTENT_CHARGE)
                for (int g = SIM_GRID_5; g < _SIM_GRID_MAX; g++)
                        grid_w[g] = 0, grid_w[SIM_GRID_1] = 1;
        d->grid = (enum sim_grid) sim_pick(&d->rng, grid_w, _SIM_GRID_MAX);
        d->step = sim_grid_step[d->grid];
        d->charge_mode = (enum sim_charge_mode) sim_pick(&d->rng, p->mode_w, _SIM_CHARGE_MAX);
        if (fault == FINDING_CHARGE_STALL || fault == FINDING_SLOW_CHARGE || fault == FINDING_INTERMITTENT_CHARGE)
                d->charge_mode = SIM_CHARGE_REPORT;
        d->only_at_connect = sim_chance(&d->rng, p->only_at_connect) && fault < 0;
        d->laptop = sim_chance(&d->rng, .7);
        d->noise_sigma = d->step == 1 ? 0.35 : 0.5;
        d->late_disconnect = o->late_disconnect;
        d->rebound = o->rebound;
        d->drain = 100.0 / sim_range(&d->rng, p->runtime_lo, p->runtime_hi);
        /* a drain rate shows only on headsets whose reports move a step within an hour of
         * use: redraw the others (10 % steps at 3 %/h never show a fall while connected) */
        while ((fault == FINDING_FAST_DRAIN || fault == FINDING_BATTERY_DEGRADED) && d->step > d->drain) {
                d->grid = (enum sim_grid) sim_pick(&d->rng, grid_w, _SIM_GRID_MAX);
                d->step = sim_grid_step[d->grid];
                if (d->step > d->drain)
                        d->drain = 100.0 / sim_range(&d->rng, p->runtime_lo, p->runtime_hi);
        }
        d->cc = sim_range(&d->rng, p->cc_lo, p->cc_hi);
        d->user_threshold = fault == FINDING_LOW_BATTERY || fault == FINDING_DEEP_DISCHARGE_RISK ? sim_range(&d->rng, 4, 12)
                                                                                                : sim_range(&d->rng, 18, 45);
        d->soc = sim_range(&d->rng, 40, 100);
        d->cap = 1.0;
        d->drain_mult = 1.0;
        d->charger_factor = 1.0;
        d->contact = true;
        d->last_logged = -1;
        d->low_armed = true;
        d->start = o->start_ms;
        d->jump_at = sim_chance(&d->rng, .3) ? d->start + sim_minutes(&d->rng, 0, 40 * 1440) : INT64_MAX;
        d->jump_by = sim_minutes(&d->rng, 0.5, 90);
        d->last_true = INT64_MIN;
        if (fault < 0 || fault == FINDING_LOW_BATTERY) {
                /* a user who runs it flat is healthy: low-battery labels come from the log itself */
                d->max_end = d->start + (int64_t) o->healthy_days * SIM_DAY;
                d->arm = INT64_MAX;
                if (sim_chance(&d->rng, .3)) {
                        d->vacation_start = d->start + sim_minutes(&d->rng, 14 * 1440, 50 * 1440);
                        d->vacation_end = d->vacation_start + sim_minutes(&d->rng, 5 * 1440, 10 * 1440);
                }
        } else {
                d->max_end = d->start + (int64_t) SIM_MAX_DAYS * SIM_DAY;
                d->arm = d->start + sim_minutes(&d->rng, 21 * 1440, 35 * 1440);
                d->fade_start_days = sim_range(&d->rng, 12, 18);
                d->fade_days = sim_range(&d->rng, 25, 40);
        }
        snprintf(d->address, sizeof(d->address), "5C:%02X:%02X:%02X:%02X:%02X", (unsigned) (o->seed & 0xff),
                 (index >> 8) & 0xff, index & 0xff, (unsigned) (sim_next(&d->rng) & 0xff), d->profile);
        (void) chargelog_filename(d->address, d->file, sizeof(d->file));
}

/* How long after onset a faulty device is still watched. */
static int64_t sim_tail(const struct sim_dev *d) {
        return d->fault == FINDING_BATTERY_DEGRADED ? 21 * SIM_DAY : 14 * SIM_DAY;
}

/* Simulates one device into its log. */
static int sim_dev_run(struct sim_dev *d, const struct sim_options *o, FILE *devices, FILE *labels) {
        char path[4096];
        int64_t t;

        snprintf(path, sizeof(path), "%s/%s", o->dir, d->file);
        d->log = fopen(path, "we");
        if (!d->log)
                return -errno;
        d->labels = labels;
        fprintf(d->log, CHARGELOG_MAGIC "\n# address=%s\n# name=sim %s %u\n" CHARGELOG_HEADER "\n", d->address,
                sim_profiles[d->profile].name, d->index);
        sim_plan(d);
        d->awake = sim_awake(d, d->start);

        for (t = d->start; t < d->max_end; t += SIM_TICK) {
                sim_tick(d, t);
                if (d->fault >= 0 && d->triggered && d->onset > 0 && t >= d->onset + sim_tail(d))
                        break;
        }
        d->end = t;
        if (d->fault < 0)
                d->fault_start = d->end;
        else if (d->fault == FINDING_BATTERY_DEGRADED)
                d->fault_start = d->start + (int64_t) (d->fade_start_days * SIM_DAY);
        else if (d->fault == FINDING_LOW_BATTERY)
                d->fault_start = d->end;
        else
                d->fault_start = d->triggered && d->onset > 0 ? d->onset : d->end;
        if (d->fault_start > d->end)
                d->fault_start = d->end;
        fprintf(devices, "%s\t%s\t%s\t%s\t%d\t%s\t%lld\t%lld\t%lld\n", d->file, d->address, sim_profiles[d->profile].name,
                d->fault < 0 ? "healthy" : finding_kind_to_string(d->fault), d->step, sim_charge_mode_names[d->charge_mode],
                (long long) d->start, (long long) (d->end + d->clock_offset),
                (long long) (d->fault_start + (d->fault_start >= d->jump_at ? d->clock_offset : 0)));
        free(d->ses);
        free(d->sleeps);
        if (fclose(d->log) != 0)
                return -errno;
        return 0;
}

/* Defaults: 60 healthy devices for 12 weeks, 16 faulty devices per kind, host-sleep
 * disconnects logged before the sleep (see sim.h). */
void sim_options_init(struct sim_options *o) {
        *o = (struct sim_options) {
                .seed = 1,
                .dir = ".",
                .healthy = 60,
                .per_kind = 16,
                .healthy_days = 84,
                .start_ms = INT64_C(1788220800000),     /* 2026-09-01 00:00 UTC */
                .late_disconnect = 0,   /* hpmond logs disconnects before the host sleeps */
        };
}

/* Writes every device's log, devices.tsv and labels.tsv into o->dir. */
int sim_run(const struct sim_options *o, unsigned *ret_devices) {
        char path[4096];
        FILE *devices, *labels;
        unsigned index = 0;
        int r = 0;

        if (mkdir(o->dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        snprintf(path, sizeof(path), "%s/devices.tsv", o->dir);
        devices = fopen(path, "we");
        if (!devices)
                return -errno;
        snprintf(path, sizeof(path), "%s/labels.tsv", o->dir);
        labels = fopen(path, "we");
        if (!labels) {
                r = -errno;
                fclose(devices);
                return r;
        }
        for (int kind = -1; kind < _FINDING_KIND_MAX && r >= 0; kind++) {
                unsigned n = kind < 0 ? o->healthy : o->per_kind;

                for (unsigned i = 0; i < n && r >= 0; i++) {
                        struct sim_dev d;

                        sim_dev_init(&d, o, index++, kind);
                        r = sim_dev_run(&d, o, devices, labels);
                }
        }
        if (fclose(devices) != 0 && r >= 0)
                r = -errno;
        if (fclose(labels) != 0 && r >= 0)
                r = -errno;
        if (r >= 0 && ret_devices)
                *ret_devices = index;
        return r;
}
