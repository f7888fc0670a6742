/* hpmond — the disk writer.
 *
 * Normally an event is appended (one write(), one fdatasync()) before anyone sees it.
 * When the disk refuses a line, hpmond does not stop and does not lose the event:
 *
 *   append fails ──▶ logging suspended (said once in the journal, Manager.Logging)
 *        │            event queued on its device (bounded: WRITER_PENDING_MAX, oldest dropped)
 *        ▼
 *   one-shot timer, 1 s, 2 s, 4 s … 32 s ──▶ append every device's queue in order
 *        │                                    ├─ all written ──▶ logging active again
 *        └────────────── still refused ◀──────┘
 *
 * While suspended, new events of every device go to the queue too, so each log keeps
 * its order, and the API keeps showing current levels: a person still sees their
 * headset, only the durable record lags. Events queued in memory are lost if hpmond is
 * killed before the disk has room again; README.md states this. No timer runs unless
 * something is queued.
 *
 * A compaction renames a new log over the old one; if the directory cannot be synced
 * after that, a power cut could bring the old file back, and with it lose every line
 * appended to the new one. So nothing is appended until the directory is synced: the
 * writer tries first, and treats a failure as a refused append (queue, suspend, retry). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "busloop.h"
#include "log.h"
#include "service.h"
#include "writer.h"

/* Whether an append error means "no room" rather than a broken file or disk. */
static bool writer_is_full(int r) {
        return r == -ENOSPC || r == -EDQUOT || r == -EFBIG;
}

/* The state Manager.Logging shows. */
const char *writer_state(const struct context *c) {
        if (!c->logging_error)
                return "active";
        return writer_is_full(c->logging_error) ? "suspended: disk full" : "suspended: cannot write";
}

/* Events waiting for room, over all devices. */
unsigned writer_pending(const struct context *c) {
        unsigned n = 0;

        for (size_t i = 0; i < c->n_devices; i++)
                n += (unsigned) c->devices[i]->n_pending;
        return n;
}

/* Arms the retry timer for the current backoff, then doubles it. */
static void writer_schedule(struct context *c) {
        struct timeval tv = {
                .tv_sec = c->writer_backoff_ms / 1000,
                .tv_usec = (c->writer_backoff_ms % 1000) * 1000,
        };

        (void) evtimer_add(c->writer_timer, &tv);
        c->writer_backoff_ms = c->writer_backoff_ms * 2 > WRITER_BACKOFF_MAX_MS ? WRITER_BACKOFF_MAX_MS
                                                                               : c->writer_backoff_ms * 2;
}

/* Queues an event at the end of a device's queue, dropping the oldest when it is full. */
static int writer_enqueue(struct device *d, const struct hpevent *e) {
        struct hpevent *n;

        if (d->n_pending == WRITER_PENDING_MAX) {
                memmove(d->pending, d->pending + 1, (WRITER_PENDING_MAX - 1) * sizeof(*d->pending));
                d->n_pending--;
                d->dropped++;
        }
        n = array_grow(d->pending, sizeof(*n), d->n_pending + 1, 16, &d->pending_cap);
        if (!n)
                return -ENOMEM;
        d->pending = n;
        d->pending[d->n_pending++] = *e;
        return 0;
}

/* Enters the suspended state: said once, published, retried later. */
static void writer_suspend(struct context *c, int r) {
        bool was = c->logging_error != 0;

        c->logging_error = r;
        if (!was) {
                log_error_errno(r, "Cannot append to the charge logs, logging suspended; changes are kept in memory "
                                   "and written when there is room: %m");
                c->writer_backoff_ms = WRITER_BACKOFF_MIN_MS;
                service_logging_changed(c);
        }
        if (!evtimer_pending(c->writer_timer, NULL))
                writer_schedule(c);
}

/* Creates (or opens) a device's log. A failure may have come after the new file's rename,
 * so the directory is synced before anything is appended again. */
int writer_open_log(struct context *c, const char address[static ADDRESS_STRING_MAX], const char *name,
                    struct chargelog **ret_log) {
        int r;

        r = chargelog_open(c->devices_fd, address, name, ret_log, NULL, NULL);
        if (r < 0)
                c->devices_unsynced = true;
        return r;
}

/* Opens a device's log if it has none yet: a headset first seen while its log could not
 * be created is followed anyway, and its log made when the disk lets us. */
static int writer_open(struct context *c, struct device *d) {
        if (d->log)
                return 0;
        return writer_open_log(c, d->address, d->name, &d->log);
}

/* Makes a rename in the devices directory durable before anything is appended after it. */
static int writer_sync_dir(struct context *c) {
        if (!c->devices_unsynced)
                return 0;
        if (fsync(c->devices_fd) < 0)
                return -errno;
        c->devices_unsynced = false;
        return 0;
}

