/* hpctl notify — the desktop agent: hpmond's alerts from the system bus become desktop
 * notifications on the session bus.
 *
 * One sd-event loop carries both buses (sd_bus_attach_event), so there is nothing to poll:
 *
 *   system bus                                      session bus (org.freedesktop.Notifications)
 *
 *   AlertRaised ─────────────────────────┐
 *   Alerts changed (an unmuted kind) ────┼─▶ consider ─▶ Notify ─▶ remember (id, severity) in
 *   start, hpmond (re)appears:           │                         $XDG_STATE_HOME/hpmon/notified
 *     GetManagedObjects (names, Alerts) ─┘
 *   AlertCleared, acknowledged, muted ──────────────▶ CloseNotification
 *   Acknowledge(id) ◀───────────────────────────────── ActionInvoked("acknowledge"): a click
 *
 * An alert is shown once per (id, severity): an escalation (low-battery warning → critical)
 * shows again, replacing the first notification. What was shown is remembered on disk after
 * each notification, so a restarted agent never repeats one; alerts already acknowledged
 * are not shown. Whenever hpmond appears again (or the agent starts), its objects are read
 * (every device's name and active alerts, in one call) and whatever is active,
 * unacknowledged and not yet shown is shown: what was raised while the agent, or hpmond,
 * was away. A device not seen then has its name asked for (Get) before its notification.
 * Progress goes to stdout, errors to stderr (both end up in the journal under systemd). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-event.h>

#include "bus-dict.h"
#include "busclient.h"
#include "cmd.h"
#include "notified.h"

static int cmd_notify_exec(const struct cmd_entry *self, struct cmd_args *args);

const struct cmd_entry cmd_notify_entry = {
        .name = "notify",
        .usage = "",
        .summary = "desktop agent: show hpmond's alerts as notifications",
        .shortopts = "",
        .longopts = NULL,
        .min_args = 0,
        .max_args = 0,
        .exec = cmd_notify_exec,
};

#define NOTIFY_BUS_NAME   "org.freedesktop.Notifications"
#define NOTIFY_PATH       "/org/freedesktop/Notifications"
#define NOTIFY_IFACE      "org.freedesktop.Notifications"
/* Ours on the session bus: one agent per session, however it was started. */
#define NOTIFY_AGENT_NAME "org.hpmon.Notifier"

/* A notification on screen now: which alert, under which notification id. */
struct notify_shown {
        char *id;
        uint32_t notification;
};

/* An alert on its way to the screen (not yet remembered). */
struct notify_pending {
        char *id;
        int level;
};

struct notify_agent {
        sd_event *event;
        sd_bus *system, *session;
        struct notified memory;
        bool memory_failed;             /* said once that it cannot be written */
        bool markup, actions;           /* what the notification server can do */
        bool hpmond_away;               /* said that hpmond is not running */
        bool stopping;                  /* SIGTERM came while notifications were on their way */
        struct notify_pending *pending;
        size_t n_pending;
        struct notify_shown *shown;
        size_t n_shown;
        struct busclient_device *devices; /* names by address, from GetManagedObjects */
        size_t n_devices;
};

/* One alert's notification, from its Get(Name) to Notify's reply; each call holds a ref. */
struct notify_job {
        unsigned n_ref;
        struct notify_agent *agent;
        char *id;
        int level;
        char address[ADDRESS_STRING_MAX];
        const char *title, *icon;
        char evidence[256], step[256];
};

/* ---------------------------------------------------------------- bookkeeping */

/* Drops a reference to a job; frees it with the last one. Returns NULL. */
static struct notify_job *notify_job_unref(struct notify_job *j) {
        if (j && --j->n_ref == 0) {
                free(j->id);
                free(j);
        }
        return NULL;
}

/* The destroy callback of a call's slot: the call no longer needs the job. */
static void notify_job_destroy_cb(void *userdata) {
        notify_job_unref(userdata);
}

/* Whether that alert is on its way at that severity or a higher one. */
static bool notify_pending_has(const struct notify_agent *n, const char *id, int level) {
        for (size_t i = 0; i < n->n_pending; i++)
                if (strcmp(n->pending[i].id, id) == 0 && n->pending[i].level >= level)
                        return true;
        return false;
}

