/* hpmond — the host going to sleep: headsets are logged disconnected before it does. */
#pragma once

#include "context.h"

struct sleep;

int sleep_new(struct context *c, struct sleep **ret);
struct sleep *sleep_free(struct sleep *s);
