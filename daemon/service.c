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
#include "polkit.h"
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

#define SERVICE_ALERT_TYPE "ssssddba{sd}a(ss)"
/* from this many devices on, a GetManagedObjects reply is worth a malloc_trim() after it */
#define SERVICE_TRIM_DEVICES 16

/* Appends one alert as its D-Bus struct (id, address, kind, severity, raised, cleared,
 * acknowledged, evidence, advice). */
static int service_append_alert(sd_bus_message *m, const struct alert *a) {
        int r;

        r = sd_bus_message_open_container(m, 'r', SERVICE_ALERT_TYPE);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ssssddb", a->id, a->address, finding_kind_to_string(a->kind),
                                  finding_severity_to_string(a->severity), (double) a->raised_ms / 1000.0,
                                  (double) a->cleared_ms / 1000.0, (int) a->acknowledged);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sd}");
        for (unsigned i = 0; r >= 0 && i < a->n_evidence; i++)
                r = sd_bus_message_append(m, "{sd}", a->evidence[i].name, a->evidence[i].value);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(ss)");
        for (unsigned i = 0; r >= 0 && a->advice && i < a->advice->n_steps; i++)
                r = sd_bus_message_append(m, "(ss)", a->advice->steps[i].ref, a->advice->steps[i].title);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* Appends a device's active alerts that are not muted. */
static int service_append_device_alerts(sd_bus_message *m, const struct device *d) {
        int r = 0;

        for (int k = 0; r >= 0 && k < _FINDING_KIND_MAX; k++)
                if (alerts_visible(&d->alerts, (enum finding_kind) k))
                        r = service_append_alert(m, alerts_get_open(&d->alerts, (enum finding_kind) k));
        return r;
}

/* Finds the device behind an object path below HPMON_DEVICES_PATH. */
static int service_device_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                               void **ret_found, sd_bus_error *error) {
        struct context *c = userdata;
        struct device *d;

        /* sd-bus asks at every property it reads: a lookup of the path itself, no parsing */
        d = registry_find_path(c, path);
        if (!d || !d->published)
                return 0;
        *ret_found = d;
        return 1;
}

/* Lists every published device's object path (for introspection and GetManagedObjects).
 * The reply being built is the biggest message hpmond makes (≈ 0.8 KiB a device), so the
 * heap it leaves behind is handed back on the loop's next turn. */