/* Marks an alert as on its way, so that a signal and a read of Alerts do not both show it. */
static int notify_pending_add(struct notify_agent *n, const char *id, int level) {
        struct notify_pending *grown = realloc(n->pending, (n->n_pending + 1) * sizeof(*grown));
        char *copy = strdup(id);

        if (!grown || !copy) {
                free(copy);
                if (grown)
                        n->pending = grown;
                return -ENOMEM;
        }
        n->pending = grown;
        n->pending[n->n_pending++] = (struct notify_pending) { .id = copy, .level = level };
        return 0;
}

/* Its Notify has an answer, or failed: no longer on its way. */
static void notify_pending_remove(struct notify_agent *n, const char *id, int level) {
        for (size_t i = 0; i < n->n_pending; i++)
                if (strcmp(n->pending[i].id, id) == 0 && n->pending[i].level == level) {
                        free(n->pending[i].id);
                        n->pending[i] = n->pending[--n->n_pending];
                        return;
                }
}

/* The notification showing an alert, or NULL. */
static struct notify_shown *notify_shown_find(struct notify_agent *n, const char *id) {
        for (size_t i = 0; i < n->n_shown; i++)
                if (strcmp(n->shown[i].id, id) == 0)
                        return &n->shown[i];
        return NULL;
}

/* The alert a notification id shows, or NULL. */
static struct notify_shown *notify_shown_by_notification(struct notify_agent *n, uint32_t notification) {
        for (size_t i = 0; i < n->n_shown; i++)
                if (n->shown[i].notification == notification)
                        return &n->shown[i];
        return NULL;
}

/* Notes which notification shows an alert now (a replacement keeps the id or gets a new one). */
static void notify_shown_set(struct notify_agent *n, const char *id, uint32_t notification) {
        struct notify_shown *s = notify_shown_find(n, id), *grown;
        char *copy;

        if (s) {
                s->notification = notification;
                return;
        }
        copy = strdup(id);
        grown = copy ? realloc(n->shown, (n->n_shown + 1) * sizeof(*grown)) : NULL;
        if (!grown) {
                free(copy);     /* only costs closing or replacing it later */
                return;
        }
        n->shown = grown;
        n->shown[n->n_shown++] = (struct notify_shown) { .id = copy, .notification = notification };
}

/* Forgets one notification. */
static void notify_shown_remove(struct notify_agent *n, struct notify_shown *s) {
        free(s->id);
        *s = n->shown[--n->n_shown];
}

/* Forgets every notification (the server that knew their ids is gone). */
static void notify_shown_clear(struct notify_agent *n) {
        for (size_t i = 0; i < n->n_shown; i++)
                free(n->shown[i].id);
        n->n_shown = 0;
}

/* ---------------------------------------------------------------- showing */

/* Escapes &, < and > for servers that read the body as markup (the spec's body-markup). */
static void notify_escape(char *buf, size_t size, const char *s, bool markup) {
        size_t used = 0;

        for (; *s && used + 6 < size; s++) {
                const char *rep = !markup ? NULL : *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;

                if (rep)
                        used += (size_t) snprintf(buf + used, size - used, "%s", rep);
                else
                        buf[used++] = *s;
        }
        buf[used] = '\0';
}

/* Sets the destroy callback and floats a call's slot, so the bus frees the job with it. */
static void notify_float(sd_bus_slot *slot, struct notify_job *j) {
        j->n_ref++;
        (void) sd_bus_slot_set_destroy_callback(slot, notify_job_destroy_cb);
        (void) sd_bus_slot_set_floating(slot, 1);
        sd_bus_slot_unref(slot);
}

/* Once stopping, the last reply (or error) ends the loop. */
static void notify_maybe_done(struct notify_agent *n) {
        if (n->stopping && n->n_pending == 0)
                (void) sd_event_exit(n->event, 0);
}

