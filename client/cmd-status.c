/* hpctl status — every headset hpmond follows, as a table or JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "busclient.h"
#include "cmd.h"
#include "render.h"

static int cmd_status_exec(const struct cmd_entry *self, struct cmd_args *args);

static const struct option cmd_status_options[] = {
        { "json", no_argument, NULL, 'j' },
        {}
};

const struct cmd_entry cmd_status_entry = {
        .name = "status",
        .usage = "[--json]",
        .summary = "show every headset: level, last change, figures, active alerts",
        .shortopts = "j",
        .longopts = cmd_status_options,
        .min_args = 0,
        .max_args = 0,
        .exec = cmd_status_exec,
};

/* What the manager says about hpmond itself. */
struct cmd_status_manager {
        bool bluez;
        char *logging;          /* "active", or why logging is suspended */
        uint32_t pending;       /* changes waiting for room on disk */
};

/* A figure as JSON: null when hpmond does not know it (< 0). */
static struct json_object *cmd_status_json_figure(double v) {
        return v >= 0 ? render_json_number(v) : NULL;
}

/* The contract of `hpctl status --json`: address, name, connected, percentage (null if unknown),
 * last_change; then the alerts and the figures (null when unknown). */
static int cmd_status_json(const struct busclient_device *devs, size_t n, const struct cmd_status_manager *mgr) {
        struct json_object *root = json_object_new_object(), *arr = json_object_new_array();

        for (size_t i = 0; i < n; i++) {
                struct json_object *o = json_object_new_object(), *alerts, *muted;

                json_object_object_add(o, "address", json_object_new_string(devs[i].address));
                json_object_object_add(o, "name", json_object_new_string(devs[i].name ? devs[i].name : ""));
                json_object_object_add(o, "connected", json_object_new_boolean(devs[i].connected));
                json_object_object_add(o, "percentage", devs[i].percentage >= 0 ? json_object_new_int(devs[i].percentage) : NULL);
                json_object_object_add(o, "last_change", render_json_time(devs[i].last_change));
                alerts = json_object_new_array();
                for (size_t j = 0; j < devs[i].n_alerts; j++)
                        json_object_array_add(alerts, busalert_to_json(&devs[i].alerts[j]));
                json_object_object_add(o, "alerts", alerts);
                json_object_object_add(o, "time_to_empty_h", cmd_status_json_figure(devs[i].time_to_empty));
                json_object_object_add(o, "health_pct", cmd_status_json_figure(devs[i].health));
                json_object_object_add(o, "typical_charge_time_h", cmd_status_json_figure(devs[i].typical_charge_time));
                json_object_object_add(o, "cycles", cmd_status_json_figure(devs[i].cycles));
                muted = json_object_new_array();
                for (char **k = devs[i].muted; k && *k; k++)
                        json_object_array_add(muted, json_object_new_string(*k));
                json_object_object_add(o, "muted", muted);
                json_object_array_add(arr, o);
        }
        json_object_object_add(root, "devices", arr);
        json_object_object_add(root, "bluez_running", json_object_new_boolean(mgr->bluez));
        json_object_object_add(root, "logging", json_object_new_string(mgr->logging ? mgr->logging : "active"));
        json_object_object_add(root, "pending_events", json_object_new_int64(mgr->pending));
        return render_json(stdout, root) < 0 ? CMD_EXIT_FAILURE : 0;
}

/* "2.5 h", "40 min": a span in hours, for the figures line. */
static void cmd_status_hours(char *buf, size_t size, double h) {
        if (h < 1.0)
                snprintf(buf, size, "%.0f min", h * 60);
        else
                snprintf(buf, size, h < 10 ? "%.1f h" : "%.0f h", h);
}

/* The figures hpmond knows, on one line under the device; nothing when it knows none. */
static void cmd_status_figures(const struct busclient_device *d, bool color) {
        char line[256] = "", buf[64];
        size_t used = 0;

#define CMD_STATUS_ADD(...) \
        do { \
                snprintf(buf, sizeof(buf), __VA_ARGS__); \
                used += (size_t) snprintf(line + used, sizeof(line) - used, "%s%s", used ? ", " : "", buf); \
        } while (0)

        if (d->time_to_empty >= 0) {
                char h[32];
                cmd_status_hours(h, sizeof(h), d->time_to_empty);
                CMD_STATUS_ADD("empty in %s", h);
        }
        if (d->health >= 0)
                CMD_STATUS_ADD("health %.0f%%", d->health);
        if (d->typical_charge_time >= 0) {
                char h[32];
                cmd_status_hours(h, sizeof(h), d->typical_charge_time);
                CMD_STATUS_ADD("full charge takes %s", h);
        }
        if (d->cycles >= 0)
                CMD_STATUS_ADD(d->cycles < 10 ? "%.1f cycles" : "%.0f cycles", d->cycles);
        if (d->muted && d->muted[0]) {
                size_t l = (size_t) snprintf(buf, sizeof(buf), "muted:");
                for (char **k = d->muted; *k && l < sizeof(buf); k++)
                        l += (size_t) snprintf(buf + l, sizeof(buf) - l, " %s", *k);
                used += (size_t) snprintf(line + used, sizeof(line) - used, "%s%s", used ? ", " : "", buf);
        }
#undef CMD_STATUS_ADD
        if (used > 0)
                printf("  %s%s%s\n", render_sgr(color, "2"), line, render_sgr(color, "0"));
}

