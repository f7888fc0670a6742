/* hpctl — the client side of org.hpmon.Monitor1: connecting, reading devices, and
 * turning a failed call into one line a person understands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-dict.h"
#include "busclient.h"

/* Connects to the system bus ($DBUS_SYSTEM_BUS_ADDRESS or the standard socket), registering
 * hpmond's errors so sd_bus_error_get_errno() knows them: the same table the daemon uses. */
int busclient_open(sd_bus **ret) {
        static sd_bus_error_map map[16];
        size_t n = 0;
        int r;

        if (!map[0].name) {
                for (const struct busdef_error *e = busdef_errors; e->name && n < 15; e++, n++)
                        map[n] = (sd_bus_error_map) SD_BUS_ERROR_MAP(e->name, e->errnum);
                map[n] = (sd_bus_error_map) SD_BUS_ERROR_MAP_END;
                (void) sd_bus_error_add_map(map);
        }
        r = sd_bus_open_system_with_description(ret, "hpctl");
        if (r < 0) {
                fprintf(stderr, "hpctl: cannot connect to the system bus: %s\n", strerror(-r));
                return r;
        }
        return 0;
}

/* Says why a call failed in one line on stderr; returns the exit code for it. */
int busclient_fail(int r, const sd_bus_error *error, const char *what) {
        if (error && sd_bus_error_is_set(error)) {
                if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                           SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_DISCONNECTED))
                        fprintf(stderr, "hpctl: hpmond is not running (nothing owns %s on the system bus)\n",
                                HPMON_BUS_NAME);
                else if (sd_bus_error_has_names(error, HPMON_ERROR_NOT_AUTHORIZED,
                                                SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
                        fprintf(stderr, "hpctl: %s: not authorized (polkit said no)\n", what);
                else if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED))
                        fprintf(stderr, "hpctl: %s: permission denied (%s)\n", what, error->message ? error->message : error->name);
                else
                        fprintf(stderr, "hpctl: %s: %s\n", what, error->message ? error->message : error->name);
        } else
                fprintf(stderr, "hpctl: %s: %s\n", what, strerror(r < 0 ? -r : r));
        return 1;
}

/* Frees a NULL-terminated list of strings; returns NULL. */
static char **busclient_strv_free(char **l) {
        for (char **s = l; s && *s; s++)
                free(*s);
        free(l);
        return NULL;
}

/* What busclient_read_device_props() passes to each property. */
struct busclient_walk_props {
        struct busclient_device *device;
        unsigned changed;
};

/* Reads one property of org.hpmon.Monitor1.Device; skips those hpctl does not know. */
static int busclient_read_device_prop_cb(sd_bus_message *m, const char *key, void *userdata) {
        struct busclient_walk_props *w = userdata;
        struct busclient_device *d = w->device;
        const char *s;
        int r, b;

        if (strcmp(key, "Address") == 0) {
                r = sd_bus_message_read(m, "v", "s", &s);
                if (r >= 0)
                        snprintf(d->address, sizeof(d->address), "%s", s);
                w->changed |= BUSCLIENT_ADDRESS;
        } else if (strcmp(key, "Name") == 0) {
                r = sd_bus_message_read(m, "v", "s", &s);
                if (r >= 0) {
                        char *n = strdup(s);
                        if (!n)
                                return -ENOMEM;
                        free(d->name);
                        d->name = n;
                }
                w->changed |= BUSCLIENT_NAME;
        } else if (strcmp(key, "Connected") == 0) {
                r = sd_bus_message_read(m, "v", "b", &b);
                d->connected = b;
                w->changed |= BUSCLIENT_CONNECTED;
        } else if (strcmp(key, "Percentage") == 0) {
                int32_t v;
                r = sd_bus_message_read(m, "v", "i", &v);
                d->percentage = v;
                w->changed |= BUSCLIENT_PERCENTAGE;
        } else if (strcmp(key, "LastChange") == 0) {
                r = sd_bus_message_read(m, "v", "d", &d->last_change);
                w->changed |= BUSCLIENT_LAST_CHANGE;
        } else if (strcmp(key, "Alerts") == 0) {
                struct busalert *list = NULL;
                size_t n = 0;

                r = sd_bus_message_enter_container(m, 'v', "a" BUSALERT_SIGNATURE);
                if (r >= 0)
                        r = busalert_read_array(m, &list, &n);
                if (r >= 0) {
                        busalert_array_free(d->alerts, d->n_alerts);
                        d->alerts = list;
                        d->n_alerts = n;
                        r = sd_bus_message_exit_container(m);
                }
                w->changed |= BUSCLIENT_ALERTS;
        } else if (strcmp(key, "Muted") == 0) {
                char **l = NULL;

                r = sd_bus_message_enter_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_read_strv(m, &l);
                if (r >= 0) {
                        busclient_strv_free(d->muted);
                        d->muted = l;
                        r = sd_bus_message_exit_container(m);
                }
                w->changed |= BUSCLIENT_MUTED;
        } else if (strcmp(key, "TimeToEmpty") == 0) {
                r = sd_bus_message_read(m, "v", "d", &d->time_to_empty);
                w->changed |= BUSCLIENT_FIGURES;
        } else if (strcmp(key, "Health") == 0) {
                r = sd_bus_message_read(m, "v", "d", &d->health);
                w->changed |= BUSCLIENT_FIGURES;
        } else if (strcmp(key, "TypicalChargeTime") == 0) {
                r = sd_bus_message_read(m, "v", "d", &d->typical_charge_time);
                w->changed |= BUSCLIENT_FIGURES;
        } else if (strcmp(key, "Cycles") == 0) {
                r = sd_bus_message_read(m, "v", "d", &d->cycles);
                w->changed |= BUSCLIENT_FIGURES;
        } else
                r = sd_bus_message_skip(m, "v");
        return r;
}

