/* latency — changes Battery1.Percentage on the bluez5 mock, one change at a time, and times
 * when the change shows up on the bus: the mock's own PropertiesChanged, hpmond's and
 * upowerd's. bench/run reads the daemons' CPU time around a run of it.
 *
 *   latency --addresses FILE --changes K [--hpmond] [--upowerd] [--out FILE] [--fsync FILE]
 *           [--burst N] [--interval-ms MS] [--timeout-ms MS] [--seed N]
 *
 * Change k goes to device k mod N (N = the lines of FILE, one address each), with a value
 * in 30..99 that differs from the device's last one; the next change is sent only once
 * every awaited signal has arrived (or --timeout-ms passed), so the daemons never see two
 * changes at once. hpmond admits a burst of 10 changes per device, then one a second, and
 * coalesces what comes faster (README.md); the client keeps the same token bucket per
 * device (--burst tokens to start with, one more every --interval-ms) and waits for a token
 * before it sends, so every change is a change hpmond logs and publishes at once.
 *
 * --fsync FILE: before each change, append one charge-log line to FILE with write() and
 * fdatasync() and time it: the floor of hpmond's latency, sampled in the same moments.
 *
 * --out gets one line per change: "k device value sent reply bluez hpmond upowerd fsync",
 * times in µs on CLOCK_MONOTONIC (fsync: a duration), 0 for a signal that did not come. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#define LATENCY_ADDRESS_LEN 17

enum latency_source {
        LATENCY_BLUEZ,
        LATENCY_HPMOND,
        LATENCY_UPOWERD,
        _LATENCY_SOURCE_MAX,
};

struct latency_device {
        char address[LATENCY_ADDRESS_LEN + 1];
        char tail[LATENCY_ADDRESS_LEN + 5];     /* "dev_AA_BB_CC_DD_EE_FF", the end of every path */
        int value;                              /* last value set */
        double tokens;
        uint64_t refilled;                      /* µs */
};

struct latency {
        sd_bus *bus;
        struct latency_device *devices;
        size_t n_devices;
        bool await[_LATENCY_SOURCE_MAX];
        /* the change in flight */
        const struct latency_device *current;
        int expect;
        uint64_t got[_LATENCY_SOURCE_MAX];
        uint64_t reply;
        int reply_error;
};

