/* hpmond — sd-bus inside libevent.
 *
 * sd-bus wants three things from a foreign loop (man sd_bus_get_fd): wake when its fd is
 * readable, wake when it is writable but only while sd_bus_get_events() asks for POLLOUT,
 * and wake at sd_bus_get_timeout(), an ABSOLUTE CLOCK_MONOTONIC time in µs. libevent 2.1
 * has no prepare hook, so instead of re-arming before each poll we drain: every callback
 * runs sd_bus_process() until it returns 0 and then re-arms from the bus's new wishes.
 *
 *   read event  (EV_READ|EV_PERSIST) ─┐
 *   write event (only while POLLOUT) ─┼─▶ busloop_process() ─▶ sd_bus_process() … 0 ─▶ busloop_rearm()
 *   one-shot timer (bus timeout)     ─┘
 *
 * The read event may stay armed for good only because every callback drains. Code that
 * touches the bus outside these callbacks (a timer of our own, say) calls busloop_rearm()
 * afterwards, since sending may have queued output or started a method call timeout.
 * Never call sd_bus_process() from inside a bus callback: it returns -EBUSY. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "busloop.h"
#include "log.h"

struct busloop {
        sd_bus *bus;
        struct event_base *base;
        struct event *read_ev;
        struct event *write_ev;
        struct event *timer_ev;
        bool write_armed;
        int error;              /* first fatal error of the connection, or 0 */
};

/* Now on CLOCK_MONOTONIC in µs, the clock of sd_bus_get_timeout(). */
static uint64_t busloop_now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Runs sd-bus until it has nothing left to do, then re-arms. A dead connection ends the loop. */
static void busloop_process(struct busloop *l) {
        int r;

        for (;;) {
                r = sd_bus_process(l->bus, NULL);
                if (r < 0) {
                        l->error = r;
                        log_error_errno(r, "Bus connection failed: %m");
                        event_base_loopexit(l->base, NULL);
                        return;
                }
                if (r == 0)
                        break;
        }
        r = busloop_rearm(l);
        if (r < 0) {
                l->error = r;
                log_error_errno(r, "Cannot re-arm bus events: %m");
                event_base_loopexit(l->base, NULL);
        }
}

/* libevent callback for the read event, the write event and the timer alike. */
static void busloop_event_cb(evutil_socket_t fd, short what, void *userdata) {
        struct busloop *l = userdata;

        if (what & EV_WRITE)
                l->write_armed = false;   /* the write event is one-shot */
        busloop_process(l);
}

/* Arms the write event and the timer from what sd-bus now wants. */
int busloop_rearm(struct busloop *l) {
        uint64_t until;
        int events, r;

        events = sd_bus_get_events(l->bus);
        if (events < 0)
                return events;
        if ((events & POLLOUT) && !l->write_armed) {
                if (event_add(l->write_ev, NULL) < 0)
                        return -ENOMEM;
                l->write_armed = true;
        } else if (!(events & POLLOUT) && l->write_armed) {
                event_del(l->write_ev);
                l->write_armed = false;
        }

        r = sd_bus_get_timeout(l->bus, &until);
        if (r < 0)
                return r;
        if (r == 0 || until == UINT64_MAX) {
                event_del(l->timer_ev);
                return 0;
        }

        {
                uint64_t now = busloop_now_usec(), left = until > now ? until - now : 0;
                /* round up to whole milliseconds (epoll's unit), so the timer never fires early */
                uint64_t up = (left + 999u) / 1000u * 1000u;
                struct timeval tv = {
                        .tv_sec = (time_t) (up / 1000000u),
                        .tv_usec = (suseconds_t) (up % 1000000u),
                };
                if (evtimer_add(l->timer_ev, &tv) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Attaches a started bus to a libevent base and processes what is already queued. */
int busloop_new(sd_bus *bus, struct event_base *base, struct busloop **ret) {
        struct busloop *l;
        int fd, r;

        fd = sd_bus_get_fd(bus);
        if (fd < 0)
                return fd;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->bus = sd_bus_ref(bus);
        l->base = base;
        l->read_ev = event_new(base, fd, EV_READ | EV_PERSIST, busloop_event_cb, l);
        l->write_ev = event_new(base, fd, EV_WRITE, busloop_event_cb, l);
        l->timer_ev = evtimer_new(base, busloop_event_cb, l);
        if (!l->read_ev || !l->write_ev || !l->timer_ev || event_add(l->read_ev, NULL) < 0) {
                busloop_free(l);
                return -ENOMEM;
        }
        r = busloop_rearm(l);
        if (r < 0) {
                busloop_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

/* The error that ended the connection, or 0. */
int busloop_error(const struct busloop *l) {
        return l ? l->error : 0;
}

/* Detaches from the loop; accepts NULL and returns NULL. */
struct busloop *busloop_free(struct busloop *l) {
        if (!l)
                return NULL;
        if (l->read_ev)
                event_free(l->read_ev);
        if (l->write_ev)
                event_free(l->write_ev);
        if (l->timer_ev)
                event_free(l->timer_ev);
        sd_bus_unref(l->bus);
        free(l);
        return NULL;
}
