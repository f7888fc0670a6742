/* hpctl monitor — prints each change as hpmond announces it: signals, never polling. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus-dict.h"
#include "busclient.h"
#include "cmd.h"
#include "render.h"

static int cmd_monitor_exec(const struct cmd_entry *self, struct cmd_args *args);

static const struct option cmd_monitor_options[] = {
        { "json", no_argument, NULL, 'j' },
        {}
};

const struct cmd_entry cmd_monitor_entry = {
        .name = "monitor",
        .usage = "[--json]",
        .summary = "print changes as they happen, until interrupted",
        .shortopts = "j",
        .longopts = cmd_monitor_options,
        .min_args = 0,
        .max_args = 0,
        .exec = cmd_monitor_exec,
};

/* What the monitor knows: names by address, to print whom a change is about. */
struct cmd_monitor {
        sd_bus *bus;
        bool json, color;
        struct busclient_device *devs;
        size_t n;
        int error;
};

/* The current time in Unix seconds. */
static double cmd_monitor_now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* The cached device with this address, added if new. */
static struct busclient_device *cmd_monitor_device(struct cmd_monitor *m, const char *address) {
        struct busclient_device *grown;

        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->devs[i].address, address) == 0)
                        return &m->devs[i];
        grown = realloc(m->devs, (m->n + 1) * sizeof(*m->devs));
        if (!grown)
                return NULL;
        m->devs = grown;
        m->devs[m->n] = (struct busclient_device) BUSCLIENT_DEVICE_INIT;
        snprintf(m->devs[m->n].address, sizeof(m->devs[0].address), "%s", address);
        return &m->devs[m->n++];
}

/* Prints one change: a JSON object per line, or a line for a person. `what` is a property
 * name ("Percentage", "Connected", "Name") or an event ("added", "removed", "hpmond-started"). */
static void cmd_monitor_print(struct cmd_monitor *m, double t, const struct busclient_device *d, const char *what) {
        char when[32];

        if (m->json) {
                struct json_object *o = json_object_new_object();

                json_object_object_add(o, "time", render_json_time(t));
                if (d)
                        json_object_object_add(o, "address", json_object_new_string(d->address));
                if (strcmp(what, "Percentage") == 0) {
                        json_object_object_add(o, "property", json_object_new_string(what));
                        json_object_object_add(o, "value", d->percentage >= 0 ? json_object_new_int(d->percentage) : NULL);
                } else if (strcmp(what, "Connected") == 0) {
                        json_object_object_add(o, "property", json_object_new_string(what));
                        json_object_object_add(o, "value", json_object_new_boolean(d->connected));
                } else if (strcmp(what, "Name") == 0) {
                        json_object_object_add(o, "property", json_object_new_string(what));
                        json_object_object_add(o, "value", json_object_new_string(d->name ? d->name : ""));
                } else {
                        json_object_object_add(o, "event", json_object_new_string(what));
                        if (d)
                                json_object_object_add(o, "name", json_object_new_string(d->name ? d->name : ""));
                }
                if (render_json(stdout, o) < 0)
                        m->error = -EPIPE;
                return;
        }

        render_time(when, sizeof(when), t);
        printf("%s  ", when);
        if (d)
                printf("%s%s%s (%s)  ", render_sgr(m->color, "1"), d->name && *d->name ? d->name : "(unnamed)",
                       render_sgr(m->color, "0"), d->address);
        if (strcmp(what, "Percentage") == 0)
                printf("battery %s%d%%%s\n", render_sgr(m->color, render_level_color(d->percentage)), d->percentage,
                       render_sgr(m->color, "0"));
        else if (strcmp(what, "Connected") == 0)
                printf("%s\n", d->connected ? "connected" : "disconnected");
        else if (strcmp(what, "Name") == 0)
                printf("renamed\n");
        else if (strcmp(what, "added") == 0)
                printf("now followed (battery %d%%)\n", d->percentage);
        else if (strcmp(what, "removed") == 0)
                printf("no longer followed\n");
        else if (strcmp(what, "hpmond-started") == 0)
                printf("hpmond started\n");
        else if (strcmp(what, "hpmond-stopped") == 0)
                printf("hpmond stopped; waiting for it to return\n");
        if (fflush(stdout) != 0)
                m->error = -EPIPE;
}

/* PropertiesChanged on a device: one line per property that moved. */
static int cmd_monitor_properties_cb(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        struct cmd_monitor *m = userdata;
        char address[ADDRESS_STRING_MAX];
        struct busclient_device *d;
        const char *iface;
        unsigned changed;
        double t = cmd_monitor_now();

        if (busdef_device_address(sd_bus_message_get_path(msg), address) < 0 ||
            sd_bus_message_read(msg, "s", &iface) < 0 || strcmp(iface, HPMON_DEVICE_IFACE) != 0)
                return 0;
        d = cmd_monitor_device(m, address);
        if (!d || busclient_read_device_props(msg, d, &changed) < 0)
                return 0;
        if (changed & BUSCLIENT_LAST_CHANGE)
                t = d->last_change;
        if (changed & BUSCLIENT_NAME)
                cmd_monitor_print(m, t, d, "Name");
        if (changed & BUSCLIENT_CONNECTED)
                cmd_monitor_print(m, t, d, "Connected");
        if (changed & BUSCLIENT_PERCENTAGE)
                cmd_monitor_print(m, t, d, "Percentage");
        return 0;
}