/* Notify's reply: remember the alert as shown (on disk too), or say why it was not. */
static int notify_sent_cb(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        struct notify_job *j = userdata;
        struct notify_agent *n = j->agent;
        uint32_t notification;
        int r;

        notify_pending_remove(n, j->id, j->level);
        notify_maybe_done(n);
        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);
                fprintf(stderr, "hpctl notify: cannot show alert %s: %s\n", j->id,
                        e->message ? e->message : e->name);
                return 0;
        }
        if (sd_bus_message_read(reply, "u", &notification) > 0)
                notify_shown_set(n, j->id, notification);
        r = notified_add(&n->memory, j->id, j->level);
        if (r >= 0)
                r = notified_save(&n->memory);
        if (r < 0 && !n->memory_failed) {
                n->memory_failed = true;
                fprintf(stderr, "hpctl notify: cannot remember shown alerts in %s, ignoring: %s\n", n->memory.path,
                        strerror(-r));
        }
        return 0;
}

/* Posts the notification, once the device's name is known (or known to be unknown). */
static int notify_post(struct notify_job *j, const char *name) {
        static const uint8_t urgency[] = { 0, 1, 2 };
        struct notify_agent *n = j->agent;
        struct notify_shown *shown = notify_shown_find(n, j->id);
        sd_bus_message *m = NULL;
        sd_bus_slot *slot = NULL;
        char summary[512], body[1200], line[600];
        int r;

        snprintf(summary, sizeof(summary), "%s — %s", j->title, name && *name ? name : j->address);
        /* "Battery at 8%." then the first step: capitalised, one line each */
        snprintf(line, sizeof(line), "%s%s", j->evidence, *j->evidence ? "." : "");
        if (line[0] >= 'a' && line[0] <= 'z')
                line[0] = (char) (line[0] - 'a' + 'A');
        notify_escape(body, sizeof(body), line, n->markup);
        if (*j->step) {
                size_t used = strlen(body);
                snprintf(line, sizeof(line), "%s%s", used ? "\n" : "", j->step);
                notify_escape(body + used, sizeof(body) - used, line, n->markup);
        }

        r = sd_bus_message_new_method_call(n->session, &m, NOTIFY_BUS_NAME, NOTIFY_PATH, NOTIFY_IFACE, "Notify");
        if (r >= 0)
                r = sd_bus_message_append(m, "susss", "hpmon", shown ? shown->notification : 0, j->icon, summary, body);
        if (r >= 0)
                r = n->actions ? sd_bus_message_append(m, "as", 2, "acknowledge", "Acknowledge")
                               : sd_bus_message_append(m, "as", 0);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 3, "urgency", "y", urgency[j->level], "category", "s", "device",
                                          "x-hpmon-alert-id", "s", j->id);
        if (r >= 0)
                r = sd_bus_message_append(m, "i", (int32_t) -1);
        if (r >= 0)
                r = sd_bus_call_async(n->session, &slot, m, notify_sent_cb, j, 0);
        sd_bus_message_unref(m);
        if (r < 0) {
                fprintf(stderr, "hpctl notify: cannot show alert %s: %s\n", j->id, strerror(-r));
                notify_pending_remove(n, j->id, j->level);
                return r;
        }
        notify_float(slot, j);
        return 0;
}

/* The device's Name arrived (or the call failed: the address stands in for it). */
static int notify_name_cb(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        struct notify_job *j = userdata;
        const char *name = NULL;

        if (!sd_bus_message_is_method_error(reply, NULL))
                (void) sd_bus_message_read(reply, "v", "s", &name);
        (void) notify_post(j, name);
        return 0;
}

/* An alert from a signal or from Alerts: show it unless it is over, acknowledged, or was
 * shown (or is on its way) at this severity or a higher one. */
static void notify_consider(struct notify_agent *n, const struct busalert *a) {
        char path[BUSDEF_DEVICE_PATH_MAX];
        struct notify_job *j;
        sd_bus_slot *slot = NULL;
        int r;

        if (a->cleared > 0 || a->acknowledged)
                return;
        if (notified_seen(&n->memory, a->id, a->level) || notify_pending_has(n, a->id, a->level))
                return;
        j = calloc(1, sizeof(*j));
        if (j)
                *j = (struct notify_job) { .n_ref = 1, .agent = n, .id = strdup(a->id), .level = a->level,
                                           .title = busalert_title(a), .icon = busalert_icon(a) };
        if (!j || !j->id || notify_pending_add(n, a->id, a->level) < 0) {
                fprintf(stderr, "hpctl notify: out of memory, alert %s not shown\n", a->id);
                notify_job_unref(j);
                return;
        }
        snprintf(j->address, sizeof(j->address), "%s", a->address);
        busalert_evidence_line(a, j->evidence, sizeof(j->evidence));
        busalert_step_line(a, j->step, sizeof(j->step));

        for (size_t i = 0; i < n->n_devices; i++)
                if (strcmp(n->devices[i].address, a->address) == 0 && n->devices[i].name) {
                        (void) notify_post(j, n->devices[i].name);
                        notify_job_unref(j);
                        return;
                }
        busdef_device_path(a->address, path);
        r = sd_bus_call_method_async(n->system, &slot, HPMON_BUS_NAME, path, "org.freedesktop.DBus.Properties", "Get",
                                     notify_name_cb, j, "ss", HPMON_DEVICE_IFACE, "Name");
        if (r < 0)
                (void) notify_post(j, NULL);
        else
                notify_float(slot, j);
        notify_job_unref(j);
}

