/* hpmond — the device registry.
 *
 * A device's published state is always the fold of its log (devstate_apply()): at start
 * by replaying the file, afterwards by applying exactly the events handed to the writer,
 * which has appended them (or, while the disk is full, queued them in order: writer.c). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "checkpoint.h"
#include "config.h"
#include "log.h"
#include "registry.h"
#include "retention.h"
#include "service.h"
#include "busloop.h"
#include "writer.h"

/* Changes taken per device: a burst of 10, then one a second; the rest is coalesced. */
#define REGISTRY_BURST 10
#define REGISTRY_INTERVAL_MS 1000

/* bsearch() comparator: an address string against a device of the sorted table. */
static int registry_compare_address(const void *key, const void *elem) {
        return strcmp(key, (*(struct device *const *) elem)->address);
}

/* The published device with this canonical address, or NULL. The key is the address
 * itself: a whole struct device as key cost a 19 KiB zero-fill per lookup. */
struct device *registry_find(struct context *c, const char address[static ADDRESS_STRING_MAX]) {
        struct device **found;

        found = c->n_devices ? bsearch(address, c->devices, c->n_devices, sizeof(*c->devices),
                                       registry_compare_address) : NULL;
        return found ? *found : NULL;
}

/* bsearch() comparator: an object path against a device of the sorted table. Paths sort as
 * addresses do: one prefix, then the address with '_' where ':' was. */
static int registry_compare_path(const void *key, const void *elem) {
        return strcmp(key, (*(struct device *const *) elem)->path);
}

/* The device published at this object path, or NULL: compared as it is, no address parsed. */
struct device *registry_find_path(struct context *c, const char *path) {
        struct device **found;

        found = c->n_devices ? bsearch(path, c->devices, c->n_devices, sizeof(*c->devices),
                                       registry_compare_path) : NULL;
        return found ? *found : NULL;
}

/* A device's thresholds: its own if its [device ...] section changes any, else the shared ones. */
const struct analyzer_config *registry_device_config(const struct device *d) {
        return d->own_config ? d->own_config : &d->context->config;
}

/* Frees one device; accepts NULL and returns NULL. */
struct device *registry_device_free(struct device *d) {
        if (!d)
                return NULL;
        chargelog_close(d->log);
        analyzer_free(d->analyzer);
        free(d->own_config);
        alerts_done(&d->alerts);
        writer_device_clear(d);
        if (d->hold_timer)
                event_free(d->hold_timer);
        free(d->held_name);
        free(d->name);
        free(d);
        return NULL;
}

/* The analyzer found something: it becomes (or ends, or escalates) an alert. While logs
 * are replayed at start nothing is announced: those alerts are restored, not new. */
static void registry_finding_cb(const struct finding *f, void *userdata) {
        struct device *d = userdata;
        struct alert a;
        enum alerts_change change;

        change = alerts_apply_finding(&d->alerts, f, &a);
        if (change != ALERTS_UNCHANGED && !d->context->replaying)
                service_alert_changed(d->context, d, change, &a);
}

/* Folds one event into a device — state, analyzer, alerts — exactly as it is (or will be)
 * on disk: replay at start and live changes both come through here. */
static void registry_apply(struct context *c, struct device *d, const struct hpevent *e) {
        enum alerts_change change;

        devstate_apply(&d->state, e);
        if (d->first_event_ms == 0 || e->time_ms < d->first_event_ms)
                d->first_event_ms = e->time_ms;     /* retention measures the log's age from its oldest */
        if (e->kind == EVENT_CONNECTED || e->kind == EVENT_BATTERY) {
                (void) analyzer_feed(d->analyzer, e);
                return;
        }
        /* the owner's events: first let the analyzer reach their time, so an alert its timers
         * raised before an acknowledgement exists when the acknowledgement is applied */
        analyzer_advance(d->analyzer, e->time_ms);
        change = alerts_apply_event(&d->alerts, e);
        if (change != ALERTS_UNCHANGED && !c->replaying)
                service_alerts_owner_changed(c, d, change, e);
}

