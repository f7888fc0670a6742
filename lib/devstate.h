/* hpmon — a device's state as the fold of its charge-log events, and what a report changes.
 * The daemon restores a device by replaying its log through devstate_apply(), and decides
 * what to log for a report from BlueZ with devstate_diff(): the same rule both ways. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chargelog.h"
#include "event.h"

struct devstate {
        int connected;          /* 0, 1, or -1 before any connected event */
        int percentage;         /* 0..100, or -1 before any battery event */
        int64_t last_change_ms; /* time of the last event applied, 0 if none */
        uint64_t events;        /* data events applied */
        int64_t discharged;     /* percentage points lost over the whole log: /100 = equivalent full cycles */
};

/* A report of a device's current state; -1 where the reporter does not know. */
struct devstate_report {
        int connected;
        int percentage;
};

void devstate_init(struct devstate *s);
void devstate_apply(struct devstate *s, const struct hpevent *e);
void devstate_report_merge(struct devstate_report *held, const struct devstate_report *later);
size_t devstate_diff(const struct devstate *s, const struct devstate_report *r, int64_t now_ms,
                     struct hpevent ret[static 2]);
