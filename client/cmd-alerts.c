/* hpctl alerts — every device's alerts, active (or all, with --all), as a table or JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "busclient.h"
#include "cmd.h"
#include "render.h"

static int cmd_alerts_exec(const struct cmd_entry *self, struct cmd_args *args);

static const struct option cmd_alerts_options[] = {
        { "json", no_argument, NULL, 'j' },
        { "all", no_argument, NULL, 'a' },
        {}
};

const struct cmd_entry cmd_alerts_entry = {
        .name = "alerts",
        .usage = "[--all] [--json]",
        .summary = "list the active alerts (with --all the cleared ones too)",
        .shortopts = "ja",
        .longopts = cmd_alerts_options,
        .min_args = 0,
        .max_args = 0,
        .exec = cmd_alerts_exec,
};

/* Oldest first, as history prints; then by id, for a stable order. */
static int cmd_alerts_compare(const void *x, const void *y) {
        const struct busalert *a = x, *b = y;

        if (a->raised != b->raised)
                return a->raised < b->raised ? -1 : 1;
        return strcmp(a->id, b->id);
}

/* The name of the device with that address, or "" when hpmond lists none. */
static const char *cmd_alerts_name(const struct busclient_device *devs, size_t n, const char *address) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(devs[i].address, address) == 0)
                        return devs[i].name ? devs[i].name : "";
        return "";
}

/* {"alerts":[{…, "name": …}]}: each alert as in `hpctl status --json`, with its device's name. */
static int cmd_alerts_json(const struct busalert *alerts, size_t n, const struct busclient_device *devs, size_t n_devs) {
        struct json_object *root = json_object_new_object(), *arr = json_object_new_array();

        for (size_t i = 0; i < n; i++) {
                struct json_object *o = busalert_to_json(&alerts[i]);

                json_object_object_add(o, "name", json_object_new_string(cmd_alerts_name(devs, n_devs, alerts[i].address)));
                json_object_object_add(o, "state", json_object_new_string(busalert_state(&alerts[i])));
                json_object_array_add(arr, o);
        }
        json_object_object_add(root, "alerts", arr);
        return render_json(stdout, root) < 0 ? CMD_EXIT_FAILURE : 0;
}

/* ID, DEVICE, KIND, SEVERITY, RAISED, STATE: one line per alert. */
static int cmd_alerts_table(const struct busalert *alerts, size_t n, const struct busclient_device *devs, size_t n_devs,
                            bool all) {
        static const char *const sgr[] = { "36", "33", "1;31" };
        bool color = render_color(stdout);
        int wid = 2, wdev = 6;

        if (n == 0) {
                printf(all ? "No alerts.\n" : "No active alerts.\n");
                return fflush(stdout) == 0 ? 0 : CMD_EXIT_FAILURE;
        }
        for (size_t i = 0; i < n; i++) {
                int l = (int) strlen(alerts[i].id), d = (int) strlen(cmd_alerts_name(devs, n_devs, alerts[i].address));

                if (l > wid)
                        wid = l;
                if (d == 0)
                        d = (int) strlen(alerts[i].address);
                if (d > wdev)
                        wdev = d > 32 ? 32 : d;
        }
        printf("%s%-*s  %-*s  %-19s  %-8s  %-19s  %s%s\n", render_sgr(color, "1"), wid, "ID", wdev, "DEVICE", "KIND",
               "SEVERITY", "RAISED", "STATE", render_sgr(color, "0"));
        for (size_t i = 0; i < n; i++) {
                const struct busalert *a = &alerts[i];
                const char *name = cmd_alerts_name(devs, n_devs, a->address), *state = busalert_state(a);
                char raised[32];

                render_time(raised, sizeof(raised), a->raised);
                printf("%-*s  %-*.*s  %-19s  %s%-8s%s  %-19s  %s%s%s\n", wid, a->id, wdev, wdev, *name ? name : a->address,
                       a->kind, render_sgr(color && a->cleared <= 0, sgr[a->level]), a->severity, render_sgr(color, "0"),
                       raised, render_sgr(color, strcmp(state, "active") == 0 ? "1" : "2"), state, render_sgr(color, "0"));
        }
        return fflush(stdout) == 0 ? 0 : CMD_EXIT_FAILURE;
}

/* Asks hpmond for the alerts and the device names, and shows them. */
static int cmd_alerts_exec(const struct cmd_entry *self, struct cmd_args *args) {
        struct busclient_device *devs = NULL;
        struct busalert *alerts = NULL;
        size_t n = 0, n_devs = 0;
        bool all = cmd_args_has(args, 'a');
        sd_bus *bus = NULL;
        int r;

        if (busclient_open(&bus) < 0)
                return CMD_EXIT_FAILURE;
        r = busclient_get_alerts(bus, all, &alerts, &n);
        if (r >= 0)
                r = busclient_list(bus, &devs, &n_devs, NULL);
        sd_bus_flush_close_unref(bus);
        if (r < 0) {
                busalert_array_free(alerts, n);
                return CMD_EXIT_FAILURE;
        }
        if (n > 1)
                qsort(alerts, n, sizeof(*alerts), cmd_alerts_compare);
        r = cmd_args_has(args, 'j') ? cmd_alerts_json(alerts, n, devs, n_devs) : cmd_alerts_table(alerts, n, devs, n_devs, all);
        busalert_array_free(alerts, n);
        busclient_devices_free(devs, n_devs);
        return r;
}