/* One interface of a device hpmond now follows: its Device properties update ours. */
static int cmd_monitor_added_interface_cb(sd_bus_message *msg, const char *path, const char *interface,
                                          void *userdata) {
        return strcmp(interface, HPMON_DEVICE_IFACE) == 0 ? busclient_read_device_props(msg, userdata, NULL)
                                                         : sd_bus_message_skip(msg, "a{sv}");
}

/* InterfacesAdded: hpmond follows a new device. */
static int cmd_monitor_added_cb(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        struct cmd_monitor *m = userdata;
        char address[ADDRESS_STRING_MAX];
        struct busclient_device *d;
        const char *path;

        if (sd_bus_message_read(msg, "o", &path) < 0 || busdef_device_address(path, address) < 0)
                return 0;
        d = cmd_monitor_device(m, address);
        if (!d)
                return 0;
        /* what could be read is shown, even from a malformed message */
        (void) bus_dict_read_interfaces(msg, path, cmd_monitor_added_interface_cb, d);
        cmd_monitor_print(m, d->last_change > 0 ? d->last_change : cmd_monitor_now(), d, "added");
        return 0;
}

/* InterfacesRemoved: hpmond stopped following a device. */
static int cmd_monitor_removed_cb(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        struct cmd_monitor *m = userdata;
        char address[ADDRESS_STRING_MAX];
        const char *path;
        struct busclient_device *d;

        if (sd_bus_message_read(msg, "o", &path) < 0 || busdef_device_address(path, address) < 0)
                return 0;
        d = cmd_monitor_device(m, address);
        if (d)
                cmd_monitor_print(m, cmd_monitor_now(), d, "removed");
        return 0;
}

/* NameOwnerChanged for hpmond: say when it goes and comes back, and re-learn the names. */
static int cmd_monitor_owner_cb(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        struct cmd_monitor *m = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) < 0 || strcmp(name, HPMON_BUS_NAME) != 0)
                return 0;
        if (*old_owner)
                cmd_monitor_print(m, cmd_monitor_now(), NULL, "hpmond-stopped");
        if (*new_owner)
                cmd_monitor_print(m, cmd_monitor_now(), NULL, "hpmond-started");
        return 0;
}

/* Subscribes, learns the current names, then sleeps in sd_bus_wait() until something arrives. */
static int cmd_monitor_exec(const struct cmd_entry *self, struct cmd_args *args) {
        struct cmd_monitor m = { .json = cmd_args_has(args, 'j') };
        int r;

        m.color = !m.json && render_color(stdout);
        if (busclient_open(&m.bus) < 0)
                return CMD_EXIT_FAILURE;

        r = sd_bus_match_signal(m.bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                "NameOwnerChanged", cmd_monitor_owner_cb, &m);
        if (r >= 0)
                r = sd_bus_match_signal(m.bus, NULL, HPMON_BUS_NAME, HPMON_MANAGER_PATH,
                                        "org.freedesktop.DBus.ObjectManager", "InterfacesAdded", cmd_monitor_added_cb, &m);
        if (r >= 0)
                r = sd_bus_match_signal(m.bus, NULL, HPMON_BUS_NAME, HPMON_MANAGER_PATH,
                                        "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", cmd_monitor_removed_cb, &m);
        if (r >= 0)
                r = sd_bus_add_match(m.bus, NULL,
                                     "type='signal',sender='" HPMON_BUS_NAME "',interface='org.freedesktop.DBus.Properties',"
                                     "member='PropertiesChanged',path_namespace='" HPMON_DEVICES_PATH "'",
                                     cmd_monitor_properties_cb, &m);
        if (r < 0) {
                busclient_fail(r, NULL, "cannot subscribe to hpmond's signals");
                goto fail;
        }
        /* after subscribing, so no change can fall between the list and the first signal */
        if (busclient_list(m.bus, &m.devs, &m.n, NULL) < 0)
                goto fail;
        if (!m.json && isatty(STDOUT_FILENO))
                fprintf(stderr, "Following %zu device(s); Ctrl-C to stop.\n", m.n);

        while (m.error == 0) {
                r = sd_bus_process(m.bus, NULL);
                if (r < 0) {
                        busclient_fail(r, NULL, "lost the system bus");
                        goto fail;
                }
                if (r > 0)
                        continue;
                r = sd_bus_wait(m.bus, UINT64_MAX);
                if (r < 0 && r != -EINTR) {
                        busclient_fail(r, NULL, "lost the system bus");
                        goto fail;
                }
        }
fail:
        busclient_devices_free(m.devs, m.n);
        sd_bus_flush_close_unref(m.bus);
        return m.error == -EPIPE ? 0 : CMD_EXIT_FAILURE;
}
