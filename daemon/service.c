/* hpmond — the D-Bus service: org.hpmon.Monitor1 on the system bus.
 *
 * Shaped like systemd's timedated.c: the context is the userdata of the manager's vtable,
 * a device is the userdata of the device vtable (found from its path), method handlers
 * read → validate → (check authority: nothing here changes state yet) → reply, and every
 * failure is a negative errno turned into a named error by one table (busdef_errors). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "registry.h"
#include "service.h"
#include "writer.h"

/* Sets the named error for a negative errno (busdef_errors), with a message. */
static int service_error(sd_bus_error *error, int r, const char *format, ...) __attribute__((format(printf, 3, 4)));
static int service_error(sd_bus_error *error, int r, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        r = sd_bus_error_setfv(error, busdef_error_name(r), format, ap);
        va_end(ap);
        return r;
}

/* Finds the device behind an object path below HPMON_DEVICES_PATH. */
static int service_device_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                               void **ret_found, sd_bus_error *error) {
        struct context *c = userdata;
        char address[ADDRESS_STRING_MAX];
        struct device *d;

        if (busdef_device_address(path, address) < 0)
                return 0;
        d = registry_find(c, address);
        if (!d || !d->published)
                return 0;
        *ret_found = d;
        return 1;
}

/* Lists every published device's object path (for introspection and GetManagedObjects). */
static int service_device_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes,
                                    sd_bus_error *error) {
        struct context *c = userdata;
        char **nodes;
        size_t n = 0;

        nodes = calloc(c->n_devices + 1, sizeof(char *));
        if (!nodes)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_devices; i++) {
                if (!c->devices[i]->published)
                        continue;
                nodes[n] = strdup(c->devices[i]->path);
                if (!nodes[n]) {
                        for (size_t j = 0; j < n; j++)
                                free(nodes[j]);
                        free(nodes);
                        return -ENOMEM;
                }
                n++;
        }
        *ret_nodes = nodes;
        return 0;
}

/* Manager.Version */
static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

/* Manager.BluezRunning */
static int property_get_bluez_running(sd_bus *bus, const char *path, const char *interface, const char *property,
                                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct context *c = userdata;

        return sd_bus_message_append(reply, "b", c->bluez_running);
}

/* Manager.StateDirectory */
static int property_get_state_directory(sd_bus *bus, const char *path, const char *interface, const char *property,
                                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct context *c = userdata;

        return sd_bus_message_append(reply, "s", c->state_dir);
}

/* Manager.Logging: "active", or why logging is suspended. */
static int property_get_logging(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct context *c = userdata;

        return sd_bus_message_append(reply, "s", writer_state(c));
}

/* Manager.PendingEvents: changes waiting for room on disk. */
static int property_get_pending_events(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct context *c = userdata;

        return sd_bus_message_append(reply, "u", (uint32_t) writer_pending(c));
}

/* Manager.GetDevice(s address) → o: resolves any spelling of an address to its object. */
static int method_get_device(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct context *c = userdata;
        char address[ADDRESS_STRING_MAX];
        const char *arg;
        struct device *d;
        int r;

        r = sd_bus_message_read(m, "s", &arg);
        if (r < 0)
                return r;
        if (address_normalize(arg, address) < 0)
                return service_error(error, -EINVAL, "'%.64s' is not a Bluetooth address", arg);
        d = registry_find(c, address);
        if (!d || !d->published)
                return service_error(error, -ENODEV, "No device %s", address);
        return sd_bus_reply_method_return(m, "o", d->path);
}

/* Device.Address */
static int property_get_address(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct device *d = userdata;

        return sd_bus_message_append(reply, "s", d->address);
}

/* Device.Name */
static int property_get_name(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct device *d = userdata;

        return sd_bus_message_append(reply, "s", d->name);
}

/* Device.Connected */
static int property_get_connected(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct device *d = userdata;

        return sd_bus_message_append(reply, "b", d->state.connected == 1);
}

/* Device.Percentage: -1 until a level has been logged. */
static int property_get_percentage(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct device *d = userdata;

        return sd_bus_message_append(reply, "i", (int32_t) d->state.percentage);
}

/* Device.LastChange: Unix seconds of the last logged event. */
static int property_get_last_change(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct device *d = userdata;

        return sd_bus_message_append(reply, "d", (double) d->state.last_change_ms / 1000.0);
}

/* What GetHistory's reader needs per event. */
struct service_history {
        sd_bus_message *reply;
        int64_t since_ms;
};

/* History callback: appends one event at or after `since` to the reply. */
static int service_history_event_cb(void *userdata, const struct event *e) {
        struct service_history *h = userdata;

        if (e->time_ms < h->since_ms)
                return 0;
        return sd_bus_message_append(h->reply, "(dsi)", (double) e->time_ms / 1000.0,
                                     event_kind_to_string(e->kind), (int32_t) e->value);
}

