/* hpmon — the analyzer's inside, shared by analyzer.c, the detectors (detect-*.c) and
 * checkpoint.c (which saves and restores it) only.
 *
 * analyzer.c keeps what every detector needs: connection state, the last report, a
 * hysteresis-filtered level cut into legs (maximal rises and falls), the reporting step,
 * and the device's learned history. It tells each detector what changed through
 * detector.update(), and calls detector.timer() when the detector's one timer falls due.
 * All times in here are on the analyzer's monotonic timeline (see analyzer.h).
 *
 * Levels are quantized: a report says which step the level is in, and a *change* report
 * within a connection is a boundary, the moment the level crossed into that step. Rates
 * are therefore measured between boundaries (time per step), never from the first report
 * of a connection or across a gap, and a one-step move against the current direction is
 * held as pending (flicker) until a second step confirms it. */
#pragma once

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "finding.h"

#define ANALYZER_NEVER INT64_MAX
#define ANALYZER_MINUTE_MS INT64_C(60000)
#define ANALYZER_HOUR_MS INT64_C(3600000)
/* A battery line this long after a connect is not the level read at connection: writers
 * log a level only when it differs from the last one logged, so the level at connection
 * was the last one logged, and this line is a change within the connection. */
#define ANALYZER_CONNECT_REPORT_MS INT64_C(60000)

#define ANALYZER_LEG_STEPS_MAX 8

/* A maximal rise or fall of the filtered level within one connection. 128 bytes: the
 * integers first, then the times and reals, so that nothing is padding. */
struct analyzer_leg {
        int dir;                /* +1 rising, -1 falling, 0 none yet */
        int origin;             /* filtered level the leg started from */
        unsigned boundaries;    /* boundaries seen in it */
        int l_first;            /* level at the first boundary */
        int l_last;             /* level at the last boundary */
        unsigned n_cc_steps;
        unsigned cc_boundaries; /* rising: boundaries at or below slow-charge.below */
        int l_cc_last;
        int64_t t_first;        /* first boundary */
        int64_t t_last;         /* last boundary */
        int64_t t_cc_last;
        double pace_ms;         /* time per step at the last boundary: the slower of the last
                                 * interval and the leg's average, both as of that boundary */
        double cc_step_ms[ANALYZER_LEG_STEPS_MAX]; /* rising: the latest times per step below the knee, ring */
};

/* One rise or fall kept in history. Packed: 19 bytes, not 24 (64 of them a device). */
struct analyzer_record {
        int64_t t_end;
        double hours;           /* the rate (%/h) is points / hours, computed where it is needed */
        uint16_t flags;         /* 1 << kind for each episode open when it was recorded */
        int8_t points;          /* 2 to 100 */
} __attribute__((packed));
_Static_assert(_FINDING_KIND_MAX <= 16, "analyzer_record.flags has a bit per kind");

#define ANALYZER_CHARGES_MAX 16
#define ANALYZER_DRAINS_MAX 48
#define ANALYZER_EARLY_MAX 32
#define ANALYZER_DELTAS_MAX 12

/* The most records any ring holds. */
#define ANALYZER_RING_RECORDS_MAX ANALYZER_DRAINS_MAX
/* Answers kept per ring (analyzer-ring.c): enough for every query one event makes of it. */
#define ANALYZER_RING_CACHE 4

/* What a query of a ring found: the records of age ≥ skip carrying none of the exclude flags. */
struct analyzer_ring_stats {
        double points, hours;   /* summed newest first */
        double median;          /* of their rates, NAN for none (or when not asked for) */
        unsigned n;
        bool have_median;       /* median was computed */
};

/* One kept answer: 40 bytes (eight a device). A query whose skip or exclude does not fit
 * these fields is answered without the cache. */
struct analyzer_ring_cached {
        struct analyzer_ring_stats stats;
        uint32_t generation;    /* the ring's generation it was computed at; 0 for none */
        uint16_t exclude;
        uint8_t skip;
};

/* A ring of records, newest last. Plain data apart from `r`, its buffer. */
struct analyzer_ring {
        struct analyzer_record *r;
        unsigned cap, n, next;
        uint32_t generation;    /* bumped by every push; 0 only in a ring never initialised */
        unsigned cache_next;    /* the slot to replace next when none is stale */
        struct analyzer_ring_cached cache[ANALYZER_RING_CACHE];
};

