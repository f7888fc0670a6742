/* hpmond — retention: compacts a headset's log once its oldest events are older than
 * [log] keep, into a checkpoint that keeps every finding about the kept span. */
#pragma once

#include "context.h"

void retention_run(struct context *c, struct device *d, int64_t now_ms);