/* Computes the figures again; returns the DEVICE_CHANGED_* bits of those that moved, for
 * the caller to publish with whatever else changed (one PropertiesChanged, not two). */
static unsigned registry_update_figures(struct device *d) {
        struct analyzer_figures af;
        struct figures f;
        unsigned moved;

        analyzer_get_figures(d->analyzer, &af);
        figures_compute(&af, &d->state, &f);
        moved = figures_changed(&f, &d->figures);
        d->figures = f;
        return moved << DEVICE_CHANGED_FIGURES_SHIFT;
}

/* Arms the one timer for c->next_deadline, or none. */
static void registry_arm_timer(struct context *c) {
        int64_t next = c->next_deadline, now = 0;
        struct timeval tv;

        if (next == INT64_MAX) {
                event_del(c->deadline_timer);
                return;
        }
        (void) context_now_ms(&now);
        next = next > now ? next - now : 0;
        /* ms granularity, rounded up so the deadline has passed when we wake */
        tv = (struct timeval) { .tv_sec = next / 1000, .tv_usec = (next % 1000) * 1000 + 1000 };
        (void) evtimer_add(c->deadline_timer, &tv);
}

/* Arms the one timer for the earliest analyzer deadline of all devices, or none: a scan of
 * every device, for start-up, resume and the timer itself (registry_device_deadline() is
 * the per-update path). */
void registry_arm_deadline(struct context *c) {
        int64_t next = INT64_MAX;

        for (size_t i = 0; i < c->n_devices; i++) {
                struct device *d = c->devices[i];

                d->deadline = analyzer_next_deadline(d->analyzer);
                if (d->deadline < next)
                        next = d->deadline;
        }
        c->next_deadline = next;
        registry_arm_timer(c);
}

/* After one device's analyzer moved: the earliest deadline changes only if this one is now
 * earlier, or if it was the earliest and moved later (then every device is looked at again).
 * Anything else leaves the timer as it is, so an update costs the same with 1 or 500 headsets. */
static void registry_device_deadline(struct context *c, struct device *d) {
        int64_t old = d->deadline, t = analyzer_next_deadline(d->analyzer);

        d->deadline = t;
        if (t == old)
                return;
        if (t < c->next_deadline) {
                c->next_deadline = t;
                registry_arm_timer(c);
        } else if (old == c->next_deadline)
                registry_arm_deadline(c);
}

/* An analyzer deadline: advance every device to now, then re-arm. Emits happen outside a
 * bus callback, so the bus is re-armed too. */
static void registry_deadline_cb(evutil_socket_t fd, short what, void *userdata) {
        struct context *c = userdata;
        int64_t now = 0;

        (void) context_now_ms(&now);
        for (size_t i = 0; i < c->n_devices; i++) {
                struct device *d = c->devices[i];

                if (analyzer_next_deadline(d->analyzer) <= now) {
                        unsigned mask;

                        analyzer_advance(d->analyzer, now);
                        mask = registry_update_figures(d);
                        if (mask)
                                service_device_changed(c, d, mask);
                }
        }
        registry_arm_deadline(c);
        if (c->busloop)
                (void) busloop_rearm(c->busloop);
}

/* Creates the deadline timer. */
int registry_setup(struct context *c) {
        c->next_deadline = INT64_MAX;
        c->deadline_timer = evtimer_new(c->base, registry_deadline_cb, c);
        return c->deadline_timer ? 0 : -ENOMEM;
}

/* Makes a device (not yet in the table): its state, alert table and analyzer with its own
 * thresholds. Retention makes one too, to replay a log up to its cut. */
struct device *registry_device_new(struct context *c, const char address[static ADDRESS_STRING_MAX], const char *name) {
        struct device *d;
        int r;

