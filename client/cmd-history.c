/* hpctl history — one headset's charge curve from hpmond's log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "busclient.h"
#include "cmd.h"
#include "render.h"
#include "event.h"
#include "finding.h"
#include "timearg.h"

static int cmd_history_exec(const struct cmd_entry *self, struct cmd_args *args);

static const struct option cmd_history_options[] = {
        { "since", required_argument, NULL, 's' },
        { "json", no_argument, NULL, 'j' },
        {}
};

const struct cmd_entry cmd_history_entry = {
        .name = "history",
        .usage = "ADDRESS [--since TIME] [--json]",
        .summary = "show a headset's logged connections and battery levels",
        .shortopts = "s:j",
        .longopts = cmd_history_options,
        .min_args = 1,
        .max_args = 1,
        .exec = cmd_history_exec,
};

/* One logged event as GetHistory returns it. */
struct cmd_history_event {
        double time;
        char event[16];
        int value;
};

/* The width of the terminal for the sparkline (at most 100 columns). */
static size_t cmd_history_width(void) {
        struct winsize ws;

        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
                return ws.ws_col > 100 ? 100 : ws.ws_col;
        return 72;
}

/* Draws the curve over time: each column is the level known at its end, blank while
 * disconnected or before the first level, so gaps show as gaps. */
static void cmd_history_sparkline(const struct cmd_history_event *ev, size_t n) {
        size_t w = cmd_history_width(), j = 0;
        double t0 = ev[0].time, t1 = ev[n - 1].time;
        int level = -1, connected = 1;
        int *cols;

        if (t1 <= t0)
                return;
        cols = calloc(w, sizeof(int));
        if (!cols)
                return;
        for (size_t c = 0; c < w; c++) {
                double end = t0 + (t1 - t0) * (double) (c + 1) / (double) w;

                for (; j < n && ev[j].time <= end; j++) {
                        if (strcmp(ev[j].event, "battery") == 0)
                                level = ev[j].value;
                        else if (strcmp(ev[j].event, "connected") == 0)
                                connected = ev[j].value;
                }
                cols[c] = connected ? level : -1;
        }
        render_sparkline(stdout, cols, w);
        free(cols);
}

/* Whether an event is one of the owner's own (its value names a kind of alert). */
static bool cmd_history_owner_event(const char *event) {
        enum event_kind k = event_kind_from_string(event, strlen(event));

        return k == EVENT_ACK || k == EVENT_MUTE || k == EVENT_UNMUTE;
}

/* Prints the events as JSON: {"address":…,"name":…,"events":[{"time","event","value"}]}. */
static int cmd_history_json(const char *address, const char *name, const struct cmd_history_event *ev, size_t n) {
        struct json_object *root = json_object_new_object(), *arr = json_object_new_array();

        json_object_object_add(root, "address", json_object_new_string(address));
        json_object_object_add(root, "name", json_object_new_string(name ? name : ""));
        for (size_t i = 0; i < n; i++) {
                struct json_object *o = json_object_new_object();

                json_object_object_add(o, "time", render_json_time(ev[i].time));
                json_object_object_add(o, "event", json_object_new_string(ev[i].event));
                json_object_object_add(o, "value", json_object_new_int(ev[i].value));
                if (cmd_history_owner_event(ev[i].event))
                        json_object_object_add(o, "kind", json_object_new_string(ev[i].value == EVENT_ALL_KINDS ? "all" :
                                                                                 finding_kind_to_string(ev[i].value)));
                json_object_array_add(arr, o);
        }
        json_object_object_add(root, "events", arr);
        return render_json(stdout, root) < 0 ? CMD_EXIT_FAILURE : 0;
}