/* Appends an event now, or queues it while logging is suspended. Returns 0 when the event
 * is logged or queued (the caller then applies and publishes it), <0 only when memory is out. */
int writer_submit(struct context *c, struct device *d, const struct hpevent *e) {
        int r;

        if (c->logging_error || d->n_pending > 0 || !d->log) {
                r = writer_enqueue(d, e);
                if (r >= 0)
                        service_logging_changed(c);
                return r;
        }
        r = writer_sync_dir(c);
        if (r >= 0)
                r = chargelog_append(d->log, e);
        if (r >= 0)
                return 0;
        if (writer_enqueue(d, e) < 0)
                return -ENOMEM;
        writer_suspend(c, r);
        return 0;
}

/* Records a device's new name ("# name=" line), now or, while logging is suspended, once
 * its queue is written: a rename never goes ahead of events queued before it. */
void writer_submit_name(struct context *c, struct device *d) {
        int r;

        if (c->logging_error || d->n_pending > 0 || !d->log) {
                d->name_pending = true;         /* written by writer_flush() after the queue */
                return;
        }
        r = writer_sync_dir(c);
        if (r >= 0)
                r = chargelog_append_meta(d->log, "name", d->name);
        if (r >= 0)
                return;
        d->name_pending = true;
        writer_suspend(c, r);
}

/* Whether a device has anything waiting for the disk. */
static bool writer_device_pending(const struct device *d) {
        return d->n_pending > 0 || d->name_pending || !d->log;
}

/* Marks a device whose log could not be created: what it reports waits in its queue. */
void writer_device_unlogged(struct context *c, struct device *d, int r) {
        d->log = NULL;
        writer_suspend(c, r);
}

/* Writes every queued event, device by device, in order; stops at the first refusal. */
void writer_flush(struct context *c) {
        unsigned written = 0, dropped = 0;
        int r = writer_sync_dir(c);

        for (size_t i = 0; i < c->n_devices && r >= 0; i++) {
                struct device *d = c->devices[i];
                size_t done = 0;

                if (!writer_device_pending(d))
                        continue;
                r = writer_open(c, d);
                if (r < 0)
                        break;
                for (; done < d->n_pending; done++) {
                        r = chargelog_append(d->log, &d->pending[done]);
                        if (r < 0)
                                break;
                }
                memmove(d->pending, d->pending + done, (d->n_pending - done) * sizeof(*d->pending));
                d->n_pending -= done;
                written += (unsigned) done;
                if (d->n_pending == 0) {
                        dropped += d->dropped;
                        d->dropped = 0;
                        if (r >= 0 && d->name_pending && (r = chargelog_append_meta(d->log, "name", d->name)) >= 0)
                                d->name_pending = false;
                }
        }
        if (r < 0) {
                c->logging_error = r;
                if (written > 0)
                        service_logging_changed(c);
                writer_schedule(c);
                return;
        }
        if (c->logging_error) {
                log_notice("Logging resumed: %u queued change(s) written%s.", written,
                           dropped ? ", but some were dropped while the queue was full" : "");
                if (dropped)
                        log_warning("%u change(s) were dropped while logging was suspended.", dropped);
        }
        c->logging_error = 0;
        c->writer_backoff_ms = WRITER_BACKOFF_MIN_MS;
        service_logging_changed(c);
}

/* Retry timer: try the queue again. Emits outside a bus callback, so re-arms the bus after. */
static void writer_timer_cb(evutil_socket_t fd, short what, void *userdata) {
        struct context *c = userdata;

        writer_flush(c);
        if (c->busloop)
                (void) busloop_rearm(c->busloop);
}

/* Creates the (unarmed) retry timer. */
int writer_setup(struct context *c) {
        c->writer_timer = evtimer_new(c->base, writer_timer_cb, c);
        if (!c->writer_timer)
                return -ENOMEM;
        c->writer_backoff_ms = WRITER_BACKOFF_MIN_MS;
        return 0;
}

/* Frees a device's queue. */
void writer_device_clear(struct device *d) {
        free(d->pending);
        d->pending = NULL;
        d->n_pending = d->pending_cap = 0;
}

/* Last try at exit, then frees the timer. What still cannot be written is said, not hidden. */
void writer_free(struct context *c) {
        unsigned left;

        if (c->logging_error) {
                writer_flush(c);
                left = writer_pending(c);
                if (left)
                        log_error("Exiting with %u change(s) that could not be written to the charge logs.", left);
        }
        if (c->writer_timer)
                event_free(c->writer_timer);
        c->writer_timer = NULL;
}