        d = calloc(1, sizeof(*d));
        if (!d)
                return NULL;
        memcpy(d->address, address, ADDRESS_STRING_MAX);
        busdef_device_path(address, d->path);
        d->deadline = INT64_MAX;
        d->name = strdup(name ? name : "");
        if (!d->name) {
                free(d);
                return NULL;
        }
        devstate_init(&d->state);
        alerts_init(&d->alerts, address);
        figures_compute(&(struct analyzer_figures) { .drain_rate = NAN }, &d->state, &d->figures);
        {
                /* the headset's own thresholds: the global ones with its [device ...] section over
                 * them. Most headsets have none: they share the context's, 272 bytes saved each. */
                struct analyzer_config own = c->config;
                struct config_error err = {};

                if (config_load_file_for(c->config_path, address, &own, &err) < 0) {
                        log_warning("%s, using the global thresholds for %s.", err.message, address);
                        own = c->config;
                }
                if (memcmp(&own, &c->config, sizeof(own)) == 0)
                        r = analyzer_new(&c->config, address, registry_finding_cb, d, &d->analyzer);
                else if ((d->own_config = malloc(sizeof(own)))) {
                        *d->own_config = own;
                        r = analyzer_new(d->own_config, address, registry_finding_cb, d, &d->analyzer);
                } else
                        r = -ENOMEM;
        }
        if (r < 0) {
                free(d->own_config);
                free(d->name);
                free(d);
                return NULL;
        }
        ratelimit_init(&d->rate, REGISTRY_BURST, REGISTRY_INTERVAL_MS, context_mono_ms());
        d->context = c;
        return d;
}

/* Adds a device with an open log to the sorted table. */
static int registry_insert(struct context *c, const char address[static ADDRESS_STRING_MAX], const char *name,
                           struct chargelog *log, struct device **ret) {
        struct device *d, **n;
        size_t i;

        n = array_grow(c->devices, sizeof(*c->devices), c->n_devices + 1, 8, &c->devices_cap);
        if (!n)
                return -ENOMEM;
        c->devices = n;
        d = registry_device_new(c, address, name);
        if (!d)
                return -ENOMEM;
        d->log = log;

        for (i = c->n_devices; i > 0 && strcmp(c->devices[i - 1]->address, address) > 0; i--)
                c->devices[i] = c->devices[i - 1];
        c->devices[i] = d;
        c->n_devices++;
        *ret = d;
        return 0;
}

/* Takes a device out of the table and frees it (one whose log could not be read at start). */
static void registry_remove(struct context *c, struct device *d) {
        for (size_t i = 0; i < c->n_devices; i++)
                if (c->devices[i] == d) {
                        memmove(c->devices + i, c->devices + i + 1, (c->n_devices - i - 1) * sizeof(*c->devices));
                        c->n_devices--;
                        break;
                }
        registry_device_free(d);
}

/* Restores the checkpoint lines read so far (a compacted log's), before its first event. */
static void registry_replay_checkpoint(struct registry_replay *rp) {
        int64_t cut = 0;
        int r;

        if (!checkpoint_reader_pending(&rp->checkpoint))
                return;
        r = checkpoint_reader_restore(&rp->checkpoint, &rp->d->state, rp->d->analyzer, &rp->d->alerts, &cut);
        if (r < 0)
                rp->checkpoint_refused = true;
        if (r < 0 && rp->quiet)
                return;
        if (r == -EPROTONOSUPPORT)
                log_warning("%s/devices/%s: checkpoint written by another hpmon build, skipped: what was learned "
                            "before the log was compacted is lost, and the analyzer learns afresh.",
                            rp->c->state_dir, rp->file);
        else if (r < 0)
                log_warning_errno(r, "%s/devices/%s: damaged checkpoint, skipped (what was learned before the log "
                                     "was compacted is lost): %m", rp->c->state_dir, rp->file);
        else
                log_debug("%s/devices/%s: restored the checkpoint of %" PRId64 ".", rp->c->state_dir, rp->file, cut);
}

/* Replay callback: folds one logged event into the device (stopping at rp->stop_ms, for
 * retention's cut). */
static int registry_replay_event_cb(void *userdata, const struct hpevent *e) {
        struct registry_replay *rp = userdata;

        registry_replay_checkpoint(rp);
        if (rp->stop_ms && e->time_ms >= rp->stop_ms) {
                rp->stopped = true;
                return -ECANCELED;
        }
        registry_apply(rp->c, rp->d, e);
        return 0;
}

