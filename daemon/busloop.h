/* hpmond — sd-bus driven by a libevent loop. */
#pragma once

#include <event2/event.h>
#include <systemd/sd-bus.h>

struct busloop;

int busloop_new(sd_bus *bus, struct event_base *base, struct busloop **ret);
int busloop_rearm(struct busloop *l);
int busloop_error(const struct busloop *l);
struct busloop *busloop_free(struct busloop *l);
