/* hpmond — decoding BlueZ's property dictionaries, checking every value. */
#pragma once

#include <stdbool.h>

#include <systemd/sd-bus.h>

#include "chargelog.h"

enum {
        BLUEZ_PROP_ADDRESS    = 1 << 0,
        BLUEZ_PROP_NAME       = 1 << 1,
        BLUEZ_PROP_ALIAS      = 1 << 2,
        BLUEZ_PROP_CONNECTED  = 1 << 3,
        BLUEZ_PROP_PERCENTAGE = 1 << 4,
};

#define BLUEZ_PROBLEMS_MAX 4

/* The properties hpmond uses, each valid where its bit is in `present`, plus what was wrong. */
struct bluez_props {
        unsigned present;
        char address[ADDRESS_STRING_MAX];
        char name[CHARGELOG_NAME_MAX + 1];
        char alias[CHARGELOG_NAME_MAX + 1];
        bool connected;
        int percentage;
        unsigned n_problems;
        char problems[BLUEZ_PROBLEMS_MAX][128];
};

void bluez_decode_init(struct bluez_props *ret);
int bluez_decode_value(sd_bus_message *m, const char *interface, const char *key, struct bluez_props *p);
int bluez_decode_props(sd_bus_message *m, const char *interface, struct bluez_props *ret);
void bluez_decode_merge(struct bluez_props *into, const struct bluez_props *from);
