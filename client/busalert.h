/* hpctl — alerts as hpmond publishes them, (ssssddba{sd}a(ss)), and how a person reads them.
 * (lib/alerts.h is the daemon's table that makes them; this is the client's copy off the bus.) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "address.h"
#include "finding.h"

/* The D-Bus signature of one alert and of a list of them. */
#define BUSALERT_SIGNATURE "(ssssddba{sd}a(ss))"
#define BUSALERT_CONTENTS "ssssddba{sd}a(ss)"

struct busalert_evidence {
        char *name;             /* carries its unit: "level_pct", "rate_pct_per_h" */
        double value;
};

struct busalert_step {
        char *ref;              /* "Step 6", "Q4" */
        char *title;            /* the guide's words */
};

/* One alert: one episode of one kind on one device. */
struct busalert {
        char *id;               /* "AABBCCDDEEFF-low-battery-1788220800123", stable across restarts */
        char address[ADDRESS_STRING_MAX];
        char *kind;             /* as sent, even a kind this hpctl does not know */
        enum finding_kind k;    /* _FINDING_KIND_INVALID for an unknown one */
        char *severity;         /* "info", "warning", "critical" */
        int level;              /* 0 info, 1 warning, 2 critical; 1 for an unknown severity */
        double raised;          /* Unix seconds */
        double cleared;         /* Unix seconds, 0 while active */
        bool acknowledged;
        size_t n_evidence;
        struct busalert_evidence *evidence;
        size_t n_advice;
        struct busalert_step *advice;
};

int busalert_read(sd_bus_message *m, struct busalert *ret);
int busalert_read_array(sd_bus_message *m, struct busalert **ret, size_t *ret_n);
void busalert_done(struct busalert *a);
struct busalert *busalert_array_free(struct busalert *a, size_t n);

const char *busalert_state(const struct busalert *a);
const char *busalert_meaning(const struct busalert *a);
const char *busalert_title(const struct busalert *a);
const char *busalert_icon(const struct busalert *a);
const struct busalert_evidence *busalert_get_evidence(const struct busalert *a, const char *name);
void busalert_evidence_line(const struct busalert *a, char *buf, size_t size);
void busalert_step_line(const struct busalert *a, char *buf, size_t size);
struct json_object *busalert_to_json(const struct busalert *a);
int busalert_severity_level(const char *severity);
