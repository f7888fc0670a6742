/* hpmond — the one context every part of the daemon shares (timedated's Context). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <systemd/sd-bus.h>

#include "alerts.h"
#include "analyzer.h"
#include "busdef.h"
#include "chargelog.h"
#include "devstate.h"
#include "figures.h"
#include "ratelimit.h"

struct busloop;
struct bluez;
struct sleep;

/* One headset as hpmond publishes it. */
struct device {
        char address[ADDRESS_STRING_MAX];
        char path[BUSDEF_DEVICE_PATH_MAX];
        char *name;
        struct context *context;        /* back to the shared context */
        struct devstate state;          /* the fold of its log */
        struct analyzer *analyzer;      /* fed the same events, in the same order */
        struct analyzer_config *own_config; /* its thresholds if a [device ...] section changes them,
                                         * else NULL and the analyzer uses context.config */
        struct alerts alerts;           /* what the analyzer found, acknowledged, muted */
        struct figures figures;         /* as last published */
        struct chargelog *log;          /* open for appending */
        int64_t deadline;               /* analyzer_next_deadline() when last looked at (registry.c) */
        unsigned seen_sync;             /* last BlueZ sync that reported it */
        bool published;
        struct hpevent *pending;          /* events waiting for room on disk (writer.c) */
        size_t n_pending, pending_cap;
        unsigned dropped;               /* pending events dropped while the queue was full */
        bool name_pending;              /* its latest name is not in its log yet (writer.c) */
        struct ratelimit rate;          /* changes taken from BlueZ (registry.c) */
        struct devstate_report held;    /* the latest values refused by `rate`, while holding */
        char *held_name;                /* and the latest name, "" if none came: CHARGELOG_NAME_MAX + 1
                                         * bytes, allocated with hold_timer at the first flood */
        int64_t held_time_ms;
        bool holding;
        struct event *hold_timer;       /* delivers `held` when `rate` allows; NULL until a flood */
        int64_t flood_said_ms;          /* when a flood was last logged (monotonic) */
        int64_t first_event_ms;         /* the oldest event of its log (after a checkpoint), 0 none */
        int64_t compact_after_ms;       /* no compaction tried before this (after a failure) */
        bool checkpoint_refused;        /* its log's checkpoint could not be restored at start-up */
};

struct context {
        struct event_base *base;
        sd_bus *bus;
        struct busloop *busloop;
        struct bluez *bluez;
        struct sleep *sleep;

        struct analyzer_config config;
        const char *config_path;
        bool replaying;                 /* restoring from logs: nothing is announced */
        bool sleeping;                  /* between PrepareForSleep(true) and the resume (sleep.c) */
        struct event *deadline_timer;   /* the analyzers' next deadline; armed only when one exists */
        int64_t next_deadline;          /* the earliest device deadline, what deadline_timer is armed for */
        void *polkit_queries;           /* polkit.c */

        const char *state_dir;
        int devices_fd;                 /* STATE_DIRECTORY/devices */
        bool devices_unsynced;          /* a rename in it is not durable yet (writer.c syncs it first) */

        struct device **devices;        /* sorted by address */
        size_t n_devices, devices_cap;
        unsigned sync;                  /* counter of BlueZ full syncs */

        int logging_error;              /* why appending is suspended (negative errno), or 0 */
        struct event *writer_timer;     /* retry while suspended; armed only then */
        int writer_backoff_ms;

        bool bluez_running;
        bool name_acquired;
        bool bluez_synced;
        bool ready;
        bool trim_pending;              /* context_trim_soon() asked the loop for a malloc_trim() */
        int exit_code;
};

int context_now_ms(int64_t *ret);
int64_t context_mono_ms(void);
void context_check_ready(struct context *c);
void context_trim_soon(struct context *c);