/* Prints the events for a person, with the sparkline on a terminal. */
static int cmd_history_text(const char *address, const char *name, const struct cmd_history_event *ev, size_t n) {
        bool color = render_color(stdout);

        printf("%s%s%s (%s): %zu event%s\n", render_sgr(color, "1"), name && *name ? name : "(unnamed)",
               render_sgr(color, "0"), address, n, n == 1 ? "" : "s");
        if (n > 1 && isatty(STDOUT_FILENO))
                cmd_history_sparkline(ev, n);
        for (size_t i = 0; i < n; i++) {
                char when[32];

                render_time(when, sizeof(when), ev[i].time);
                if (strcmp(ev[i].event, "battery") == 0)
                        printf("%s  battery    %s%3d%%%s\n", when, render_sgr(color, render_level_color(ev[i].value)),
                               ev[i].value, render_sgr(color, "0"));
                else if (strcmp(ev[i].event, "connected") == 0)
                        printf("%s  %s\n", when, ev[i].value ? "connected" : "disconnected");
                else if (cmd_history_owner_event(ev[i].event))
                        printf("%s  %-10s %s\n", when, strcmp(ev[i].event, "ack") == 0 ? "acknowledged" : ev[i].event,
                               ev[i].value == EVENT_ALL_KINDS ? "all alerts" : finding_kind_to_string(ev[i].value));
                else
                        printf("%s  %-10s %d\n", when, ev[i].event, ev[i].value);
        }
        return fflush(stdout) == 0 ? 0 : CMD_EXIT_FAILURE;
}

/* Resolves the address, fetches the history from hpmond and shows it. */
static int cmd_history_exec(const struct cmd_entry *self, struct cmd_args *args) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        struct cmd_history_event *ev = NULL;
        char address[ADDRESS_STRING_MAX], *path = NULL, *name = NULL;
        const char *since_arg = cmd_args_get(args, 's');
        int64_t since_ms = 0;
        size_t n = 0;
        sd_bus *bus = NULL;
        int r, ret = CMD_EXIT_FAILURE;

        if (since_arg && timearg_parse(since_arg, (int64_t) time(NULL) * 1000, &since_ms) < 0) {
                fprintf(stderr, "hpctl history: '%s' is not a time (Unix seconds, YYYY-MM-DD[THH:MM[:SS]], or 30m, 2h, 7d)\n",
                        since_arg);
                return CMD_EXIT_USAGE;
        }
        if (address_normalize(args->argv[0], address) < 0) {
                fprintf(stderr, "hpctl: '%s' is not a Bluetooth address (expected AA:BB:CC:DD:EE:FF)\n", args->argv[0]);
                return CMD_EXIT_FAILURE;
        }
        if (busclient_open(&bus) < 0)
                return CMD_EXIT_FAILURE;
        if (busclient_resolve(bus, address, address, &path) < 0)
                goto out;
        (void) sd_bus_get_property_string(bus, HPMON_BUS_NAME, path, HPMON_DEVICE_IFACE, "Name", NULL, &name);

        r = sd_bus_call_method(bus, HPMON_BUS_NAME, path, HPMON_DEVICE_IFACE, "GetHistory", &error, &reply, "d",
                               (double) since_ms / 1000.0);
        if (r < 0) {
                busclient_fail(r, &error, "cannot read the history");
                goto out;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(dsi)");
        while (r >= 0) {
                struct cmd_history_event *grown;
                double t;
                const char *e;
                int32_t v;

                r = sd_bus_message_read(reply, "(dsi)", &t, &e, &v);
                if (r <= 0)
                        break;
                grown = realloc(ev, (n + 1) * sizeof(*ev));
                if (!grown) {
                        r = -ENOMEM;
                        break;
                }
                ev = grown;
                ev[n].time = t;
                snprintf(ev[n].event, sizeof(ev[n].event), "%s", e);
                ev[n].value = v;
                n++;
        }
        if (r < 0) {
                busclient_fail(r, NULL, "malformed history from hpmond");
                goto out;
        }
        ret = cmd_args_has(args, 'j') ? cmd_history_json(address, name, ev, n) : cmd_history_text(address, name, ev, n);
out:
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_flush_close_unref(bus);
        free(ev);
        free(path);
        free(name);
        return ret;
}