/* An open episode, as its CLEARED edge repeats it (analyzer_clear, analyzer_get_open): the
 * finding that opened or last escalated it, packed to what cannot be rebuilt — the device
 * is the analyzer's, the advice the kind's, the severity is in analyzer.open_severity, and
 * an evidence name is its index in finding.c's table. 88 bytes, in analyzer.opens from the
 * raise to the clear: most of the time no episode is open, and a device carries none. */
struct analyzer_open {
        int64_t time_ms;                /* Unix ms */
        uint8_t n_evidence;
        uint8_t name[FINDING_EVIDENCE_MAX];
        double value[FINDING_EVIDENCE_MAX];
};

enum analyzer_what {
        ANALYZER_CONNECT,       /* connected 0→1; `implicit` when only a battery report showed it */
        ANALYZER_DISCONNECT,    /* connected 1→0; the leg in progress ends at the next connect unless it is a flap */
        ANALYZER_LEG_END,       /* `leg` ended (reversal, reconnection, gap); its record, if kept, is in history */
        ANALYZER_LEVEL,         /* a battery report with a new value, or the first of a connection */
        ANALYZER_BREAK,         /* a discontinuity inside a connection: time went back, or a resync */
};

/* What one step of the core changed, as detectors see it. */
struct analyzer_update {
        enum analyzer_what what;
        int64_t t;
        bool implicit;                  /* CONNECT: only a battery report showed it */
        bool flap;                      /* CONNECT: within history.flap of the disconnect; the run goes on */
        const struct analyzer_leg *leg; /* LEG_END: the leg that ended */

        /* LEVEL */
        int level;
        int prev_level;                 /* the report before, -1 if none */
        int64_t prev_time;
        bool first;                     /* first report of this connection (or after a break/hidden gap) */
        bool same_connection;           /* prev_level was reported in this connection, no break between */
        bool boundary;                  /* the filtered level moved: a step boundary */
        bool moved;                     /* a new value, not flicker back to one just left */
};

struct analyzer;

/* Which updates a detector reacts to: analyzer_notify() calls it for no other. */
enum {
        ANALYZER_SEES_CONNECT    = 1u << ANALYZER_CONNECT,
        ANALYZER_SEES_DISCONNECT = 1u << ANALYZER_DISCONNECT,
        ANALYZER_SEES_LEG_END    = 1u << ANALYZER_LEG_END,
        ANALYZER_SEES_LEVEL      = 1u << ANALYZER_LEVEL,        /* a LEVEL update that is no boundary */
        ANALYZER_SEES_BREAK      = 1u << ANALYZER_BREAK,
        ANALYZER_SEES_BOUNDARY   = 1u << (ANALYZER_BREAK + 1),  /* a LEVEL update that is a boundary */
        _ANALYZER_SEES_BITS      = ANALYZER_BREAK + 2,
        ANALYZER_SEES_ALL        = (1u << _ANALYZER_SEES_BITS) - 1,
};

/* One detector: a kind, its state, and how it reacts. */
struct detector {
        enum finding_kind kind;
        size_t state_size;
        unsigned sees;          /* ANALYZER_SEES_*: the updates update() reacts to */
        void (*init)(struct analyzer *a, void *state);
        void (*update)(struct analyzer *a, void *state, const struct analyzer_update *u);
        void (*timer)(struct analyzer *a, void *state, int64_t due);
        /* for checkpoint.c, where the plain state needs more than a copy: the finding the
         * state embeds (its pointers are rebuilt), and whether restored indices are in range */
        struct finding *(*state_finding)(void *state);
        bool (*state_valid)(const void *state);
};

/* Ordered by alignment, widest first, so that nothing is padding; the groups say what
 * belongs together. */
struct analyzer {
        const struct analyzer_config *config;   /* the caller's (or the defaults), shared, not state */
        analyzer_finding_cb cb;
        void *userdata;
        struct analyzer_open *opens;    /* the open episodes' findings, one allocation in kind order
                                         * (analyzer_open_find), NULL if none. An open episode has
                                         * none if there was no memory for it at the raise: its
                                         * CLEARED edge then repeats no evidence (nothing else
                                         * changes). One pointer where each kind had its own. */

        /* 8 bytes wide */
        int64_t now;                    /* monotonic timeline */
        int64_t offset;                 /* monotonic − log clock */
        struct hpevent last;            /* the last event fed, as given, for duplicate lines */
        int64_t connected_since;
        int64_t disconnected_since;
        int64_t level_time;             /* of `level` */
        int64_t pending_time;           /* of `pending` */
        int64_t last_move;              /* time of the last report that moved (not flicker) */
        struct analyzer_leg leg;
        struct analyzer_ring charges, drains;
        double early_points, early_hours;       /* sums of the first n_early falls: battery-degraded's early life */
        double gap_charge_bound;        /* best lower bound on the charge rate from rises across gaps, %/h */
        int64_t due[_FINDING_KIND_MAX];
        int64_t due_bound;              /* no timer is due before this (a lower bound of due[]; 0 is always safe) */

