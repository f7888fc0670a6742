/* hpmond — the host going to sleep.
 *
 * Why: when the laptop sleeps, its headsets are cut off, but BlueZ only says so after
 * resume. A log written from BlueZ alone then shows a rising charge, then hours of
 * silence, then a disconnect — exactly what a stalled charger looks like, and nothing can
 * tell them apart afterwards without looking ahead. So hpmond holds a logind "delay"
 * inhibitor lock, and when logind announces sleep (PrepareForSleep(true)) it logs every
 * connected headset as disconnected, then lets go of the lock so the sleep proceeds. On
 * resume (PrepareForSleep(false)) it takes a new lock and asks BlueZ for everything again,
 * so headsets still connected are logged connected once more.
 *
 *   start ──▶ Inhibit("sleep", …, "delay") ──▶ fd held
 *   PrepareForSleep(true)  ──▶ log connected,0 for each connected headset ──▶ close(fd)
 *   PrepareForSleep(false) ──▶ Inhibit again; BlueZ re-sync (GetManagedObjects)
 *
 * Without logind (a container, the tests' bus) this simply does nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "bluez.h"
#include "log.h"
#include "registry.h"
#include "sleep.h"

#define LOGIND_BUS_NAME "org.freedesktop.login1"
#define LOGIND_PATH "/org/freedesktop/login1"
#define LOGIND_MANAGER_IFACE "org.freedesktop.login1.Manager"

struct sleep {
        struct context *c;
        int inhibit_fd;                 /* the delay lock, -1 while none is held */
        sd_bus_slot *match;
        sd_bus_slot *call;              /* Inhibit in flight */
};

/* Reply to Inhibit: keep the lock's fd (a copy: the message owns its own). */
static int sleep_inhibit_cb(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct sleep *s = userdata;
        int fd;

        s->call = sd_bus_slot_unref(s->call);
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(m);
                log_debug("No sleep inhibitor from logind (%s): disconnects before sleep are logged only after resume.",
                          e->message ? e->message : e->name);
                return 0;
        }
        if (sd_bus_message_read(m, "h", &fd) < 0)
                return 0;
        if (s->inhibit_fd >= 0)
                close(s->inhibit_fd);
        s->inhibit_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (s->inhibit_fd < 0)
                log_warning_errno(errno, "Cannot keep the sleep inhibitor, ignoring: %m");
        return 0;
}

/* Asks logind for a delay lock on sleep. */
static void sleep_take(struct sleep *s) {
        int r;

        if (s->call || s->inhibit_fd >= 0)
                return;
        r = sd_bus_call_method_async(s->c->bus, &s->call, LOGIND_BUS_NAME, LOGIND_PATH, LOGIND_MANAGER_IFACE, "Inhibit",
                                     sleep_inhibit_cb, s, "ssss", "sleep", "hpmond",
                                     "Record headsets as disconnected before the system sleeps", "delay");
        if (r < 0)
                log_debug_errno(r, "Cannot ask logind for a sleep inhibitor, ignoring: %m");
}

/* PrepareForSleep(b start) from logind. */
static int sleep_prepare_cb(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct sleep *s = userdata;
        struct context *c = s->c;
        int start;

        if (sd_bus_message_read(m, "b", &start) < 0)
                return 0;
        if (start) {
                int64_t now = 0;

                (void) context_now_ms(&now);
                /* an empty sync: every headset not reported since is disconnected */
                registry_sync_begin(c);
                registry_sync_end(c, now);
                c->sleeping = true;
                log_info("The system is going to sleep: connected headsets are logged disconnected.");
                if (s->inhibit_fd >= 0) {
                        close(s->inhibit_fd);
                        s->inhibit_fd = -1;
                }
        } else {
                log_info("The system resumed: asking BlueZ for its devices again.");
                c->sleeping = false;
                sleep_take(s);
                bluez_resync(c->bluez);
                /* libevent's timers ran on CLOCK_MONOTONIC, which stood still while asleep:
                 * the analyzers' wall-clock deadlines need arming again */
                registry_arm_deadline(c);
        }
        return 0;
}

/* Subscribes to PrepareForSleep and takes the first lock. */
int sleep_new(struct context *c, struct sleep **ret) {
        struct sleep *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->c = c;
        s->inhibit_fd = -1;
        r = sd_bus_match_signal_async(c->bus, &s->match, LOGIND_BUS_NAME, LOGIND_PATH, LOGIND_MANAGER_IFACE,
                                      "PrepareForSleep", sleep_prepare_cb, NULL, s);
        if (r < 0) {
                sleep_free(s);
                return log_error_errno(r, "Cannot subscribe to logind's PrepareForSleep: %m");
        }
        sleep_take(s);
        *ret = s;
        return 0;
}

/* Lets go of the lock; accepts NULL and returns NULL. */
struct sleep *sleep_free(struct sleep *s) {
        if (!s)
                return NULL;
        sd_bus_slot_unref(s->match);
        sd_bus_slot_unref(s->call);
        if (s->inhibit_fd >= 0)
                close(s->inhibit_fd);
        free(s);
        return NULL;
}