static int service_device_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes,
                                    sd_bus_error *error) {
        struct context *c = userdata;
        char **nodes;
        size_t n = 0;

        if (c->n_devices >= SERVICE_TRIM_DEVICES)
                context_trim_soon(c);

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

/* Manager.Alerts: every device's active, unmuted alerts. */
static int property_get_alerts(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct context *c = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(" SERVICE_ALERT_TYPE ")");
        for (size_t i = 0; r >= 0 && i < c->n_devices; i++)
                r = service_append_device_alerts(reply, c->devices[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* Manager.GetAlerts(b all): the active alerts, and with `all` the cleared ones kept too. */
static int method_get_alerts(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct context *c = userdata;
        sd_bus_message *reply = NULL;
        struct alert past;
        int all, r;

        r = sd_bus_message_read(m, "b", &all);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(" SERVICE_ALERT_TYPE ")");
        for (size_t i = 0; r >= 0 && i < c->n_devices; i++) {
                const struct device *d = c->devices[i];

                r = service_append_device_alerts(reply, d);
                for (unsigned h = 0; r >= 0 && all && alerts_history_get(&d->alerts, h, &past); h++)
                        r = service_append_alert(reply, &past);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r < 0 ? r : 1;
}

/* Manager.Acknowledge(s id): the owner has seen an active alert. Logged as an "ack" event,
 * so it survives restarts. Authorised by polkit (manage-alerts). */
static int method_acknowledge(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct context *c = userdata;
        char address[ADDRESS_STRING_MAX];
        struct alert found, *a = NULL;
        struct device *d = NULL;
        const char *id;
        int r;

        r = sd_bus_message_read(m, "s", &id);
        if (r < 0)
                return r;
        if (alerts_id_address(id, address) >= 0 && (d = registry_find(c, address)) &&
            alerts_find(&d->alerts, id, &found))
                a = &found;
        if (!a || a->cleared_ms != 0) {
                polkit_forget(c, m);
                return service_error(error, -ENOENT, "No active alert '%.80s'", id);
        }
        if (a->acknowledged) {
                polkit_forget(c, m);
                return sd_bus_reply_method_return(m, NULL);
        }

        r = polkit_check(c, m, POLKIT_ACTION_MANAGE_ALERTS, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = registry_owner_event(c, d, EVENT_ACK, a->kind);
        if (r < 0)
                return service_error(error, r, "Cannot record the acknowledgement of %s", id);
        log_info("Alert %s acknowledged.", id);
        return sd_bus_reply_method_return(m, NULL);
}

/* Shared by Mute and Unmute: read → validate → nothing to do? → polkit → log → reply. */
static int service_mute(sd_bus_message *m, struct context *c, sd_bus_error *error, bool mute) {
        char address[ADDRESS_STRING_MAX];
        const char *arg, *kind_arg;
        struct device *d;
        unsigned bits;
        int kind, r;

        r = sd_bus_message_read(m, "ss", &arg, &kind_arg);
        if (r < 0)
                return r;
        if (address_normalize(arg, address) < 0)
                return service_error(error, -EINVAL, "'%.64s' is not a Bluetooth address", arg);
        if (*kind_arg == '\0')
                kind = EVENT_ALL_KINDS;
        else if ((kind = finding_kind_from_string(kind_arg)) < 0)
                return service_error(error, -EINVAL, "'%.64s' is not a kind of alert", kind_arg);
        d = registry_find(c, address);
        if (!d || !d->published)
                return service_error(error, -ENODEV, "No device %s", address);

        bits = kind == EVENT_ALL_KINDS ? (1u << _FINDING_KIND_MAX) - 1 : 1u << kind;
        if (mute ? (d->alerts.muted & bits) == bits : (d->alerts.muted & bits) == 0) {
                polkit_forget(c, m);    /* another caller did it while polkit decided */
                return sd_bus_reply_method_return(m, NULL);
        }

        r = polkit_check(c, m, POLKIT_ACTION_MANAGE_ALERTS, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = registry_owner_event(c, d, mute ? EVENT_MUTE : EVENT_UNMUTE, kind);
        if (r < 0)
                return service_error(error, r, "Cannot record the change for %s", address);
        log_info("%s %s for %s.", mute ? "Muted" : "Unmuted", *kind_arg ? kind_arg : "every alert", address);
        return sd_bus_reply_method_return(m, NULL);
}

/* Manager.Mute(s address, s kind): no alerts of that kind ("" = any) for that device. */
static int method_mute(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return service_mute(m, userdata, error, true);
}

/* Manager.Unmute(s address, s kind) */
static int method_unmute(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return service_mute(m, userdata, error, false);
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

/* Device.Alerts */
static int property_get_device_alerts(sd_bus *bus, const char *path, const char *interface, const char *property,
                                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct device *d = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(" SERVICE_ALERT_TYPE ")");
        if (r >= 0)
                r = service_append_device_alerts(reply, d);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* Device.Muted: the muted kinds, or just "all". */
static int property_get_muted(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct device *d = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r >= 0 && d->alerts.muted == (1u << _FINDING_KIND_MAX) - 1)
                r = sd_bus_message_append(reply, "s", "all");
        else
                for (int k = 0; r >= 0 && k < _FINDING_KIND_MAX; k++)
                        if (alerts_muted(&d->alerts, (enum finding_kind) k))
                                r = sd_bus_message_append(reply, "s", finding_kind_to_string((enum finding_kind) k));
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* Device.TimeToEmpty, Health, TypicalChargeTime, Cycles: -1 while unknown. */
static int property_get_figure(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct device *d = userdata;
        double v = strcmp(property, "TimeToEmpty") == 0 ? d->figures.time_to_empty_h :
                   strcmp(property, "Health") == 0 ? d->figures.health_pct :
                   strcmp(property, "TypicalChargeTime") == 0 ? d->figures.typical_charge_h :
                   d->figures.cycles;

        return sd_bus_message_append(reply, "d", v);
}

/* GetHistory returns at most this many events, the newest: a reply stays far below the bus's
 * message limit (32 MiB on dbus-daemon) and quick to build, however long a log grows. */
#define SERVICE_HISTORY_MAX 100000

/* What GetHistory's reader needs: a ring of the newest events at or after `since`. */
struct service_history {
        int64_t since_ms;
        struct hpevent *ring;
        size_t n, next;
};

/* History callback: keeps one event at or after `since`, dropping the oldest past the cap. */
static int service_history_event_cb(void *userdata, const struct hpevent *e) {
        struct service_history *h = userdata;

        if (e->time_ms < h->since_ms)
                return 0;
        h->ring[h->next] = *e;
        h->next = (h->next + 1) % SERVICE_HISTORY_MAX;
        if (h->n < SERVICE_HISTORY_MAX)
                h->n++;
        return 0;
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

        h = (struct service_history) { .since_ms = (int64_t) (since * 1000.0) };
        h.ring = malloc(SERVICE_HISTORY_MAX * sizeof(*h.ring));
        r = h.ring ? chargelog_read_fd(fd, &handler, &h, NULL) : -ENOMEM;
        close(fd);
        if (r >= 0)
                r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(dsi)");
        for (size_t i = 0; r >= 0 && i < h.n; i++) {
                const struct hpevent *e = &h.ring[(h.next + SERVICE_HISTORY_MAX - h.n + i) % SERVICE_HISTORY_MAX];

                r = sd_bus_message_append(reply, "(dsi)", (double) e->time_ms / 1000.0, event_kind_to_string(e->kind),
                                          (int32_t) e->value);
        }
        free(h.ring);
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
        SD_BUS_PROPERTY("Alerts", "a(" SERVICE_ALERT_TYPE ")", property_get_alerts, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Logging", "s", property_get_logging, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PendingEvents", "u", property_get_pending_events, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("GetDevice", SD_BUS_ARGS("s", address), SD_BUS_RESULT("o", device),
                                method_get_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetAlerts", SD_BUS_ARGS("b", all), SD_BUS_RESULT("a(" SERVICE_ALERT_TYPE ")", alerts),
                                method_get_alerts, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Acknowledge", SD_BUS_ARGS("s", id), SD_BUS_NO_RESULT,
                                method_acknowledge, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Mute", SD_BUS_ARGS("s", address, "s", kind), SD_BUS_NO_RESULT,
                                method_mute, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Unmute", SD_BUS_ARGS("s", address, "s", kind), SD_BUS_NO_RESULT,
                                method_unmute, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("AlertRaised", SD_BUS_ARGS("(" SERVICE_ALERT_TYPE ")", alert), 0),
        SD_BUS_SIGNAL_WITH_ARGS("AlertCleared", SD_BUS_ARGS("(" SERVICE_ALERT_TYPE ")", alert), 0),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable service_device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Address", "s", property_get_address, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", property_get_name, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Connected", "b", property_get_connected, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Percentage", "i", property_get_percentage, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastChange", "d", property_get_last_change, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Alerts", "a(" SERVICE_ALERT_TYPE ")", property_get_device_alerts, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Muted", "as", property_get_muted, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TimeToEmpty", "d", property_get_figure, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Health", "d", property_get_figure, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TypicalChargeTime", "d", property_get_figure, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Cycles", "d", property_get_figure, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
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

/* Builds and sends PropertiesChanged for `names` of a device, each value from the getter the
 * device vtable names for it. sd_bus_emit_properties_changed_strv() does the same, but finds
 * the object, its vtables and each member again through sd-bus's tables at every change: two
 * thirds of the user-space instructions of an update. Returns -EOPNOTSUPP for a property that
 * is not a plain EMITS_CHANGE one of the vtable: the caller then lets sd-bus do it. */
static int service_emit_device_properties(struct context *c, struct device *d, char **names) {
        sd_bus_message *m = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (!d->published)
                return 0;       /* as sd-bus's own emit would find no object to speak for */
        r = sd_bus_message_new_signal(c->bus, &m, d->path, "org.freedesktop.DBus.Properties", "PropertiesChanged");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", HPMON_DEVICE_IFACE);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (char **name = names; r >= 0 && *name; name++) {
                const sd_bus_vtable *v;

                for (v = service_device_vtable; v->type != _SD_BUS_VTABLE_END; v++)
                        if (v->type == _SD_BUS_VTABLE_PROPERTY && strcmp(v->x.property.member, *name) == 0)
                                break;
                if (v->type == _SD_BUS_VTABLE_END || !(v->flags & SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE) ||
                    !v->x.property.get) {
                        r = -EOPNOTSUPP;
                        break;
                }
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", *name);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', v->x.property.signature);
                if (r >= 0)
                        r = v->x.property.get(c->bus, d->path, HPMON_DEVICE_IFACE, *name, m, d, &error);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        sd_bus_error_free(&error);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "as", 0);
        if (r >= 0)
                r = sd_bus_send(c->bus, m, NULL);
        sd_bus_message_unref(m);
        return r;
}

/* Emits PropertiesChanged for what a change touched; LastChange moves with every logged event. */
void service_device_changed(struct context *c, struct device *d, unsigned mask) {
        char *names[12];
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
        if (mask & DEVICE_CHANGED_TIME_TO_EMPTY)
                names[n++] = (char *) "TimeToEmpty";
        if (mask & DEVICE_CHANGED_HEALTH)
                names[n++] = (char *) "Health";
        if (mask & DEVICE_CHANGED_CHARGE_TIME)
                names[n++] = (char *) "TypicalChargeTime";
        if (mask & DEVICE_CHANGED_CYCLES)
                names[n++] = (char *) "Cycles";
        if (mask & DEVICE_CHANGED_ALERTS)
                names[n++] = (char *) "Alerts";
        if (mask & DEVICE_CHANGED_MUTED)
                names[n++] = (char *) "Muted";
        names[n] = NULL;
        if (n == 0)
                return;
        r = service_emit_device_properties(c, d, names);
        if (r == -EOPNOTSUPP)
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

/* Emits AlertRaised or AlertCleared with the alert. */
static void service_emit_alert(struct context *c, const char *member, const struct alert *a) {
        sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_signal(c->bus, &m, HPMON_MANAGER_PATH, HPMON_MANAGER_IFACE, member);
        if (r >= 0)
                r = service_append_alert(m, a);
        if (r >= 0)
                r = sd_bus_send(c->bus, m, NULL);
        sd_bus_message_unref(m);
        if (r < 0)
                log_warning_errno(r, "Cannot announce alert %s, ignoring: %m", a->id);
}

/* Emits PropertiesChanged for the Alerts of the manager and of one device. */
static void service_alerts_property_changed(struct context *c, struct device *d, unsigned more) {
        int r;

        r = sd_bus_emit_properties_changed(c->bus, HPMON_MANAGER_PATH, HPMON_MANAGER_IFACE, "Alerts", NULL);
        if (r < 0)
                log_warning_errno(r, "Cannot announce the alerts, ignoring: %m");
        service_device_changed(c, d, DEVICE_CHANGED_ALERTS | more);
}

/* The analyzer raised, escalated, updated or cleared an alert: announce what the owner
 * should hear (nothing for a muted kind, whose alert is not shown). */
void service_alert_changed(struct context *c, struct device *d, enum alerts_change change, const struct alert *a) {
        if (alerts_muted(&d->alerts, a->kind))
                return;
        switch (change) {
        case ALERTS_RAISED:
        case ALERTS_ESCALATED:
                log_notice("Alert %s: %s on %s (%s).", a->id, finding_kind_to_string(a->kind), d->address,
                           finding_severity_to_string(a->severity));
                service_emit_alert(c, "AlertRaised", a);
                break;
        case ALERTS_CLEARED:
                log_info("Alert %s cleared.", a->id);
                service_emit_alert(c, "AlertCleared", a);
                break;
        default:
                break;
        }
        service_alerts_property_changed(c, d, 0);
}

/* The owner acknowledged, muted or unmuted: update the properties; alerts an unmute makes
 * visible again are announced as raised, since nobody has been told of them. */
void service_alerts_owner_changed(struct context *c, struct device *d, enum alerts_change change, const struct hpevent *e) {
        if (change == ALERTS_UNMUTED)
                for (int k = 0; k < _FINDING_KIND_MAX; k++)
                        if ((e->value == EVENT_ALL_KINDS || e->value == k) && alerts_visible(&d->alerts, (enum finding_kind) k))
                                service_emit_alert(c, "AlertRaised", alerts_get_open(&d->alerts, (enum finding_kind) k));
        service_alerts_property_changed(c, d, change == ALERTS_ACKNOWLEDGED ? 0 : DEVICE_CHANGED_MUTED);
}