        /* 4 bytes wide */
        int connected;                  /* -1 unknown, 0, 1 */
        int level;                      /* last report, -1 none */
        int filtered;                   /* hysteresis-filtered level */
        int pending;                    /* one step against the leg, -1 none */
        int flicker;                    /* the value flicker last left or pended to, -1 none */
        int step;
        unsigned n_early;               /* the first falls ever recorded, at most ANALYZER_EARLY_MAX */

        /* 2 bytes wide */
        uint16_t listeners[_ANALYZER_SEES_BITS]; /* per update bit, the enabled detectors that see it (bit per kind);
                                                  * derived from config.enabled by analyzer_new() */
        uint16_t state_at[_FINDING_KIND_MAX]; /* where each detector's state starts, in bytes from the
                                               * analyzer: the same allocation, after the struct
                                               * (analyzer_new); 20 bytes where pointers took 80 */
        uint16_t open_packed;           /* bit k: open episode k has its finding in opens[] */

        /* bytes */
        struct analyzer_record charge_buf[ANALYZER_CHARGES_MAX];       /* packed records */
        struct analyzer_record drain_buf[ANALYZER_DRAINS_MAX];
        char device[ADDRESS_STRING_MAX];
        int8_t deltas[ANALYZER_DELTAS_MAX];     /* the last changes the step is learned from, 1 to 20 */
        uint8_t n_deltas, next_delta;
        bool started;
        bool have_last;                 /* `last` holds an event */
        bool connect_logged;            /* this connection began with a logged connect (not implied, no break since) */
        bool level_valid_time;          /* level_time is on this timeline (false after time went back) */
        bool in_run;                    /* level reported in this connection since the last break */
        bool open[_FINDING_KIND_MAX];
        uint8_t open_severity[_FINDING_KIND_MAX];       /* of each open episode */
};
_Static_assert(ANALYZER_DELTAS_MAX <= UINT8_MAX, "analyzer.n_deltas and next_delta are bytes");

/* Detector k's state. Not const even for a const analyzer: the states are the detectors'
 * own objects, which only share the analyzer's allocation. */
static inline void *analyzer_state(const struct analyzer *a, int k) {
        return (unsigned char *) a + a->state_at[k];
}

/* Whether a byte restored from a checkpoint is a bool, 0 or 1; it is read as a byte, since
 * reading any other value as a bool is undefined (checkpoint.c, detectors' state_valid). */
static inline bool analyzer_bool_ok(const bool *b) {
        unsigned char v;

        memcpy(&v, b, 1);
        return v <= 1;
}

/* Checkpoint bounds (checkpoint.c, the detectors' state_valid): a restored state must hold
 * only values the analyzer's arithmetic is safe with. Times within ±2^50 ms (35,000 years)
 * or ANALYZER_NEVER; levels -1 (none) to 100; reals finite and far from overflowing an
 * int64 when taken as milliseconds (or NaN where the analyzer keeps NaN for "none"). */
#define ANALYZER_TIME_BOUND (INT64_C(1) << 50)
#define ANALYZER_REAL_BOUND 1e15

/* Whether a restored time is one the analyzer can add durations to. */
static inline bool analyzer_time_ok(int64_t t) {
        return t == ANALYZER_NEVER || (t > -ANALYZER_TIME_BOUND && t < ANALYZER_TIME_BOUND);
}

/* Whether every time of a restored array is in range. */
static inline bool analyzer_times_ok(const int64_t *t, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                if (!analyzer_time_ok(t[i]))
                        return false;
        return true;
}

/* Whether a restored level is -1 (none) or a percentage. */
static inline bool analyzer_level_ok(int v) {
        return v >= -1 && v <= 100;
}

/* Whether a restored real is finite and bounded. */
static inline bool analyzer_real_ok(double v) {
        return isfinite(v) && v > -ANALYZER_REAL_BOUND && v < ANALYZER_REAL_BOUND;
}

/* The same, or NaN (for reals that say "none" that way). */
static inline bool analyzer_real_or_nan_ok(double v) {
        return isnan(v) || analyzer_real_ok(v);
}

