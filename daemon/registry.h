/* hpmond — the device registry: every headset's state, its open log, and the rule
 * "append to the log, then publish". */
#pragma once

#include "checkpoint.h"
#include "context.h"
#include "figures.h"

/* Which published properties a change touched (for PropertiesChanged). */
enum {
        DEVICE_CHANGED_NAME       = 1 << 0,
        DEVICE_CHANGED_CONNECTED  = 1 << 1,
        DEVICE_CHANGED_PERCENTAGE = 1 << 2,
        DEVICE_CHANGED_ALERTS     = 1 << 4,
        DEVICE_CHANGED_MUTED      = 1 << 5,
        /* the figures that moved: lib/figures.h's FIGURES_* bits, shifted */
        DEVICE_CHANGED_FIGURES_SHIFT = 6,
        DEVICE_CHANGED_TIME_TO_EMPTY = FIGURES_TIME_TO_EMPTY << DEVICE_CHANGED_FIGURES_SHIFT,
        DEVICE_CHANGED_HEALTH     = FIGURES_HEALTH << DEVICE_CHANGED_FIGURES_SHIFT,
        DEVICE_CHANGED_CHARGE_TIME = FIGURES_CHARGE_TIME << DEVICE_CHANGED_FIGURES_SHIFT,
        DEVICE_CHANGED_CYCLES     = FIGURES_CYCLES << DEVICE_CHANGED_FIGURES_SHIFT,
};

/* Replaying a log into a device: the state the parser's callbacks share. */
struct registry_replay {
        struct context *c;
        struct device *d;
        const char *file;
        struct checkpoint_reader checkpoint;    /* a compacted log's checkpoint lines, until its first event */
        int64_t stop_ms;                        /* 0, or stop before the first event at or after it */
        bool stopped;
        bool checkpoint_refused;                /* a checkpoint was there and could not be restored */
        bool quiet;                             /* a second reading (retention's): its problems were said at start-up */
};

extern const struct chargelog_handler registry_replay_handler;
void registry_replay_finish(struct registry_replay *rp);
struct device *registry_device_new(struct context *c, const char address[static ADDRESS_STRING_MAX], const char *name);
struct device *registry_device_free(struct device *d);
const struct analyzer_config *registry_device_config(const struct device *d);
int registry_load(struct context *c);
int registry_setup(struct context *c);
int registry_owner_event(struct context *c, struct device *d, enum event_kind kind, int value);
void registry_arm_deadline(struct context *c);
struct device *registry_find(struct context *c, const char address[static ADDRESS_STRING_MAX]);
struct device *registry_find_path(struct context *c, const char *path);
int registry_report(struct context *c, const char address[static ADDRESS_STRING_MAX], const char *name,
                    const struct devstate_report *r, int64_t now_ms);
void registry_sync_begin(struct context *c);
void registry_sync_end(struct context *c, int64_t now_ms);
void registry_report_gone(struct context *c, const char address[static ADDRESS_STRING_MAX], int64_t now_ms);
void registry_free(struct context *c);
