/* floor — the memory and wake-up floor of a daemon built like hpmond: a process that links
 * libsystemd and libevent, holds one connection to the system bus inside a libevent loop,
 * says READY=1, and does nothing else. bench/run sets hpmond's figures beside it.
 *
 * It processes the bus the way daemon/busloop.c does (drain on every wake-up, re-arm the
 * timer from sd_bus_get_timeout()), so its idle cost is the cost of the loop alone. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

struct floor {
        sd_bus *bus;
        struct event_base *base;
        struct event *read_ev, *write_ev, *timer_ev;
};

/* Arms the write event and the one-shot timer from what sd-bus wants now. */
static int floor_rearm(struct floor *f) {
        struct timespec ts;
        uint64_t until, now;
        int events, r;

        events = sd_bus_get_events(f->bus);
        if (events < 0)
                return events;
        if (events & POLLOUT)
                (void) event_add(f->write_ev, NULL);
        else
                (void) event_del(f->write_ev);
        r = sd_bus_get_timeout(f->bus, &until);
        if (r < 0)
                return r;
        if (r == 0 || until == UINT64_MAX) {
                (void) event_del(f->timer_ev);
                return 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
        {
                uint64_t left = until > now ? until - now : 0;
                struct timeval tv = { .tv_sec = (time_t) (left / 1000000u), .tv_usec = (suseconds_t) (left % 1000000u) };

                return evtimer_add(f->timer_ev, &tv) < 0 ? -ENOMEM : 0;
        }
}

/* Read, write and timer events alike: drain the bus, then re-arm. */
static void floor_bus_cb(evutil_socket_t fd, short what, void *userdata) {
        struct floor *f = userdata;
        int r;

        do
                r = sd_bus_process(f->bus, NULL);
        while (r > 0);
        if (r < 0 || floor_rearm(f) < 0)
                event_base_loopbreak(f->base);
}

/* SIGTERM: leave the loop. */
static void floor_signal_cb(evutil_socket_t sig, short what, void *userdata) {
        event_base_loopbreak(userdata);
}

int main(void) {
        struct floor f = {};
        struct event *sigterm;
        int fd, r;

        r = sd_bus_open_system(&f.bus);
        if (r < 0) {
                fprintf(stderr, "floor: cannot connect to the system bus: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        f.base = event_base_new();
        fd = sd_bus_get_fd(f.bus);
        if (!f.base || fd < 0)
                return EXIT_FAILURE;
        f.read_ev = event_new(f.base, fd, EV_READ | EV_PERSIST, floor_bus_cb, &f);
        f.write_ev = event_new(f.base, fd, EV_WRITE, floor_bus_cb, &f);
        f.timer_ev = evtimer_new(f.base, floor_bus_cb, &f);
        sigterm = evsignal_new(f.base, SIGTERM, floor_signal_cb, f.base);
        if (!f.read_ev || !f.write_ev || !f.timer_ev || !sigterm ||
            event_add(f.read_ev, NULL) < 0 || evsignal_add(sigterm, NULL) < 0 || floor_rearm(&f) < 0)
                return EXIT_FAILURE;

        (void) sd_notify(0, "READY=1");
        event_base_dispatch(f.base);

        event_free(sigterm);
        event_free(f.read_ev);
        event_free(f.write_ev);
        event_free(f.timer_ev);
        event_base_free(f.base);
        sd_bus_flush_close_unref(f.bus);
        return EXIT_SUCCESS;
}