/* One line per active alert: severity, what it means, the evidence, the first step, the id. */
static void cmd_status_alert(const struct busalert *a, bool color) {
        static const char *const sgr[] = { "36", "33", "1;31" };
        char evidence[256], step[256];

        busalert_evidence_line(a, evidence, sizeof(evidence));
        busalert_step_line(a, step, sizeof(step));
        printf("  %s%-8s%s  %s%s%s%s%s%s  %s[%s%s]%s\n", render_sgr(color, sgr[a->level]), a->severity,
               render_sgr(color, "0"), busalert_meaning(a), *evidence ? ": " : "", evidence, *step ? " — " : "", step,
               *step && step[strlen(step) - 1] != '.' ? "." : "", render_sgr(color, "2"), a->id,
               a->acknowledged ? ", acknowledged" : "", render_sgr(color, "0"));
}

/* The table a person reads. */
static int cmd_status_table(const struct busclient_device *devs, size_t n, const struct cmd_status_manager *mgr) {
        bool color = render_color(stdout);
        double now = (double) time(NULL);
        int wname = 4;

        if (n == 0)
                printf("No headsets yet. hpmond follows every Bluetooth device that reports a battery level.\n");
        else {
                for (size_t i = 0; i < n; i++) {
                        int l = devs[i].name ? (int) strlen(devs[i].name) : 0;
                        if (l > wname)
                                wname = l > 32 ? 32 : l;
                }
                printf("%s%-*s  %-17s  %-9s  %5s  %s%s\n", render_sgr(color, "1"), wname, "NAME", "ADDRESS",
                       "CONNECTED", "LEVEL", "LAST CHANGE", render_sgr(color, "0"));
                for (size_t i = 0; i < n; i++) {
                        const struct busclient_device *d = &devs[i];
                        char when[32], ago[32], level[16];

                        render_time(when, sizeof(when), d->last_change);
                        render_ago(ago, sizeof(ago), now, d->last_change);
                        if (d->percentage >= 0)
                                snprintf(level, sizeof(level), "%d%%", d->percentage);
                        else
                                snprintf(level, sizeof(level), "-");
                        printf("%-*.*s  %-17s  %s%-9s%s  %s%5s%s  %s (%s)\n", wname, wname, d->name ? d->name : "",
                               d->address, render_sgr(color, d->connected ? "32" : "2"), d->connected ? "yes" : "no",
                               render_sgr(color, "0"), render_sgr(color, render_level_color(d->percentage)), level,
                               render_sgr(color, "0"), when, ago);
                        cmd_status_figures(d, color);
                        for (size_t j = 0; j < d->n_alerts; j++)
                                cmd_status_alert(&d->alerts[j], color);
                }
        }
        if (mgr->logging && strcmp(mgr->logging, "active") != 0)
                printf("%slogging %s: %u change(s) wait in memory until there is room.%s\n", render_sgr(color, "1;31"),
                       mgr->logging, mgr->pending, render_sgr(color, "0"));
        if (!mgr->bluez)
                printf("%sbluetoothd is not running: levels are the last ones seen.%s\n", render_sgr(color, "33"),
                       render_sgr(color, "0"));
        return fflush(stdout) == 0 ? 0 : CMD_EXIT_FAILURE;
}

/* Lists the devices and shows them. */
static int cmd_status_exec(const struct cmd_entry *self, struct cmd_args *args) {
        struct cmd_status_manager mgr = { .bluez = true };
        struct busclient_device *devs = NULL;
        sd_bus *bus = NULL;
        size_t n = 0;
        int r;

        if (busclient_open(&bus) < 0)
                return CMD_EXIT_FAILURE;
        r = busclient_list(bus, &devs, &n, &mgr.bluez);
        if (r >= 0) {
                (void) sd_bus_get_property_string(bus, HPMON_BUS_NAME, HPMON_MANAGER_PATH, HPMON_MANAGER_IFACE,
                                                  "Logging", NULL, &mgr.logging);
                (void) sd_bus_get_property_trivial(bus, HPMON_BUS_NAME, HPMON_MANAGER_PATH, HPMON_MANAGER_IFACE,
                                                   "PendingEvents", NULL, 'u', &mgr.pending);
        }
        sd_bus_flush_close_unref(bus);
        if (r < 0)
                return CMD_EXIT_FAILURE;
        r = cmd_args_has(args, 'j') ? cmd_status_json(devs, n, &mgr) : cmd_status_table(devs, n, &mgr);
        busclient_devices_free(devs, n);
        free(mgr.logging);
        return r;
}
