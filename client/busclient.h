/* hpctl — talking to hpmond on the system bus. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <systemd/sd-bus.h>

#include "busdef.h"

/* A device as hpmond publishes it. */
struct busclient_device {
        char address[ADDRESS_STRING_MAX];
        char *name;
        bool connected;
        int percentage;                 /* -1: never reported */
        double last_change;             /* Unix seconds, 0: never */
};

int busclient_open(sd_bus **ret);
int busclient_fail(int r, const sd_bus_error *error, const char *what);
int busclient_read_device_props(sd_bus_message *m, struct busclient_device *d, unsigned *ret_changed);
int busclient_list(sd_bus *bus, struct busclient_device **ret, size_t *ret_n, bool *ret_bluez);
int busclient_resolve(sd_bus *bus, const char *arg, char address[static ADDRESS_STRING_MAX], char **ret_path);
void busclient_devices_free(struct busclient_device *d, size_t n);

/* Bits of busclient_read_device_props()'s *ret_changed. */
enum {
        BUSCLIENT_NAME        = 1 << 0,
        BUSCLIENT_CONNECTED   = 1 << 1,
        BUSCLIENT_PERCENTAGE  = 1 << 2,
        BUSCLIENT_LAST_CHANGE = 1 << 3,
        BUSCLIENT_ADDRESS     = 1 << 4,
};