/* Reads an a{sv} of org.hpmon.Monitor1.Device into *d, noting which properties it held. */
int busclient_read_device_props(sd_bus_message *m, struct busclient_device *d, unsigned *ret_changed) {
        struct busclient_walk_props w = { .device = d };
        int r;

        r = bus_dict_read_properties(m, busclient_read_device_prop_cb, &w);
        if (r < 0)
                return r;
        if (ret_changed)
                *ret_changed = w.changed;
        return r;
}

/* Orders devices by name, then address, for a stable table. */
static int busclient_compare(const void *a, const void *b) {
        const struct busclient_device *x = a, *y = b;
        int c = strcmp(x->name ? x->name : "", y->name ? y->name : "");

        return c ? c : strcmp(x->address, y->address);
}

/* A growing list of devices, as busclient_read_objects() reads them. */
struct busclient_walk_objects {
        struct busclient_device *devices;
        size_t n;
};

/* One interface of one of hpmond's objects: each Device interface is a device; the manager
 * itself sits under the object manager too, and is skipped. */
static int busclient_read_object_cb(sd_bus_message *m, const char *path, const char *interface, void *userdata) {
        struct busclient_walk_objects *w = userdata;
        struct busclient_device *nd;

        if (strcmp(interface, HPMON_DEVICE_IFACE) != 0)
                return sd_bus_message_skip(m, "a{sv}");
        nd = realloc(w->devices, (w->n + 1) * sizeof(*nd));
        if (!nd)
                return -ENOMEM;
        w->devices = nd;
        nd = &w->devices[w->n++];
        *nd = (struct busclient_device) BUSCLIENT_DEVICE_INIT;
        return busclient_read_device_props(m, nd, NULL);
}

/* Reads a GetManagedObjects reply of hpmond into a list of devices, ordered by name. */
int busclient_read_objects(sd_bus_message *reply, struct busclient_device **ret, size_t *ret_n) {
        struct busclient_walk_objects w = {};
        int r;

        r = bus_dict_read_objects(reply, busclient_read_object_cb, &w);
        if (r < 0) {
                busclient_devices_free(w.devices, w.n);
                return r;
        }
        if (w.n > 1)
                qsort(w.devices, w.n, sizeof(*w.devices), busclient_compare);
        *ret = w.devices;
        *ret_n = w.n;
        return 0;
}

/* Lists every device with GetManagedObjects, and whether bluetoothd is running. */
int busclient_list(sd_bus *bus, struct busclient_device **ret, size_t *ret_n, bool *ret_bluez) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r, running = 1;

        r = sd_bus_call_method(bus, HPMON_BUS_NAME, HPMON_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &error, &reply, NULL);
        if (r < 0) {
                busclient_fail(r, &error, "cannot list devices");
                sd_bus_error_free(&error);
                return r;
        }
        r = busclient_read_objects(reply, ret, ret_n);
        sd_bus_message_unref(reply);
        if (r < 0) {
                fprintf(stderr, "hpctl: hpmond's device list is malformed: %s\n", strerror(-r));
                return r;
        }

        if (ret_bluez) {
                r = sd_bus_get_property_trivial(bus, HPMON_BUS_NAME, HPMON_MANAGER_PATH, HPMON_MANAGER_IFACE,
                                                "BluezRunning", NULL, 'b', &running);
                *ret_bluez = r < 0 ? true : running;
        }
        return 0;
}

