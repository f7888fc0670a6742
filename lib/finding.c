/* hpmon — finding kinds, states and severities, spelt as DESIGN.md and the JSON output spell them. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "finding.h"

static const char *const finding_kind_table[_FINDING_KIND_MAX] = {
        [FINDING_CHARGE_STALL] = "charge-stall",
        [FINDING_SLOW_CHARGE] = "slow-charge",
        [FINDING_INTERMITTENT_CHARGE] = "intermittent-charge",
        [FINDING_FAST_DRAIN] = "fast-drain",
        [FINDING_BATTERY_DEGRADED] = "battery-degraded",
        [FINDING_SUDDEN_DROP] = "sudden-drop",
        [FINDING_NOT_HOLDING_CHARGE] = "not-holding-charge",
        [FINDING_CONNECTION_UNSTABLE] = "connection-unstable",
        [FINDING_LOW_BATTERY] = "low-battery",
        [FINDING_DEEP_DISCHARGE_RISK] = "deep-discharge-risk",
};

static const char *const finding_state_table[_FINDING_STATE_MAX] = {
        [FINDING_RAISED] = "raised",
        [FINDING_CLEARED] = "cleared",
};

static const char *const finding_severity_table[_FINDING_SEVERITY_MAX] = {
        [FINDING_INFO] = "info",
        [FINDING_WARNING] = "warning",
        [FINDING_CRITICAL] = "critical",
};

/* Every evidence name a detector may give, with its unit in the name. A finding keeps a
 * pointer into this table, never the detector's own string, so a checkpoint (checkpoint.c)
 * can store a name as text and restore the same pointer in another process. */
static const char *const finding_evidence_names[] = {
        "after_pct",
        "average_rate_pct_per_h",
        "away_min",
        "baseline_h",
        "baseline_pct_per_h",
        "baseline_runtime_h",
        "before_pct",
        "charge_rate_pct_per_h",
        "confirmed_after_min",
        "confirmed_by_time",
        "connects",
        "discharges",
        "drain_rate_pct_per_h",
        "drop_pct",
        "duration_min",
        "early_drain_rate_pct_per_h",
        "early_runtime_h",
        "empty_days",
        "fall_min",
        "fall_step_min",
        "flat_min",
        "from_pct",
        "level_after_wait_pct",
        "level_pct",
        "measured_h",
        "minutes",
        "rate_pct_per_h",
        "ratio",
        "reversals",
        "rise_step_min",
        "risen_pct",
        "runtime_h",
        "span_min",
        "step_pct",
        "threshold_pct",
        "threshold_pct_per_h",
        "to_pct",
        "usual_rate_pct_per_h",
        "wait_min",
        "window_h",
        "window_min",
        "within_min",
};
_Static_assert(sizeof(finding_evidence_names) / sizeof(*finding_evidence_names) <= 256,
               "an open episode keeps an evidence name as a one-byte index (analyzer-internal.h)");

/* A kind's name ("charge-stall"), or NULL for one out of range. */
const char *finding_kind_to_string(enum finding_kind k) {
        if (k < 0 || k >= _FINDING_KIND_MAX)
                return NULL;
        return finding_kind_table[k];
}

/* Looks a kind up by its name; -EINVAL for a name that is none of the ten. */
enum finding_kind finding_kind_from_string(const char *s) {
        if (!s)
                return _FINDING_KIND_INVALID;
        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                if (strcmp(finding_kind_table[k], s) == 0)
                        return (enum finding_kind) k;
        return _FINDING_KIND_INVALID;
}

/* "raised" or "cleared", or NULL. */
const char *finding_state_to_string(enum finding_state s) {
        if (s < 0 || s >= _FINDING_STATE_MAX)
                return NULL;
        return finding_state_table[s];
}

/* "info", "warning" or "critical", or NULL. */
const char *finding_severity_to_string(enum finding_severity s) {
        if (s < 0 || s >= _FINDING_SEVERITY_MAX)
                return NULL;
        return finding_severity_table[s];
}

/* The table's own pointer for an evidence name, or NULL for a name not in it. */
const char *finding_evidence_name(const char *name, size_t len) {
        for (size_t i = 0; i < sizeof(finding_evidence_names) / sizeof(*finding_evidence_names); i++)
                if (strlen(finding_evidence_names[i]) == len && memcmp(finding_evidence_names[i], name, len) == 0)
                        return finding_evidence_names[i];
        return NULL;
}

/* The index of a name in the table (the table's own pointer, as findings hold it), or
 * -EINVAL: an open episode keeps its evidence names as these one-byte indices (analyzer.c). */
int finding_evidence_index(const char *name) {
        for (size_t i = 0; i < sizeof(finding_evidence_names) / sizeof(*finding_evidence_names); i++)
                if (finding_evidence_names[i] == name)
                        return (int) i;
        return -EINVAL;
}

/* The table's name at an index, or NULL past its end. */
const char *finding_evidence_name_at(unsigned i) {
        if (i >= sizeof(finding_evidence_names) / sizeof(*finding_evidence_names))
                return NULL;
        return finding_evidence_names[i];
}

/* Packs evidence for keeping: each name as its index in the table, beside its value. A
 * name that is not the table's own pointer is looked up by its text; one the table does
 * not have is left out. Returns how many were kept (at most FINDING_EVIDENCE_MAX). Open
 * episodes (analyzer.c), cleared alerts (alerts.c) and checkpoints keep evidence so. */
unsigned finding_evidence_pack(const struct finding_evidence *ev, unsigned n, uint8_t ret_names[static FINDING_EVIDENCE_MAX],
                               double ret_values[static FINDING_EVIDENCE_MAX]) {
        unsigned kept = 0;

        for (unsigned i = 0; i < n && i < FINDING_EVIDENCE_MAX; i++) {
                const char *name = ev[i].name;
                int k = finding_evidence_index(name);

                if (k < 0 && name)
                        k = finding_evidence_index(finding_evidence_name(name, strlen(name)));
                if (k < 0)
                        continue;
                ret_names[kept] = (uint8_t) k;
                ret_values[kept++] = ev[i].value;
        }
        return kept;
}

/* The evidence finding_evidence_pack() kept, with the table's names back. */
void finding_evidence_unpack(const uint8_t *names, const double *values, unsigned n, struct finding_evidence *ret) {
        for (unsigned i = 0; i < n && i < FINDING_EVIDENCE_MAX; i++)
                ret[i] = (struct finding_evidence) { .name = finding_evidence_name_at(names[i]), .value = values[i] };
}

/* Appends one named number; -ENOSPC once the fixed array is full, -EINVAL for a name not in
 * finding_evidence_names (both detector bugs, never data: the unit tests trip the assert). */
int finding_add_evidence(struct finding *f, const char *name, double value) {
        const char *known = finding_evidence_name(name, strlen(name));

        assert(known);
        if (!known)
                return -EINVAL;
        if (f->n_evidence >= FINDING_EVIDENCE_MAX)
                return -ENOSPC;
        f->evidence[f->n_evidence++] = (struct finding_evidence) { .name = known, .value = value };
        return 0;
}

/* The evidence of that name, or NULL. */
const struct finding_evidence *finding_get_evidence(const struct finding *f, const char *name) {
        for (unsigned i = 0; i < f->n_evidence; i++)
                if (strcmp(f->evidence[i].name, name) == 0)
                        return &f->evidence[i];
        return NULL;
}
