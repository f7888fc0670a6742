/* hpmond — decoding BlueZ's a{sv} property dictionaries.
 *
 * Nothing from the bus is trusted: a property of the wrong D-Bus type or out of range is
 * left out (its bit stays clear) and described in ret->problems for the caller to log, and
 * decoding goes on with the next property. Only a message whose structure is not a{sv}
 * at all fails as a whole. Non-logging, so the unit test can drive it with built messages. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bluez-decode.h"
#include "bus-dict.h"
#include "busdef.h"

/* Notes a rejected value; past BLUEZ_PROBLEMS_MAX only the count grows. */
static void bluez_decode_problem(struct bluez_props *p, const char *key, const char *what) {
        if (p->n_problems < BLUEZ_PROBLEMS_MAX)
                snprintf(p->problems[p->n_problems], sizeof(p->problems[0]), "%.40s: %s", key, what);
        p->n_problems++;
}

/* Reads a string variant into a clean, bounded copy. */
static int bluez_decode_string(sd_bus_message *m, char *buf, size_t size) {
        const char *s;
        int r;

        r = sd_bus_message_read(m, "v", "s", &s);
        if (r < 0)
                return r;
        chargelog_clean_name(s, buf, size);
        return 0;
}

/* What bluez_decode_props() passes to each property. */
struct bluez_decode_walk {
        const char *interface;
        struct bluez_props *props;
};

/* Decodes the variant at the read position as `interface`'s property `key` into *p (the
 * a{sv} walk below, and a Properties.Get reply), checking its type first; skips a
 * property hpmond does not use. A bad value is noted in p->problems, never an error; a
 * reply that holds no variant there (nothing, or a bare value: sd-bus does not check a
 * reply's signature) is -EBADMSG. */
int bluez_decode_value(sd_bus_message *m, const char *interface, const char *key, struct bluez_props *p) {
        bool is_device = strcmp(interface, BLUEZ_DEVICE_IFACE) == 0;
        bool is_battery = strcmp(interface, BLUEZ_BATTERY_IFACE) == 0;
        const char *sig;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &sig);
        if (r < 0)
                return r;
        if (r == 0 || type != SD_BUS_TYPE_VARIANT || !sig)
                return -EBADMSG;
        if (is_device && strcmp(key, "Connected") == 0) {
                int b;

                if (strcmp(sig, "b") != 0)
                        goto wrong_type;
                r = sd_bus_message_read(m, "v", "b", &b);
                if (r < 0)
                        return r;
                p->connected = b;
                p->present |= BLUEZ_PROP_CONNECTED;
                return 0;
        }
        if (is_device && strcmp(key, "Address") == 0) {
                const char *s;

                if (strcmp(sig, "s") != 0)
                        goto wrong_type;
                r = sd_bus_message_read(m, "v", "s", &s);
                if (r < 0)
                        return r;
                if (address_normalize(s, p->address) < 0) {
                        bluez_decode_problem(p, key, "not a Bluetooth address");
                        return 0;
                }
                p->present |= BLUEZ_PROP_ADDRESS;
                return 0;
        }
        if (is_device && (strcmp(key, "Name") == 0 || strcmp(key, "Alias") == 0)) {
                bool alias = key[0] == 'A';

                if (strcmp(sig, "s") != 0)
                        goto wrong_type;
                r = bluez_decode_string(m, alias ? p->alias : p->name, sizeof(p->name));
                if (r < 0)
                        return r;
                p->present |= alias ? BLUEZ_PROP_ALIAS : BLUEZ_PROP_NAME;
                return 0;
        }
        if (is_battery && strcmp(key, "Percentage") == 0) {
                uint8_t v;

                if (strcmp(sig, "y") != 0)
                        goto wrong_type;
                r = sd_bus_message_read(m, "v", "y", &v);
                if (r < 0)
                        return r;
                if (!event_value_valid(EVENT_BATTERY, v)) {
                        char what[48];

                        snprintf(what, sizeof(what), "%u is out of range 0..100", v);
                        bluez_decode_problem(p, key, what);
                        return 0;
                }
                p->percentage = v;
                p->present |= BLUEZ_PROP_PERCENTAGE;
                return 0;
        }
        return sd_bus_message_skip(m, "v");

wrong_type:
        {
                char what[64];

                snprintf(what, sizeof(what), "unexpected D-Bus type '%.16s'", sig);
                bluez_decode_problem(p, key, what);
        }
        return sd_bus_message_skip(m, "v");
}

/* One entry of the a{sv}. */
static int bluez_decode_one_cb(sd_bus_message *m, const char *key, void *userdata) {
        struct bluez_decode_walk *w = userdata;

        return bluez_decode_value(m, w->interface, key, w->props);
}

/* Decodes an a{sv} of `interface` at the message's read position into a fresh *ret. */
int bluez_decode_props(sd_bus_message *m, const char *interface, struct bluez_props *ret) {
        struct bluez_decode_walk w = { .interface = interface, .props = ret };

        bluez_decode_init(ret);
        return bus_dict_read_properties(m, bluez_decode_one_cb, &w);
}

/* Empties *ret: nothing present, no problems. */
void bluez_decode_init(struct bluez_props *ret) {
        *ret = (struct bluez_props) { .percentage = -1 };
}

/* Overlays what `from` has onto `into`; values `from` lacks keep their old ones. */
void bluez_decode_merge(struct bluez_props *into, const struct bluez_props *from) {
        if (from->present & BLUEZ_PROP_ADDRESS)
                memcpy(into->address, from->address, sizeof(into->address));
        if (from->present & BLUEZ_PROP_NAME)
                memcpy(into->name, from->name, sizeof(into->name));
        if (from->present & BLUEZ_PROP_ALIAS)
                memcpy(into->alias, from->alias, sizeof(into->alias));
        if (from->present & BLUEZ_PROP_CONNECTED)
                into->connected = from->connected;
        if (from->present & BLUEZ_PROP_PERCENTAGE)
                into->percentage = from->percentage;
        into->present |= from->present;
}