/* Whether a restored finding's enums, count and time are in range. */
static inline bool analyzer_finding_ok(const struct finding *f) {
        if (f->kind < 0 || f->kind >= _FINDING_KIND_MAX || f->state < 0 || f->state >= _FINDING_STATE_MAX ||
            f->severity < 0 || f->severity >= _FINDING_SEVERITY_MAX || f->n_evidence > FINDING_EVIDENCE_MAX ||
            !analyzer_time_ok(f->time_ms))
                return false;
        return memchr(f->device, '\0', sizeof(f->device)) != NULL;
}

/* Whether a restored open episode's count and time are in range (its names are checked
 * when checkpoint.c restores them). */
static inline bool analyzer_open_ok(const struct analyzer_open *o) {
        return o->n_evidence <= FINDING_EVIDENCE_MAX && analyzer_time_ok(o->time_ms);
}

/* every detector, indexed by kind (analyzer.c) */
extern const struct detector *const analyzer_detectors[_FINDING_KIND_MAX];

/* detectors, one per file */
extern const struct detector detect_charge_stall;
extern const struct detector detect_slow_charge;
extern const struct detector detect_intermittent_charge;
extern const struct detector detect_fast_drain;
extern const struct detector detect_battery_degraded;
extern const struct detector detect_sudden_drop;
extern const struct detector detect_not_holding_charge;
extern const struct detector detect_connection_unstable;
extern const struct detector detect_low_battery;
extern const struct detector detect_deep_discharge_risk;

/* for detectors: findings, timers and learned figures */
void analyzer_finding_init(const struct analyzer *a, enum finding_kind k, enum finding_severity s, int64_t t,
                           struct finding *ret);
void analyzer_raise(struct analyzer *a, struct finding *f);
void analyzer_clear(struct analyzer *a, enum finding_kind k, int64_t t);
void analyzer_arm(struct analyzer *a, enum finding_kind k, int64_t due);
void analyzer_open_pack(const struct finding *f, struct analyzer_open *ret);
void analyzer_open_unpack(const struct analyzer *a, enum finding_kind k, struct finding *ret);

/* Where kind k's packed finding stands (or would stand) in a->opens: they are kept in kind
 * order, so after those of the kinds below k. */
static inline unsigned analyzer_open_slot(const struct analyzer *a, int k) {
        return (unsigned) __builtin_popcount(a->open_packed & ((1u << k) - 1));
}

/* Open episode k's packed finding in a->opens, NULL if it has none. */
static inline struct analyzer_open *analyzer_open_find(const struct analyzer *a, int k) {
        if (!(a->open_packed & (1u << k)))
                return NULL;
        return &a->opens[analyzer_open_slot(a, k)];
}

/* Whether an episode of this kind is open (inline: every detector asks at every update). */
static inline bool analyzer_is_open(const struct analyzer *a, enum finding_kind k) {
        return k >= 0 && k < _FINDING_KIND_MAX && a->open[k];
}

double analyzer_hours(int64_t ms);
double analyzer_median(const double *v, unsigned n);
bool analyzer_usual_charge_rate(const struct analyzer *a, double *ret);
bool analyzer_drain_baseline(const struct analyzer *a, unsigned exclude_flags, double *ret);
double analyzer_fall_pace_ms(const struct analyzer *a);
double analyzer_slow_charge_threshold(const struct analyzer *a, double *ret_usual);

/* history rings (analyzer-ring.c) */
double analyzer_record_rate(const struct analyzer_record *r);
void analyzer_ring_init(struct analyzer_ring *ring, struct analyzer_record *buf, unsigned cap);
unsigned analyzer_ring_size(const struct analyzer_ring *ring);
const struct analyzer_record *analyzer_ring_get(const struct analyzer_ring *ring, unsigned age);
void analyzer_ring_push(struct analyzer_ring *ring, const struct analyzer_record *rec);
double analyzer_ring_median_of(double *v, unsigned n);
void analyzer_ring_stats(const struct analyzer_ring *ring, unsigned skip, unsigned exclude, bool median,
                         struct analyzer_ring_stats *ret);
bool analyzer_ring_median(const struct analyzer_ring *ring, unsigned exclude, unsigned min, double *ret);
unsigned analyzer_leg_steps(const struct analyzer *a, const struct analyzer_leg *leg);
double analyzer_leg_rate(const struct analyzer_leg *leg);
double analyzer_leg_cc_rate(const struct analyzer *a, const struct analyzer_leg *leg);
double analyzer_leg_cc_rate_floor(const struct analyzer *a, const struct analyzer_leg *leg);
