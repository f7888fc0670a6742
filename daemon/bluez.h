/* hpmond — the BlueZ observer: follows org.bluez and reports devices to the registry. */
#pragma once

#include "context.h"

int bluez_new(struct context *c, struct bluez **ret);
void bluez_resync(struct bluez *b);
struct bluez *bluez_free(struct bluez *b);
