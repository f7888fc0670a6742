/* hpctl ack — acknowledge an alert by its id or a unique prefix of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "busclient.h"
#include "cmd.h"

static int cmd_ack_exec(const struct cmd_entry *self, struct cmd_args *args);

const struct cmd_entry cmd_ack_entry = {
        .name = "ack",
        .usage = "ID",
        .summary = "acknowledge an alert (any unique prefix of its id)",
        .shortopts = "",
        .longopts = NULL,
        .min_args = 1,
        .max_args = 1,
        .exec = cmd_ack_exec,
};

/* Finds the alert an argument means, among all alerts hpmond keeps (GetAlerts(true)):
 * the id itself; else the only one it prefixes; else, of those it prefixes, the only active
 * one (so "AABBCCDDEEFF-low-battery" means the current episode, not the earlier ones). Case
 * does not matter. Says why in one line when there is none or more than one. */
static const struct busalert *cmd_ack_find(const struct busalert *alerts, size_t n, const char *arg) {
        const struct busalert *match = NULL, *active = NULL;
        size_t len = strlen(arg), n_match = 0, n_active = 0;

        for (size_t i = 0; i < n; i++)
                if (strcasecmp(alerts[i].id, arg) == 0)
                        return &alerts[i];
        for (size_t i = 0; len > 0 && i < n; i++) {
                if (strncasecmp(alerts[i].id, arg, len) != 0)
                        continue;
                match = &alerts[i];
                n_match++;
                if (alerts[i].cleared <= 0) {
                        active = &alerts[i];
                        n_active++;
                }
        }
        if (n_match == 1)
                return match;
        if (n_active == 1)
                return active;
        if (n_match == 0)
                fprintf(stderr, "hpctl: no such alert '%s' (hpctl alerts --all lists them)\n", arg);
        else
                fprintf(stderr, "hpctl: '%s' is ambiguous: %zu alerts start with it (hpctl alerts --all lists them)\n",
                        arg, n_match);
        return NULL;
}

/* Resolves the id, then asks hpmond (polkit may ask the user to authenticate). */
static int cmd_ack_exec(const struct cmd_entry *self, struct cmd_args *args) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const struct busalert *a;
        struct busalert *alerts = NULL;
        size_t n = 0;
        sd_bus *bus = NULL;
        int r, ret = CMD_EXIT_FAILURE;

        if (busclient_open(&bus) < 0)
                return CMD_EXIT_FAILURE;
        if (busclient_get_alerts(bus, true, &alerts, &n) < 0)
                goto out;
        a = cmd_ack_find(alerts, n, args->argv[0]);
        if (!a)
                goto out;
        if (a->cleared > 0) {
                fprintf(stderr, "hpctl: alert %s has cleared already; there is nothing to acknowledge\n", a->id);
                goto out;
        }
        (void) sd_bus_set_allow_interactive_authorization(bus, true);
        r = sd_bus_call_method(bus, HPMON_BUS_NAME, HPMON_MANAGER_PATH, HPMON_MANAGER_IFACE, "Acknowledge", &error, NULL,
                               "s", a->id);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, HPMON_ERROR_NO_SUCH_ALERT))
                        fprintf(stderr, "hpctl: no such alert %s (it may have cleared just now)\n", a->id);
                else
                        busclient_fail(r, &error, "cannot acknowledge");
                goto out;
        }
        ret = 0;
out:
        sd_bus_error_free(&error);
        busalert_array_free(alerts, n);
        sd_bus_flush_close_unref(bus);
        return ret;
}