/* A reply nothing depends on (one is asked for all the same: callers can tell when we are done). */
static int notify_ignore_cb(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        return 0;
}

/* Closes the notification of an alert that is over or acknowledged, if one is on screen. */
static void notify_withdraw(struct notify_agent *n, const char *id) {
        struct notify_shown *s = notify_shown_find(n, id);

        if (!s)
                return;
        (void) sd_bus_call_method_async(n->session, NULL, NOTIFY_BUS_NAME, NOTIFY_PATH, NOTIFY_IFACE,
                                        "CloseNotification", notify_ignore_cb, NULL, "u", s->notification);
        notify_shown_remove(n, s);
}

/* ---------------------------------------------------------------- the system bus */

/* Everything hpmond has (GetManagedObjects), read at start and whenever hpmond appears:
 * the devices' names, and their active alerts — what is new gets shown. */
static int notify_objects_cb(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        struct notify_agent *n = userdata;
        struct busclient_device *devs = NULL;
        size_t count = 0;
        int r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                           SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_DISCONNECTED)) {
                        if (!n->hpmond_away)
                                printf("hpctl notify: hpmond is not running; waiting for it\n");
                        n->hpmond_away = true;
                } else
                        fprintf(stderr, "hpctl notify: cannot read hpmond's alerts: %s\n", e->message ? e->message : e->name);
                return 0;
        }
        r = busclient_read_objects(reply, &devs, &count);
        if (r < 0) {
                fprintf(stderr, "hpctl notify: hpmond's objects are malformed, ignoring: %s\n", strerror(-r));
                return 0;
        }
        busclient_devices_free(n->devices, n->n_devices);
        n->devices = devs;
        n->n_devices = count;
        for (size_t i = 0; i < count; i++)
                for (size_t k = 0; k < devs[i].n_alerts; k++)
                        notify_consider(n, &devs[i].alerts[k]);
        return 0;
}

/* Asks for hpmond's objects (asynchronously: the reply comes through the loop). */
static int notify_read_alerts(struct notify_agent *n) {
        int r = sd_bus_call_method_async(n->system, NULL, HPMON_BUS_NAME, HPMON_MANAGER_PATH,
                                         "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", notify_objects_cb,
                                         n, NULL);
        if (r < 0)
                fprintf(stderr, "hpctl notify: cannot ask hpmond for its alerts, ignoring: %s\n", strerror(-r));
        return r;
}

/* A device's name changed: later notifications use the new one. */
static int notify_device_changed_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct notify_agent *n = userdata;
        char address[ADDRESS_STRING_MAX];
        const char *iface;

        if (busdef_device_address(sd_bus_message_get_path(m), address) < 0 ||
            sd_bus_message_read(m, "s", &iface) < 0 || strcmp(iface, HPMON_DEVICE_IFACE) != 0)
                return 0;
        for (size_t i = 0; i < n->n_devices; i++)
                if (strcmp(n->devices[i].address, address) == 0) {
                        (void) busclient_read_device_props(m, &n->devices[i], NULL);
                        break;
                }
        return 0;
}

/* AlertRaised: a new alert, or an escalation of one (same id, higher severity). */
static int notify_raised_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct busalert a;

        if (busalert_read(m, &a) > 0) {
                notify_consider(userdata, &a);
                busalert_done(&a);
        }
        return 0;
}

