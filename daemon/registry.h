/* hpmond — the device registry: every headset's state, its open log, and the rule
 * "append to the log, then publish". */
#pragma once

#include "context.h"

/* Which published properties a change touched (for PropertiesChanged). */
enum {
        DEVICE_CHANGED_NAME       = 1 << 0,
        DEVICE_CHANGED_CONNECTED  = 1 << 1,
        DEVICE_CHANGED_PERCENTAGE = 1 << 2,
};

int registry_load(struct context *c);
struct device *registry_find(struct context *c, const char address[static ADDRESS_STRING_MAX]);
int registry_report(struct context *c, const char address[static ADDRESS_STRING_MAX], const char *name,
                    const struct devstate_report *r, int64_t now_ms);
void registry_sync_begin(struct context *c);
void registry_sync_end(struct context *c, int64_t now_ms);
void registry_free(struct context *c);