/* Device.GetHistory(d since) → a(dsi): the device's log, read from disk on request. */
static int method_get_history(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct device *d = userdata;
        struct context *c = d->context;
        const struct chargelog_handler handler = { .event = service_history_event_cb };
        sd_bus_message *reply = NULL;
        struct service_history h;
        char fn[ADDRESS_STRING_MAX + 8];
        double since;
        int fd, r;

        r = sd_bus_message_read(m, "d", &since);
        if (r < 0)
                return r;
        if (!isfinite(since) || since < 0 || since > 1e12)
                return service_error(error, -EINVAL, "%s", "'since' must be Unix seconds, 0 for all");

        (void) chargelog_filename(d->address, fn, sizeof(fn));
        fd = openat(c->devices_fd, fn, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return service_error(error, -errno, "Cannot read the log of %s", d->address);

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(dsi)");
        if (r >= 0) {
                h = (struct service_history) { .reply = reply, .since_ms = (int64_t) (since * 1000.0) };
                r = chargelog_read_fd(fd, &handler, &h, NULL);
        }
        close(fd);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        if (r < 0)
                return service_error(error, r, "Cannot read the log of %s", d->address);
        return 1;
}

static const sd_bus_vtable service_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("BluezRunning", "b", property_get_bluez_running, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StateDirectory", "s", property_get_state_directory, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Logging", "s", property_get_logging, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PendingEvents", "u", property_get_pending_events, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("GetDevice", SD_BUS_ARGS("s", address), SD_BUS_RESULT("o", device),
                                method_get_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable service_device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Address", "s", property_get_address, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", property_get_name, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Connected", "b", property_get_connected, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Percentage", "i", property_get_percentage, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastChange", "d", property_get_last_change, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("GetHistory", SD_BUS_ARGS("d", since), SD_BUS_RESULT("a(dsi)", events),
                                method_get_history, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* Reply to RequestName: the daemon is nothing without its name, so failing to own it ends it. */
static int service_request_name_cb(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct context *c = userdata;
        uint32_t ret;
        int r;

        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(m);

                log_error("Cannot own %s: %s", HPMON_BUS_NAME, e->message ? e->message : e->name);
                goto fail;
        }
        r = sd_bus_message_read(m, "u", &ret);
        /* DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER (1) or _ALREADY_OWNER (4) */
        if (r < 0 || (ret != 1 && ret != 4)) {
                log_error("Cannot own %s: another hpmond is running.", HPMON_BUS_NAME);
                goto fail;
        }
        c->name_acquired = true;
        log_debug("Acquired %s.", HPMON_BUS_NAME);
        context_check_ready(c);
        return 0;
fail:
        c->exit_code = EXIT_FAILURE;
        event_base_loopexit(c->base, NULL);
        return 0;
}

/* Registers the objects and asks for the name; devices restored from logs are published at once. */
int service_start(struct context *c) {
        int r;

        r = sd_bus_add_object_manager(c->bus, NULL, HPMON_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Cannot add the object manager: %m");
        r = sd_bus_add_object_vtable(c->bus, NULL, HPMON_MANAGER_PATH, HPMON_MANAGER_IFACE, service_manager_vtable, c);
        if (r < 0)
                return log_error_errno(r, "Cannot add the manager object: %m");
        r = sd_bus_add_fallback_vtable(c->bus, NULL, HPMON_DEVICES_PATH, HPMON_DEVICE_IFACE, service_device_vtable,
                                       service_device_find, c);
        if (r < 0)
                return log_error_errno(r, "Cannot add the device objects: %m");
        r = sd_bus_add_node_enumerator(c->bus, NULL, HPMON_DEVICES_PATH, service_device_enumerate, c);
        if (r < 0)
                return log_error_errno(r, "Cannot add the device enumerator: %m");

        for (size_t i = 0; i < c->n_devices; i++)
                c->devices[i]->published = true;

        r = sd_bus_request_name_async(c->bus, NULL, HPMON_BUS_NAME, 0, service_request_name_cb, c);
        if (r < 0)
                return log_error_errno(r, "Cannot request %s: %m", HPMON_BUS_NAME);
        return 0;
}

/* Announces a new device (ObjectManager.InterfacesAdded). */
void service_device_added(struct context *c, struct device *d) {
        int r;

        d->published = true;
        r = sd_bus_emit_object_added(c->bus, d->path);
        if (r < 0)
                log_warning_errno(r, "Cannot announce %s, ignoring: %m", d->address);
}

/* Emits PropertiesChanged for what a change touched; LastChange moves with every logged event. */
void service_device_changed(struct context *c, struct device *d, unsigned mask) {
        char *names[5];
        size_t n = 0;
        int r;

        if (mask & DEVICE_CHANGED_NAME)
                names[n++] = (char *) "Name";
        if (mask & DEVICE_CHANGED_CONNECTED)
                names[n++] = (char *) "Connected";
        if (mask & DEVICE_CHANGED_PERCENTAGE)
                names[n++] = (char *) "Percentage";
        if (mask & (DEVICE_CHANGED_CONNECTED | DEVICE_CHANGED_PERCENTAGE))
                names[n++] = (char *) "LastChange";
        names[n] = NULL;
        if (n == 0)
                return;
        r = sd_bus_emit_properties_changed_strv(c->bus, d->path, HPMON_DEVICE_IFACE, names);
        if (r < 0)
                log_warning_errno(r, "Cannot announce a change of %s, ignoring: %m", d->address);
}

/* Emits PropertiesChanged for Manager.BluezRunning. */
void service_bluez_running_changed(struct context *c) {
        int r;

        r = sd_bus_emit_properties_changed(c->bus, HPMON_MANAGER_PATH, HPMON_MANAGER_IFACE, "BluezRunning", NULL);
        if (r < 0)
                log_warning_errno(r, "Cannot announce BluezRunning, ignoring: %m");
}

/* Emits PropertiesChanged for Manager.Logging and Manager.PendingEvents. */
void service_logging_changed(struct context *c) {
        int r;

        r = sd_bus_emit_properties_changed(c->bus, HPMON_MANAGER_PATH, HPMON_MANAGER_IFACE, "Logging", "PendingEvents",
                                           NULL);
        if (r < 0)
                log_warning_errno(r, "Cannot announce the logging state, ignoring: %m");
}