/* AlertCleared: its episode is over; its notification goes. */
static int notify_cleared_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct busalert a;

        if (busalert_read(m, &a) > 0) {
                notify_withdraw(userdata, a.id);
                busalert_done(&a);
        }
        return 0;
}

/* One property of the manager that changed: only Alerts matters here. */
static int notify_manager_property_cb(sd_bus_message *m, const char *key, void *userdata) {
        struct notify_agent *n = userdata;
        struct busalert *alerts = NULL;
        size_t count = 0;
        int r;

        if (strcmp(key, "Alerts") != 0)
                return sd_bus_message_skip(m, "v");
        r = sd_bus_message_enter_container(m, 'v', "a" BUSALERT_SIGNATURE);
        if (r >= 0)
                r = busalert_read_array(m, &alerts, &count);
        for (size_t i = 0; r >= 0 && i < count; i++)
                if (alerts[i].acknowledged)
                        notify_withdraw(n, alerts[i].id);
                else
                        notify_consider(n, &alerts[i]);
        /* gone from Alerts (ended, or its kind muted): off the screen too */
        for (size_t s = n->n_shown; r >= 0 && s > 0; s--) {
                bool listed = false;

                for (size_t i = 0; i < count && !listed; i++)
                        listed = strcmp(alerts[i].id, n->shown[s - 1].id) == 0;
                if (!listed)
                        notify_withdraw(n, n->shown[s - 1].id);
        }
        busalert_array_free(alerts, count);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r;
}

/* PropertiesChanged on the manager's Alerts: an alert acknowledged elsewhere (hpctl ack),
 * or gone (ended, muted), leaves the screen; one that shows up unannounced (its kind was
 * just unmuted) is shown. */
static int notify_manager_changed_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *iface;

        if (sd_bus_message_read(m, "s", &iface) < 0 || strcmp(iface, HPMON_MANAGER_IFACE) != 0)
                return 0;
        (void) bus_dict_read_properties(m, notify_manager_property_cb, userdata);
        return 0;
}

/* hpmond went away or came back: wait for it, then catch up on what it raised meanwhile. */
static int notify_hpmond_owner_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct notify_agent *n = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || strcmp(name, HPMON_BUS_NAME) != 0)
                return 0;
        if (!*new_owner) {
                printf("hpctl notify: hpmond stopped; waiting for it to return\n");
                n->hpmond_away = true;
                return 0;
        }
        if (n->hpmond_away)
                printf("hpctl notify: hpmond is back\n");
        n->hpmond_away = false;
        (void) notify_read_alerts(n);
        return 0;
}

/* Acknowledge's reply, after the person clicked the notification's button. */
static int notify_acked_cb(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (!e)
                return 0;
        if (sd_bus_error_has_name(e, HPMON_ERROR_NOT_AUTHORIZED))
                fprintf(stderr, "hpctl notify: cannot acknowledge: not authorized (polkit said no)\n");
        else
                fprintf(stderr, "hpctl notify: cannot acknowledge: %s\n", e->message ? e->message : e->name);
        return 0;
}

/* ---------------------------------------------------------------- the session bus */

/* ActionInvoked: "acknowledge" on one of ours → Manager.Acknowledge(id); polkit may ask. */
static int notify_action_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct notify_agent *n = userdata;
        struct notify_shown *s;
        const char *action;
        uint32_t notification;

        if (sd_bus_message_read(m, "us", &notification, &action) < 0 || strcmp(action, "acknowledge") != 0)
                return 0;
        s = notify_shown_by_notification(n, notification);
        if (!s)
                return 0;
        (void) sd_bus_call_method_async(n->system, NULL, HPMON_BUS_NAME, HPMON_MANAGER_PATH, HPMON_MANAGER_IFACE,
                                        "Acknowledge", notify_acked_cb, n, "s", s->id);
        return 0;
}

/* NotificationClosed: that id is no longer ours to replace or close. */
static int notify_closed_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct notify_agent *n = userdata;
        struct notify_shown *s;
        uint32_t notification, reason;

        if (sd_bus_message_read(m, "uu", &notification, &reason) < 0)
                return 0;
        s = notify_shown_by_notification(n, notification);
        if (s)
                notify_shown_remove(n, s);
        return 0;
}