/* GetAlerts(all): the active alerts of every device, and with `all` the cleared ones too;
 * says why on failure. */
int busclient_get_alerts(sd_bus *bus, bool all, struct busalert **ret, size_t *ret_n) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, HPMON_BUS_NAME, HPMON_MANAGER_PATH, HPMON_MANAGER_IFACE, "GetAlerts",
                               &error, &reply, "b", (int) all);
        if (r < 0) {
                busclient_fail(r, &error, "cannot list alerts");
                sd_bus_error_free(&error);
                return r;
        }
        r = busalert_read_array(reply, ret, ret_n);
        sd_bus_message_unref(reply);
        if (r < 0)
                fprintf(stderr, "hpctl: hpmond's alert list is malformed: %s\n", strerror(-r));
        return r;
}

/* Mute(address, kind) or Unmute: validates both first (hpmond does too), so a typo never
 * reaches polkit; kind NULL, "" or "all" means every kind. Says why on failure. */
int busclient_set_muted(const char *address_arg, const char *kind_arg, bool mute) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char address[ADDRESS_STRING_MAX];
        const char *kind = "";
        sd_bus *bus = NULL;
        int r;

        if (address_normalize(address_arg, address) < 0) {
                fprintf(stderr, "hpctl: '%s' is not a Bluetooth address (expected AA:BB:CC:DD:EE:FF)\n", address_arg);
                return -EINVAL;
        }
        if (kind_arg && *kind_arg && strcmp(kind_arg, "all") != 0) {
                if (finding_kind_from_string(kind_arg) < 0) {
                        fprintf(stderr, "hpctl: '%s' is not a kind of alert (one of", kind_arg);
                        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                                fprintf(stderr, "%s %s", k ? "," : "", finding_kind_to_string(k));
                        fprintf(stderr, ", or all)\n");
                        return -EINVAL;
                }
                kind = kind_arg;
        }
        r = busclient_open(&bus);
        if (r < 0)
                return r;
        (void) sd_bus_set_allow_interactive_authorization(bus, true);
        r = sd_bus_call_method(bus, HPMON_BUS_NAME, HPMON_MANAGER_PATH, HPMON_MANAGER_IFACE, mute ? "Mute" : "Unmute",
                               &error, NULL, "ss", address, kind);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, HPMON_ERROR_NO_SUCH_DEVICE))
                        fprintf(stderr, "hpctl: no device %s (hpctl status lists the known ones)\n", address);
                else
                        busclient_fail(r, &error, mute ? "cannot mute" : "cannot unmute");
        }
        sd_bus_error_free(&error);
        sd_bus_flush_close_unref(bus);
        return r;
}

/* Validates an address argument and asks hpmond for its object; says why on failure. */
int busclient_resolve(sd_bus *bus, const char *arg, char address[static ADDRESS_STRING_MAX], char **ret_path) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *path;
        int r;

        if (address_normalize(arg, address) < 0) {
                fprintf(stderr, "hpctl: '%s' is not a Bluetooth address (expected AA:BB:CC:DD:EE:FF)\n", arg);
                return -EINVAL;
        }
        r = sd_bus_call_method(bus, HPMON_BUS_NAME, HPMON_MANAGER_PATH, HPMON_MANAGER_IFACE, "GetDevice",
                               &error, &reply, "s", address);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, HPMON_ERROR_NO_SUCH_DEVICE))
                        fprintf(stderr, "hpctl: no device %s (hpctl status lists the known ones)\n", address);
                else
                        busclient_fail(r, &error, address);
                sd_bus_error_free(&error);
                return r;
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0) {
                *ret_path = strdup(path);
                r = *ret_path ? 0 : -ENOMEM;
        }
        sd_bus_message_unref(reply);
        return r;
}

/* Frees a device list. */
void busclient_devices_free(struct busclient_device *d, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(d[i].name);
                busalert_array_free(d[i].alerts, d[i].n_alerts);
                busclient_strv_free(d[i].muted);
        }
        free(d);
}
