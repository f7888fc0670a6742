/* hpmon — what the analyzer tells: the ten finding kinds of DESIGN.md and one finding.
 *
 * A finding is one edge of an episode. Every kind has at most one episode open per
 * device at a time: FINDING_RAISED opens it (or, while it is open, escalates it: a
 * low-battery warning that becomes critical is a second RAISED with a higher severity),
 * FINDING_CLEARED closes it. A consumer that keys alerts on (device, kind) raises an
 * alert once per episode and clears it on the CLEARED edge; one that only wants the
 * news skips the CLEARED findings. When each kind clears is said in analyzer.h. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "address.h"

enum finding_kind {
        FINDING_CHARGE_STALL,
        FINDING_SLOW_CHARGE,
        FINDING_INTERMITTENT_CHARGE,
        FINDING_FAST_DRAIN,
        FINDING_BATTERY_DEGRADED,
        FINDING_SUDDEN_DROP,
        FINDING_NOT_HOLDING_CHARGE,
        FINDING_CONNECTION_UNSTABLE,
        FINDING_LOW_BATTERY,
        FINDING_DEEP_DISCHARGE_RISK,
        _FINDING_KIND_MAX,      /* == EVENT_FINDING_KINDS: ack/mute lines in logs name kinds by index */
        _FINDING_KIND_INVALID = -22, /* -EINVAL */
};

enum finding_state {
        FINDING_RAISED,         /* an episode begins, or an open one escalates */
        FINDING_CLEARED,        /* the episode is over */
        _FINDING_STATE_MAX,
};

enum finding_severity {
        FINDING_INFO,
        FINDING_WARNING,
        FINDING_CRITICAL,
        _FINDING_SEVERITY_MAX,
};

/* Named numbers a person can check; names carry their unit ("rate_pct_per_h", "flat_min"). */
#define FINDING_EVIDENCE_MAX 8

struct finding_evidence {
        const char *name;       /* static string */
        double value;
};

struct advice;

struct finding {
        enum finding_kind kind;
        enum finding_state state;
        enum finding_severity severity;
        int64_t time_ms;        /* Unix ms: when the analyzer could first know it */
        char device[ADDRESS_STRING_MAX]; /* "" if the analyzer was given none */
        unsigned n_evidence;
        struct finding_evidence evidence[FINDING_EVIDENCE_MAX];
        const struct advice *advice;    /* the guide's steps for this kind, never NULL */
};

const char *finding_kind_to_string(enum finding_kind k);
enum finding_kind finding_kind_from_string(const char *s);
const char *finding_state_to_string(enum finding_state s);
const char *finding_severity_to_string(enum finding_severity s);
const char *finding_evidence_name(const char *name, size_t len);
int finding_evidence_index(const char *name);
const char *finding_evidence_name_at(unsigned i);
unsigned finding_evidence_pack(const struct finding_evidence *ev, unsigned n, uint8_t ret_names[static FINDING_EVIDENCE_MAX],
                               double ret_values[static FINDING_EVIDENCE_MAX]);
void finding_evidence_unpack(const uint8_t *names, const double *values, unsigned n, struct finding_evidence *ret);
int finding_add_evidence(struct finding *f, const char *name, double value);
const struct finding_evidence *finding_get_evidence(const struct finding *f, const char *name);