/* The notification server restarted: its ids are void; what failed meanwhile is shown now. */
static int notify_server_owner_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct notify_agent *n = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || strcmp(name, NOTIFY_BUS_NAME) != 0)
                return 0;
        notify_shown_clear(n);
        if (*new_owner && !n->hpmond_away)
                (void) notify_read_alerts(n);
        return 0;
}

/* Either bus went away: the agent cannot go on (systemd's Restart=on-failure restarts it). */
static int notify_disconnected_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct notify_agent *n = userdata;
        bool system = sd_bus_message_get_bus(m) == n->system;

        fprintf(stderr, "hpctl notify: lost the %s bus\n", system ? "system" : "session");
        return sd_event_exit(n->event, CMD_EXIT_FAILURE);
}

/* ---------------------------------------------------------------- setting up */

/* Asks the notification server what it can do; says in one line when there is none. */
static int notify_capabilities(struct notify_agent *n) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *cap;
        int r;

        r = sd_bus_call_method(n->session, NOTIFY_BUS_NAME, NOTIFY_PATH, NOTIFY_IFACE, "GetCapabilities", &error,
                               &reply, NULL);
        if (r < 0) {
                if (sd_bus_error_has_names(&error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                           SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_METHOD,
                                           SD_BUS_ERROR_UNKNOWN_INTERFACE, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT))
                        fprintf(stderr, "hpctl notify: no notification service on the session bus "
                                "(nothing provides " NOTIFY_BUS_NAME ")\n");
                else if (sd_bus_error_is_set(&error))
                        fprintf(stderr, "hpctl notify: the notification service failed: %s\n",
                                error.message ? error.message : error.name);
                else
                        fprintf(stderr, "hpctl notify: no session bus: %s\n", strerror(-r));
                sd_bus_error_free(&error);
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "s");
        while (r >= 0 && (r = sd_bus_message_read(reply, "s", &cap)) > 0) {
                if (strcmp(cap, "body-markup") == 0)
                        n->markup = true;
                else if (strcmp(cap, "actions") == 0)
                        n->actions = true;
        }
        sd_bus_message_unref(reply);
        return 0;
}