/* Ends a replay: a log that is only a checkpoint is restored now. */
void registry_replay_finish(struct registry_replay *rp) {
        registry_replay_checkpoint(rp);
        checkpoint_reader_done(&rp->checkpoint);
}

/* Replay callback: the last "# name=" comment names the device. */
static void registry_replay_meta_cb(void *userdata, const char *key, size_t key_len, const char *value, size_t value_len) {
        struct registry_replay *rp = userdata;
        char raw[CHARGELOG_NAME_MAX * 4 + 1], clean[CHARGELOG_NAME_MAX + 1], *n;
        int r;

        r = checkpoint_reader_meta(&rp->checkpoint, key, key_len, value, value_len);
        if (r < 0) {
                if (!rp->quiet)
                        log_warning_errno(r, "%s/devices/%s: checkpoint skipped: %m", rp->c->state_dir, rp->file);
                rp->checkpoint_refused = true;
        }
        if (r != 0)
                return;
        if (key_len != 4 || memcmp(key, "name", 4) != 0)
                return;
        /* a file is no more trusted than the bus: the name is published, so it is cleaned */
        snprintf(raw, sizeof(raw), "%.*s", (int) (value_len < sizeof(raw) - 1 ? value_len : sizeof(raw) - 1), value);
        chargelog_clean_name(raw, clean, sizeof(clean));
        n = strdup(clean);
        if (!n)
                return;
        free(rp->d->name);
        rp->d->name = n;
}

/* Replay callback: a skipped line is worth a warning with file and line, never a failure. */
static void registry_replay_problem_cb(void *userdata, unsigned line, enum chargelog_problem p, const char *text) {
        struct registry_replay *rp = userdata;

        if (!rp->quiet)
                log_warning("%s/devices/%s:%u: %s, skipped", rp->c->state_dir, rp->file, line, text);
}

const struct chargelog_handler registry_replay_handler = {
        .event = registry_replay_event_cb,
        .meta = registry_replay_meta_cb,
        .problem = registry_replay_problem_cb,
};