/* CLOCK_MONOTONIC in µs. */
static uint64_t latency_now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Sleeps for `usec` µs. */
static void latency_sleep(uint64_t usec) {
        struct timespec ts = { .tv_sec = (time_t) (usec / 1000000u), .tv_nsec = (long) (usec % 1000000u) * 1000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Whether an object path belongs to the device in flight: "/…/dev_AA_…" or "/…_dev_AA_…". */
static bool latency_path_is_current(const struct latency *l, const char *path) {
        size_t n = strlen(path), t = strlen(l->current->tail);

        return n > t && strcmp(path + n - t, l->current->tail) == 0 && (path[n - t - 1] == '/' || path[n - t - 1] == '_');
}

/* Reads Percentage out of a PropertiesChanged, whatever its type (y: BlueZ, i: hpmond,
 * d: upowerd); 1 if found, 0 if the signal does not carry it. */
static int latency_read_percentage(sd_bus_message *m, double *ret) {
        const char *iface, *name;
        int r;

        r = sd_bus_message_read(m, "s", &iface);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *contents;
                char type;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                if (strcmp(name, "Percentage") != 0) {
                        r = sd_bus_message_skip(m, "v");
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        return r;
                if (contents[0] == 'y') {
                        uint8_t v;
                        r = sd_bus_message_read(m, "y", &v);
                        *ret = v;
                } else if (contents[0] == 'i') {
                        int32_t v;
                        r = sd_bus_message_read(m, "i", &v);
                        *ret = v;
                } else if (contents[0] == 'd') {
                        double v;
                        r = sd_bus_message_read(m, "d", &v);
                        *ret = v;
                } else
                        return 0;
                return r < 0 ? r : 1;
        }
        return r < 0 ? r : 0;
}

/* Any PropertiesChanged we subscribed to: stamps the first one that carries the value in flight. */
static int latency_signal_cb(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        uint64_t now = latency_now();
        struct latency *l = userdata;
        const char *path = sd_bus_message_get_path(m);
        enum latency_source s;
        double v = -1;

        if (!l->current || !path)
                return 0;
        if (strncmp(path, "/org/bluez/", 11) == 0)
                s = LATENCY_BLUEZ;
        else if (strncmp(path, "/org/hpmon/Monitor1/", 20) == 0)
                s = LATENCY_HPMOND;
        else if (strncmp(path, "/org/freedesktop/UPower/", 24) == 0)
                s = LATENCY_UPOWERD;
        else
                return 0;
        if (l->got[s] || !latency_path_is_current(l, path))
                return 0;
        if (latency_read_percentage(m, &v) > 0 && (int) (v + 0.5) == l->expect)
                l->got[s] = now;
        return 0;
}

/* The mock's reply to Set. */
static int latency_reply_cb(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct latency *l = userdata;

        l->reply = latency_now();
        if (sd_bus_message_is_method_error(m, NULL))
                l->reply_error = sd_bus_message_get_errno(m) ?: EIO;
        return 0;
}

/* Whether everything awaited for the change in flight is in. */
static bool latency_done(const struct latency *l) {
        if (!l->reply)
                return false;
        for (int s = 0; s < _LATENCY_SOURCE_MAX; s++)
                if (l->await[s] && !l->got[s])
                        return false;
        return true;
}

/* Waits for a token of the device's bucket (the daemon's rate limit, mirrored), takes it. */
static void latency_pace(struct latency_device *d, double burst, uint64_t interval) {
        for (;;) {
                uint64_t now = latency_now();

                d->tokens += (double) (now - d->refilled) / (double) interval;
                if (d->tokens > burst)
                        d->tokens = burst;
                d->refilled = now;
                if (d->tokens >= 1.0) {
                        d->tokens -= 1.0;
                        return;
                }
                latency_sleep((uint64_t) ((1.0 - d->tokens) * (double) interval) + 1);
        }
}

/* Reads one address a line. */
static int latency_load(struct latency *l, const char *path) {
        char line[64];
        FILE *f;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                struct latency_device *n, *d;

                line[strcspn(line, "\r\n")] = '\0';
                if (strlen(line) != LATENCY_ADDRESS_LEN)
                        continue;
                n = realloc(l->devices, (l->n_devices + 1) * sizeof(*n));
                if (!n) {
                        fclose(f);
                        return -ENOMEM;
                }
                l->devices = n;
                d = &l->devices[l->n_devices++];
                *d = (struct latency_device) { .value = -1 };
                memcpy(d->address, line, sizeof(d->address));
                snprintf(d->tail, sizeof(d->tail), "dev_%.*s", LATENCY_ADDRESS_LEN, line);
                for (char *p = d->tail; *p; p++)
                        if (*p == ':')
                                *p = '_';
        }
        fclose(f);
        return l->n_devices > 0 ? 0 : -ENODATA;
}

/* One write() and fdatasync() of a charge-log line; its µs, or 0 if it failed. */
static uint64_t latency_fsync(int fd) {
        static const char line[] = "1795580854.123,battery,57\n";
        uint64_t t0 = latency_now();

        if (write(fd, line, sizeof(line) - 1) != (ssize_t) sizeof(line) - 1 || fdatasync(fd) < 0)
                return 0;
        return latency_now() - t0;
}

/* Prints the usage. */
static void latency_usage(FILE *f) {
        fputs("usage: latency --addresses FILE --changes K [--hpmond] [--upowerd] [--out FILE] [--fsync FILE]\n"
              "               [--burst N] [--interval-ms MS] [--timeout-ms MS] [--seed N]\n", f);
}

int main(int argc, char *argv[]) {
        static const char *const rules[] = {
                "type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                "path_namespace='/org/bluez'",
                "type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                "path_namespace='/org/hpmon/Monitor1/devices'",
                "type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                "path_namespace='/org/freedesktop/UPower/devices'",
        };
        static const struct option options[] = {
                { "addresses", required_argument, NULL, 'a' },
                { "changes", required_argument, NULL, 'n' },
                { "hpmond", no_argument, NULL, 'H' },
                { "upowerd", no_argument, NULL, 'U' },
                { "out", required_argument, NULL, 'o' },
                { "fsync", required_argument, NULL, 'f' },
                { "burst", required_argument, NULL, 'b' },
                { "interval-ms", required_argument, NULL, 'i' },
                { "timeout-ms", required_argument, NULL, 't' },
                { "seed", required_argument, NULL, 's' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        struct latency l = { .await[LATENCY_BLUEZ] = true };
        const char *addresses = NULL, *out_path = NULL, *fsync_path = NULL;
        unsigned long changes = 0, seed = 1;
        double burst = 10;
        uint64_t interval = 1100000, timeout = 3000000;
        unsigned missed[_LATENCY_SOURCE_MAX] = {};
        FILE *out = NULL;
        int opt, r, fsync_fd = -1;

        while ((opt = getopt_long(argc, argv, "a:n:HUo:f:b:i:t:s:h", options, NULL)) >= 0)
                switch (opt) {
                case 'a':
                        addresses = optarg;
                        break;
                case 'n':
                        changes = strtoul(optarg, NULL, 0);
                        break;
                case 'H':
                        l.await[LATENCY_HPMOND] = true;
                        break;
                case 'U':
                        l.await[LATENCY_UPOWERD] = true;
                        break;
                case 'o':
                        out_path = optarg;
                        break;
                case 'f':
                        fsync_path = optarg;
                        break;
                case 'b':
                        burst = strtod(optarg, NULL);
                        break;
                case 'i':
                        interval = strtoull(optarg, NULL, 0) * 1000;
                        break;
                case 't':
                        timeout = strtoull(optarg, NULL, 0) * 1000;
                        break;
                case 's':
                        seed = strtoul(optarg, NULL, 0);
                        break;
                case 'h':
                        latency_usage(stdout);
                        return EXIT_SUCCESS;
                default:
                        latency_usage(stderr);
                        return 2;
                }
        if (!addresses || changes == 0 || optind != argc) {
                latency_usage(stderr);
                return 2;
        }
        r = latency_load(&l, addresses);
        if (r < 0) {
                fprintf(stderr, "latency: %s: %s\n", addresses, strerror(-r));
                return EXIT_FAILURE;
        }
        if (out_path) {
                out = fopen(out_path, "we");
                if (!out) {
                        fprintf(stderr, "latency: %s: %s\n", out_path, strerror(errno));
                        return EXIT_FAILURE;
                }
        }

        if (fsync_path) {
                fsync_fd = open(fsync_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
                if (fsync_fd < 0) {
                        fprintf(stderr, "latency: %s: %s\n", fsync_path, strerror(errno));
                        return EXIT_FAILURE;
                }
        }

        r = sd_bus_open_system(&l.bus);
        if (r < 0) {
                fprintf(stderr, "latency: cannot connect to the system bus: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        /* synchronous AddMatch: every rule is in place at the bus before the first change */
        for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
                r = sd_bus_add_match(l.bus, NULL, rules[i], latency_signal_cb, &l);
                if (r < 0) {
                        fprintf(stderr, "latency: cannot add a match: %s\n", strerror(-r));
                        return EXIT_FAILURE;
                }
        }

        /* start from each device's real level, so that no change sets the value it already has */
        for (size_t i = 0; i < l.n_devices; i++) {
                struct latency_device *d = &l.devices[i];
                sd_bus_error error = SD_BUS_ERROR_NULL;
                char path[64];
                uint8_t v;

                snprintf(path, sizeof(path), "/org/bluez/hci0/%s", d->tail);
                r = sd_bus_get_property_trivial(l.bus, "org.bluez", path, "org.bluez.Battery1", "Percentage", &error,
                                                'y', &v);
                if (r < 0) {
                        fprintf(stderr, "latency: cannot read Percentage of %s: %s\n", path,
                                error.message ?: strerror(-r));
                        return EXIT_FAILURE;
                }
                d->value = v;
                d->tokens = burst;
                d->refilled = latency_now();
        }

        for (unsigned long k = 0; k < changes; k++) {
                struct latency_device *d = &l.devices[k % l.n_devices];
                char path[64];
                uint64_t sent, deadline, floor = 0;

                /* the next value: a step of 1 to 9 away, within 30..99 (never the same value) */
                d->value = 30 + ((d->value < 30 ? 0 : d->value - 30) + 1 + (int) ((k * 2654435761u + seed) % 9)) % 70;
                snprintf(path, sizeof(path), "/org/bluez/hci0/%s", d->tail);
                latency_pace(d, burst, interval);
                if (fsync_fd >= 0)
                        floor = latency_fsync(fsync_fd);

                l.current = d;
                l.expect = d->value;
                l.reply = 0;
                l.reply_error = 0;
                memset(l.got, 0, sizeof(l.got));
                sent = latency_now();
                r = sd_bus_call_method_async(l.bus, NULL, "org.bluez", path, "org.freedesktop.DBus.Properties", "Set",
                                             latency_reply_cb, &l, "ssv", "org.bluez.Battery1", "Percentage", "y",
                                             (uint8_t) d->value);
                if (r < 0) {
                        fprintf(stderr, "latency: cannot call Set: %s\n", strerror(-r));
                        return EXIT_FAILURE;
                }
                deadline = sent + timeout;
                while (!latency_done(&l)) {
                        uint64_t now = latency_now();

                        r = sd_bus_process(l.bus, NULL);
                        if (r < 0) {
                                fprintf(stderr, "latency: bus: %s\n", strerror(-r));
                                return EXIT_FAILURE;
                        }
                        if (r > 0)
                                continue;
                        if (now >= deadline)
                                break;
                        r = sd_bus_wait(l.bus, deadline - now);
                        if (r < 0 && r != -EINTR) {
                                fprintf(stderr, "latency: bus: %s\n", strerror(-r));
                                return EXIT_FAILURE;
                        }
                }
                if (l.reply_error) {
                        fprintf(stderr, "latency: Set on %s failed: %s\n", path, strerror(l.reply_error));
                        return EXIT_FAILURE;
                }
                for (int s = 0; s < _LATENCY_SOURCE_MAX; s++)
                        if (l.await[s] && !l.got[s])
                                missed[s]++;
                if (out)
                        fprintf(out, "%lu %s %d %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                                k, d->address, d->value, sent, l.reply, l.got[LATENCY_BLUEZ], l.got[LATENCY_HPMOND],
                                l.got[LATENCY_UPOWERD], floor);
        }
        l.current = NULL;

        if (out && fclose(out) != 0) {
                fprintf(stderr, "latency: %s: cannot write\n", out_path);
                return EXIT_FAILURE;
        }
        printf("changes=%lu devices=%zu missed_bluez=%u missed_hpmond=%u missed_upowerd=%u\n", changes, l.n_devices,
               missed[LATENCY_BLUEZ], missed[LATENCY_HPMOND], missed[LATENCY_UPOWERD]);
        if (fsync_fd >= 0) {
                close(fsync_fd);
                (void) unlink(fsync_path);
        }
        sd_bus_flush_close_unref(l.bus);
        free(l.devices);
        return EXIT_SUCCESS;
}