/* Subscribes to everything the agent follows, on both buses, before reading any state. */
static int notify_subscribe(struct notify_agent *n) {
        int r;

        r = sd_bus_match_signal(n->system, NULL, NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                "Disconnected", notify_disconnected_cb, n);
        if (r >= 0)
                r = sd_bus_match_signal(n->session, NULL, NULL, "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected", notify_disconnected_cb, n);
        if (r >= 0)
                r = sd_bus_add_match(n->system, NULL,
                                     "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" HPMON_BUS_NAME "'",
                                     notify_hpmond_owner_cb, n);
        if (r >= 0)
                r = sd_bus_match_signal(n->system, NULL, HPMON_BUS_NAME, HPMON_MANAGER_PATH, HPMON_MANAGER_IFACE,
                                        "AlertRaised", notify_raised_cb, n);
        if (r >= 0)
                r = sd_bus_match_signal(n->system, NULL, HPMON_BUS_NAME, HPMON_MANAGER_PATH, HPMON_MANAGER_IFACE,
                                        "AlertCleared", notify_cleared_cb, n);
        if (r >= 0)
                r = sd_bus_match_signal(n->system, NULL, HPMON_BUS_NAME, HPMON_MANAGER_PATH,
                                        "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                        notify_manager_changed_cb, n);
        if (r >= 0)
                r = sd_bus_add_match(n->system, NULL,
                                     "type='signal',sender='" HPMON_BUS_NAME "',interface='org.freedesktop.DBus.Properties',"
                                     "member='PropertiesChanged',path_namespace='" HPMON_DEVICES_PATH "'",
                                     notify_device_changed_cb, n);
        if (r >= 0)
                r = sd_bus_add_match(n->session, NULL,
                                     "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" NOTIFY_BUS_NAME "'",
                                     notify_server_owner_cb, n);
        if (r >= 0)
                r = sd_bus_match_signal(n->session, NULL, NOTIFY_BUS_NAME, NOTIFY_PATH, NOTIFY_IFACE, "ActionInvoked",
                                        notify_action_cb, n);
        if (r >= 0)
                r = sd_bus_match_signal(n->session, NULL, NOTIFY_BUS_NAME, NOTIFY_PATH, NOTIFY_IFACE,
                                        "NotificationClosed", notify_closed_cb, n);
        if (r < 0)
                fprintf(stderr, "hpctl notify: cannot subscribe to signals: %s\n", strerror(-r));
        return r;
}

/* The grace period after SIGTERM is over: leave even if a reply never came. */
static int notify_grace_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* SIGTERM, SIGINT: leave the loop and exit 0 — but a notification already shown whose
 * reply is on its way must be remembered first, or the next start would show it again
 * (at logout that is the usual case). So wait for those replies, two seconds at most. */
static int notify_signal_cb(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct notify_agent *n = userdata;

        if (n->n_pending == 0 || n->stopping)
                return sd_event_exit(sd_event_source_get_event(s), 0);
        n->stopping = true;
        if (sd_event_add_time_relative(n->event, NULL, CLOCK_MONOTONIC, 2 * 1000000, 0, notify_grace_cb, n) < 0)
                return sd_event_exit(n->event, 0);
        return 0;
}

/* Frees the agent; the buses' floating call slots free their jobs as they close. */
static void notify_agent_done(struct notify_agent *n) {
        n->session = sd_bus_flush_close_unref(n->session);
        n->system = sd_bus_flush_close_unref(n->system);
        n->event = sd_event_unref(n->event);
        for (size_t i = 0; i < n->n_pending; i++)
                free(n->pending[i].id);
        free(n->pending);
        notify_shown_clear(n);
        free(n->shown);
        busclient_devices_free(n->devices, n->n_devices);
        notified_done(&n->memory);
}

/* Connects to both buses, checks there is somebody to show notifications, then runs. */
static int cmd_notify_exec(const struct cmd_entry *self, struct cmd_args *args) {
        struct notify_agent n = {};
        char *path = NULL;
        sigset_t mask;
        int r, ret = CMD_EXIT_FAILURE;

        setvbuf(stdout, NULL, _IOLBF, 0);       /* a line at a time into the journal */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || sd_event_default(&n.event) < 0 ||
            sd_event_add_signal(n.event, NULL, SIGTERM, notify_signal_cb, &n) < 0 ||
            sd_event_add_signal(n.event, NULL, SIGINT, notify_signal_cb, &n) < 0) {
                fprintf(stderr, "hpctl notify: cannot set up the event loop\n");
                goto out;
        }

        r = sd_bus_open_user_with_description(&n.session, "hpctl-notify");
        if (r < 0) {
                fprintf(stderr, "hpctl notify: no session bus (%s); run it inside a desktop session\n", strerror(-r));
                goto out;
        }
        if (notify_capabilities(&n) < 0)
                goto out;
        r = sd_bus_request_name(n.session, NOTIFY_AGENT_NAME, 0);
        if (r == -EEXIST) {
                fprintf(stderr, "hpctl notify: another hpctl notify runs in this session already\n");
                ret = 0;
                goto out;
        }
        if (r < 0)
                fprintf(stderr, "hpctl notify: cannot own %s on the session bus, ignoring: %s\n", NOTIFY_AGENT_NAME,
                        strerror(-r));

        r = notified_default_path(&path);
        if (r >= 0)
                r = notified_load(&n.memory, path);
        if (r < 0) {
                fprintf(stderr, "hpctl notify: cannot read what was shown before (%s): %s\n", path ? path : "no home",
                        strerror(-r));
                goto out;
        }

        if (busclient_open(&n.system) < 0)
                goto out;
        /* a click on "Acknowledge" may need polkit to ask the person */
        (void) sd_bus_set_allow_interactive_authorization(n.system, true);
        if (sd_bus_attach_event(n.system, n.event, SD_EVENT_PRIORITY_NORMAL) < 0 ||
            sd_bus_attach_event(n.session, n.event, SD_EVENT_PRIORITY_NORMAL) < 0) {
                fprintf(stderr, "hpctl notify: cannot attach the buses to the event loop\n");
                goto out;
        }
        if (notify_subscribe(&n) < 0)
                goto out;
        /* after subscribing, so nothing raised meanwhile can fall between */
        (void) notify_read_alerts(&n);

        r = sd_event_loop(n.event);
        ret = r < 0 ? CMD_EXIT_FAILURE : r;
out:
        notify_agent_done(&n);
        free(path);
        return ret;
}
