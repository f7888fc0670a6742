/* hpctl — talking to hpmond on the system bus. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <systemd/sd-bus.h>

#include "busalert.h"
#include "busdef.h"

/* A device as hpmond publishes it. */
struct busclient_device {
        char address[ADDRESS_STRING_MAX];
        char *name;
        bool connected;
        int percentage;                 /* -1: never reported */
        double last_change;             /* Unix seconds, 0: never */
        struct busalert *alerts;           /* active, unmuted */
        size_t n_alerts;
        char **muted;                   /* kind names, or "all"; NULL-terminated, NULL if none */
        double time_to_empty;           /* hours; < 0: unknown */
        double health;                  /* % of early-life runtime; < 0: unknown */
        double typical_charge_time;     /* hours; < 0: unknown */
        double cycles;                  /* equivalent full cycles; < 0: unknown */
};

/* A device before any property is read: every figure unknown. */
#define BUSCLIENT_DEVICE_INIT { .percentage = -1, .time_to_empty = -1, .health = -1, \
                                .typical_charge_time = -1, .cycles = -1 }

int busclient_open(sd_bus **ret);
int busclient_fail(int r, const sd_bus_error *error, const char *what);
int busclient_read_device_props(sd_bus_message *m, struct busclient_device *d, unsigned *ret_changed);
int busclient_read_objects(sd_bus_message *reply, struct busclient_device **ret, size_t *ret_n);
int busclient_list(sd_bus *bus, struct busclient_device **ret, size_t *ret_n, bool *ret_bluez);
int busclient_get_alerts(sd_bus *bus, bool all, struct busalert **ret, size_t *ret_n);
int busclient_set_muted(const char *address_arg, const char *kind_arg, bool mute);
int busclient_resolve(sd_bus *bus, const char *arg, char address[static ADDRESS_STRING_MAX], char **ret_path);
void busclient_devices_free(struct busclient_device *d, size_t n);

/* Bits of busclient_read_device_props()'s *ret_changed. */
enum {
        BUSCLIENT_NAME        = 1 << 0,
        BUSCLIENT_CONNECTED   = 1 << 1,
        BUSCLIENT_PERCENTAGE  = 1 << 2,
        BUSCLIENT_LAST_CHANGE = 1 << 3,
        BUSCLIENT_ADDRESS     = 1 << 4,
        BUSCLIENT_ALERTS      = 1 << 5,
        BUSCLIENT_MUTED       = 1 << 6,
        BUSCLIENT_FIGURES     = 1 << 7,       /* TimeToEmpty, Health, TypicalChargeTime, Cycles */
};
