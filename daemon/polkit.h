/* hpmond — asking polkit whether the caller of a method may do it, without blocking. */
#pragma once

#include "context.h"

#define POLKIT_ACTION_MANAGE_ALERTS "org.hpmon.Monitor1.manage-alerts"

int polkit_check(struct context *c, sd_bus_message *m, const char *action, sd_bus_error *error);
void polkit_forget(struct context *c, sd_bus_message *m);
void polkit_free_all(struct context *c);