/* Restores one device from its log file (cutting a torn last line first). */
static int registry_load_one(struct context *c, const char *fn) {
        char stem[ADDRESS_STRING_MAX], address[ADDRESS_STRING_MAX];
        struct registry_replay rp = { .c = c, .file = fn };
        struct chargelog_stats stats;
        struct chargelog *log;
        struct device *d;
        off_t cut = 0;
        int fd, r;

        if (strlen(fn) != ADDRESS_STRING_MAX - 1 + 4 || strcmp(fn + ADDRESS_STRING_MAX - 1, ".csv") != 0)
                return 0;
        memcpy(stem, fn, ADDRESS_STRING_MAX - 1);
        stem[ADDRESS_STRING_MAX - 1] = '\0';
        if (address_from_underscores(stem, address) < 0) {
                log_warning("%s/devices/%s: not named after a Bluetooth address, ignoring.", c->state_dir, fn);
                return 0;
        }
        {
                /* appends go to the canonical name: a log spelt otherwise ("aa_bb_….csv") is
                 * renamed to it, so the history is never split between two files */
                char canonical[ADDRESS_STRING_MAX + 8];

                (void) chargelog_filename(address, canonical, sizeof(canonical));
                if (strcmp(fn, canonical) != 0) {
                        if (faccessat(c->devices_fd, canonical, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
                            renameat(c->devices_fd, fn, c->devices_fd, canonical) < 0) {
                                log_warning("%s/devices/%s: not the canonical name %s, which is taken or cannot be "
                                            "given; ignoring it.", c->state_dir, fn, canonical);
                                return 0;
                        }
                        log_notice("%s/devices/%s: renamed to %s.", c->state_dir, fn, canonical);
                        return registry_load_one(c, canonical);
                }
        }
        if (registry_find(c, address))
                return 0;

        r = chargelog_open(c->devices_fd, address, NULL, &log, NULL, &cut);
        if (r < 0)
                return log_error_errno(r, "%s/devices/%s: cannot open: %m", c->state_dir, fn);
        if (cut > 0)
                log_warning("%s/devices/%s: cut a torn last line of %lld bytes (written when hpmond stopped mid-write).",
                            c->state_dir, fn, (long long) cut);

        r = registry_insert(c, address, NULL, log, &d);
        if (r < 0) {
                chargelog_close(log);
                return log_error_errno(r, "Cannot restore %s: %m", address);
        }
        rp.d = d;

        fd = openat(c->devices_fd, fn, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                registry_remove(c, d);
                return log_error_errno(r, "%s/devices/%s: cannot read, not following it: %m", c->state_dir, fn);
        }
        r = chargelog_read_fd(fd, &registry_replay_handler, &rp, &stats);
        close(fd);
        registry_replay_finish(&rp);
        d->checkpoint_refused = rp.checkpoint_refused;
        if (r < 0) {
                /* half a history would publish wrong alerts and figures, and appending to it
                 * would bury the damage: leave the file alone and say so */
                registry_remove(c, d);
                return log_error_errno(r, "%s/devices/%s: cannot read, not following it: %m", c->state_dir, fn);
        }

        log_debug("Restored %s (%s): %llu events, %llu lines skipped, connected=%d, level=%d.",
                  address, d->name, (unsigned long long) stats.events, (unsigned long long) stats.skipped,
                  d->state.connected, d->state.percentage);
        return 0;
}

/* Replays every log in STATE_DIRECTORY/devices, so the daemon starts as the fold of its logs. */
int registry_load(struct context *c) {
        DIR *dir;
        struct dirent *de;
        int fd, r, ret = 0;

        fd = dup(c->devices_fd);
        if (fd < 0)
                return -errno;
        dir = fdopendir(fd);
        if (!dir) {
                close(fd);
                return -errno;
        }
        c->replaying = true;
        while ((errno = 0, de = readdir(dir))) {
                if (de->d_name[0] == '.') {
                        size_t n = strlen(de->d_name);

                        /* a log rewrite (creation, compaction) cut short by a crash: the log
                         * itself is whole, the copy is only in the way of a full disk */
                        if (n > 5 && strcmp(de->d_name + n - 4, ".tmp") == 0 &&
                            unlinkat(c->devices_fd, de->d_name, 0) == 0)
                                log_notice("%s/devices/%s: removed, left by an interrupted rewrite.", c->state_dir,
                                           de->d_name);
                        continue;
                }
                r = registry_load_one(c, de->d_name);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        r = errno ? -errno : 0;
        closedir(dir);
        if (r >= 0) {
                /* time passed while hpmond was not running: timers due since fire now, quietly */
                int64_t now = 0;

                (void) context_now_ms(&now);
                for (size_t i = 0; i < c->n_devices; i++) {
                        analyzer_advance(c->devices[i]->analyzer, now);
                        (void) registry_update_figures(c->devices[i]);
                        retention_run(c, c->devices[i], now);
                }
        }
        c->replaying = false;
        if (r < 0)
                return r;
        registry_arm_deadline(c);
        log_info("Restored %zu device(s) from %s/devices.", c->n_devices, c->state_dir);
        return ret == -ENOMEM ? ret : 0;
}

/* Hold timer: the rate allows a change again, so the latest held one goes through. It
 * runs outside a bus callback, so the bus is re-armed after the emits. */
static void registry_hold_cb(evutil_socket_t fd, short what, void *userdata) {
        struct device *d = userdata;
        struct context *c = d->context;
        struct devstate_report rep = d->held;
        char name[CHARGELOG_NAME_MAX + 1];

        memcpy(name, d->held_name, sizeof(name));
        d->holding = false;
        (void) registry_report(c, d->address, *name ? name : NULL, &rep, d->held_time_ms);
        if (c->busloop)
                (void) busloop_rearm(c->busloop);
}

/* Whether a change may go through now. A device over its rate has what it reports held
 * — field by field, so the latest level survives a later report without one (a
 * disconnect: bluetoothd removes Battery1), and the latest name too — and a one-shot
 * timer delivers it when the bucket allows: disk and memory stay bounded however fast it
 * floods, and the latest values win. */
static bool registry_admit(struct context *c, struct device *d, const char *name, const struct devstate_report *rep,
                           int64_t now_ms) {
        int64_t mono = context_mono_ms(), wait;
        struct timeval tv;

        if (!d->holding && ratelimit_take(&d->rate, mono))
                return true;

        if (!d->hold_timer) {
                /* its first flood: room to hold what it sends (most devices never flood) */
                d->held_name = calloc(1, CHARGELOG_NAME_MAX + 1);
                d->hold_timer = d->held_name ? evtimer_new(c->base, registry_hold_cb, d) : NULL;
                if (!d->hold_timer) {
                        free(d->held_name);
                        d->held_name = NULL;
                        return true;    /* no memory for coalescing: let it through */
                }
        }
        if (!d->holding) {
                d->held = *rep;
                d->held_name[0] = '\0';
        } else {
                devstate_report_merge(&d->held, rep);
        }
        if (name)
                snprintf(d->held_name, CHARGELOG_NAME_MAX + 1, "%s", name);
        d->held_time_ms = now_ms;
        if (d->holding)
                return false;
        wait = ratelimit_next(&d->rate, mono) - mono;
        tv = (struct timeval) { .tv_sec = wait / 1000, .tv_usec = (wait % 1000) * 1000 };
        if (evtimer_add(d->hold_timer, &tv) < 0)
                return true;
        d->holding = true;
        if (d->flood_said_ms == 0 || mono - d->flood_said_ms > 60000) {
                log_warning("%s sends changes faster than %d a second; keeping only the latest of them.",
                            d->address, 1000 / REGISTRY_INTERVAL_MS);
                d->flood_said_ms = mono;
        }
        return false;
}

static int registry_report_full(struct context *c, const char address[static ADDRESS_STRING_MAX], const char *name,
                                const struct devstate_report *rep, int64_t now_ms, bool force);

/* Delivers what a device has held at once (before a forced report, which must not be
 * overtaken by older values delivered later by the hold timer). */
static void registry_flush_held(struct context *c, struct device *d) {
        struct devstate_report rep = d->held;
        char name[CHARGELOG_NAME_MAX + 1];

        if (!d->holding)
                return;
        event_del(d->hold_timer);
        d->holding = false;
        memcpy(name, d->held_name, sizeof(name));
        (void) registry_report_full(c, d->address, *name ? name : NULL, &rep, d->held_time_ms, true);
}

/* A device's state as BlueZ reports it now. A device is taken on when it first reports a
 * battery level (or when a log for it already exists); what changed is appended to its log
 * first and published after. */
static int registry_report_full(struct context *c, const char address[static ADDRESS_STRING_MAX], const char *name,
                                const struct devstate_report *report, int64_t now_ms, bool force) {
        struct devstate_report sleeping, *rep = (struct devstate_report *) report;
        struct hpevent ev[2];
        struct device *d;
        unsigned mask = 0;
        bool added = false;
        size_t n;
        int r, k;

        d = registry_find(c, address);
        if (!d) {
                struct chargelog *log;

                if (rep->percentage < 0)
                        return 0;       /* no battery: not a device we follow */
                r = writer_open_log(c, address, name, &log);
                if (r < 0) {
                        /* followed all the same: the writer queues its changes and makes the
                         * log when the disk lets it (writer.c) */
                        log_warning_errno(r, "Cannot create the log of %s yet, keeping its changes in memory: %m",
                                          address);
                        log = NULL;
                }
                k = r;
                r = registry_insert(c, address, name, log, &d);
                if (r < 0) {
                        chargelog_close(log);
                        return log_error_errno(r, "Cannot add %s: %m", address);
                }
                if (!log)
                        writer_device_unlogged(c, d, k);
                log_info("Following %s (%s).", address, d->name);
                added = true;
        }
        d->seen_sync = c->sync;
        if (c->sleeping && rep->connected == 1) {
                /* BlueZ's last words before the machine sleeps: not a reconnection */
                sleeping = *rep;
                sleeping.connected = -1;
                rep = &sleeping;
        }

        if (force)
                registry_flush_held(c, d);
        else if (!added) {
                /* anything to change? then it must pass the device's rate (names too) */
                n = devstate_diff(&d->state, rep, now_ms, ev);
                /* while holding, every report counts: one back to the published value must
                 * replace the held one, or the hold timer would deliver an older value */
                if ((d->holding || n > 0 || (name && strcmp(name, d->name) != 0)) &&
                    !registry_admit(c, d, name, rep, now_ms))
                        return 0;       /* held: delivered by the hold timer */
        }

        if (name && !added && strcmp(name, d->name) != 0) {
                char *copy = strdup(name);

                if (!copy)
                        return log_warning_errno(ENOMEM, "Cannot rename %s: %m", address);
                free(d->name);
                d->name = copy;
                writer_submit_name(c, d);
                mask |= DEVICE_CHANGED_NAME;
        }

        n = devstate_diff(&d->state, rep, now_ms, ev);
        for (size_t i = 0; i < n; i++) {
                if (writer_submit(c, d, &ev[i]) < 0) {
                        log_error_errno(ENOMEM, "Cannot record a change of %s: %m", address);
                        break;
                }
                registry_apply(c, d, &ev[i]);
                mask |= ev[i].kind == EVENT_CONNECTED ? DEVICE_CHANGED_CONNECTED : DEVICE_CHANGED_PERCENTAGE;
                log_debug("%s: %s=%d", address, event_kind_to_string(ev[i].kind), ev[i].value);
        }

        if (n > 0)
                mask |= registry_update_figures(d);
        if (added || !d->published)
                service_device_added(c, d);
        else if (mask)
                service_device_changed(c, d, mask);
        if (n > 0) {
                registry_device_deadline(c, d);
                retention_run(c, d, now_ms);
        }
        return 0;
}

/* A device's state as BlueZ reports it now, subject to the device's rate. */
int registry_report(struct context *c, const char address[static ADDRESS_STRING_MAX], const char *name,
                    const struct devstate_report *rep, int64_t now_ms) {
        return registry_report_full(c, address, name, rep, now_ms, false);
}

/* Logs one of the owner's events (ack, mute, unmute) for a device and applies it. */
int registry_owner_event(struct context *c, struct device *d, enum event_kind kind, int value) {
        struct hpevent e = { .kind = kind, .value = value };
        int r;

        r = context_now_ms(&e.time_ms);
        if (r < 0)
                return r;
        r = writer_submit(c, d, &e);
        if (r < 0)
                return r;
        registry_apply(c, d, &e);
        registry_device_deadline(c, d);
        return 0;
}

/* Starts a full sync with BlueZ: every device it still has will be reported again. */
void registry_sync_begin(struct context *c) {
        c->sync++;
}

/* Says a device BlueZ no longer has is disconnected. Forced past the rate: "bluetoothd went
 * away" must be logged, never coalesced away with the "connected" of a bluetoothd that came
 * back quickly. */
static void registry_mark_gone(struct context *c, struct device *d, int64_t now_ms) {
        const struct devstate_report gone = { .connected = 0, .percentage = -1 };

        if (d->state.connected != 0 || d->holding)
                (void) registry_report_full(c, d->address, NULL, &gone, now_ms, true);
}

/* Ends a full sync: a device BlueZ no longer reported (or BlueZ itself is gone) is disconnected. */
void registry_sync_end(struct context *c, int64_t now_ms) {
        for (size_t i = 0; i < c->n_devices; i++)
                if (c->devices[i]->seen_sync != c->sync)
                        registry_mark_gone(c, c->devices[i], now_ms);
}

/* One device BlueZ turned out not to have, outside a full sync: disconnected, as
 * registry_sync_end() would have said. */
void registry_report_gone(struct context *c, const char address[static ADDRESS_STRING_MAX], int64_t now_ms) {
        struct device *d = registry_find(c, address);

        if (d)
                registry_mark_gone(c, d, now_ms);
}

/* Frees every device. */
void registry_free(struct context *c) {
        if (c->deadline_timer)
                event_free(c->deadline_timer);
        c->deadline_timer = NULL;
        for (size_t i = 0; i < c->n_devices; i++)
                registry_device_free(c->devices[i]);
        free(c->devices);
        c->devices = NULL;
        c->n_devices = c->devices_cap = 0;
}
