/* hpmond — main: options, the state directory, the loop, readiness and a clean exit. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "bluez.h"
#include "busloop.h"
#include "context.h"
#include "config.h"
#include "log.h"
#include "polkit.h"
#include "registry.h"
#include "service.h"
#include "sleep.h"
#include "writer.h"

#define MAIN_DEFAULT_STATE_DIR LOCALSTATEDIR "/lib/hpmon"

/* The wall clock in Unix milliseconds: the time stamp of every logged event. */
int context_now_ms(int64_t *ret) {
        struct timespec ts;

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return -errno;
        *ret = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        return 0;
}

/* The monotonic clock in milliseconds: for rates and timers, never for the log. */
int64_t context_mono_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Tells systemd we are ready once the name is ours and BlueZ's state is known: from then
 * on, what the API shows is the truth, so a client started after us never sees a stale level. */
void context_check_ready(struct context *c) {
        if (c->ready || !c->name_acquired || !c->bluez_synced)
                return;
        c->ready = true;
        context_trim_soon(c);
        (void) sd_notifyf(0, "READY=1\nSTATUS=Following %zu device(s).", c->n_devices);
        log_info("hpmond " PACKAGE_VERSION " ready: %zu device(s), logs in %s/devices.", c->n_devices, c->state_dir);
}

/* The loop's turn after a burst: hands the freed heap back (see context_trim_soon). */
static void main_trim_cb(evutil_socket_t fd, short what, void *userdata) {
        struct context *c = userdata;

        c->trim_pending = false;
        (void) malloc_trim(0);
}

/* After a burst of short-lived allocations — the start-up replay, BlueZ's whole object list
 * (tens of KiB with many headsets) — glibc keeps the freed pages dirty inside the heap, where
 * the long-lived per-device state sits above them, so they never shrink back by themselves.
 * malloc_trim(0) gives back every whole free page. It runs on the loop's next turn, once the
 * bus message being handled has been freed too, and never while the daemon is idle. */
void context_trim_soon(struct context *c) {
        if (c->trim_pending)
                return;
        if (event_base_once(c->base, -1, EV_TIMEOUT, main_trim_cb, c, &(struct timeval) {}) == 0)
                c->trim_pending = true;
}

/* SIGTERM/SIGINT: leave the loop; everything logged is already on disk. */
static void main_signal_cb(evutil_socket_t sig, short what, void *userdata) {
        struct context *c = userdata;

        log_info("Received %s, exiting.", strsignal((int) sig));
        event_base_loopexit(c->base, NULL);
}

/* Opens (creating if need be) STATE_DIRECTORY/devices. */
static int main_open_state(struct context *c) {
        int fd, r;

        if (mkdir(c->state_dir, 0700) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Cannot create %s: %m", c->state_dir);
        fd = open(c->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "Cannot open %s: %m", c->state_dir);
        if (mkdirat(fd, "devices", 0700) < 0 && errno != EEXIST) {
                r = log_error_errno(errno, "Cannot create %s/devices: %m", c->state_dir);
                close(fd);
                return r;
        }
        c->devices_fd = openat(fd, "devices", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        r = c->devices_fd < 0 ? log_error_errno(errno, "Cannot open %s/devices: %m", c->state_dir) : 0;
        close(fd);
        return r;
}

/* Reads the thresholds: a missing file means the defaults, a wrong one stops the start,
 * with file and line, rather than running with thresholds the owner did not mean. */
static int main_load_config(struct context *c) {
        struct config_error err = {};
        int r;

        if (!c->config_path)
                c->config_path = CONFIG_FILE;
        r = config_load_file(c->config_path, &c->config, &err);
        if (r < 0) {
                log_error("%s", err.message[0] ? err.message : "Cannot read the configuration");
                return r;
        }
        log_debug("Configuration from %s.", c->config_path);
        return 0;
}

/* A daemon keeps one log open per device: let it have as many descriptors as it may. */
static void main_raise_nofile(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

/* Prints --help. */
static void main_help(void) {
        printf("Usage: hpmond [OPTIONS]\n\n"
               "Follows Bluetooth headsets' battery levels through BlueZ, keeps a charge log per\n"
               "device and publishes them on the system bus as " HPMON_BUS_NAME ".\n\n"
               "  -s, --state-dir DIR     where logs live (default: $STATE_DIRECTORY or " MAIN_DEFAULT_STATE_DIR ")\n"
               "  -c, --config FILE       thresholds and detectors (default: " CONFIG_FILE ")\n"
               "  -l, --log-target WHERE  auto, journal or stderr (default: auto)\n"
               "  -v, --verbose           log debug messages too\n"
               "  -h, --help              show this help\n"
               "      --version           show the version\n\n"
               "See hpmond(8).\n");
}

/* Parses the command line into the context; returns 1 to go on, 0 to exit successfully, <0 on error. */
static int main_parse_args(int argc, char *argv[], struct context *c, enum log_target *target, int *level) {
        enum { ARG_VERSION = 0x100 };
        static const struct option options[] = {
                { "state-dir", required_argument, NULL, 's' },
                { "config", required_argument, NULL, 'c' },
                { "log-target", required_argument, NULL, 'l' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        int opt, t;

        c->state_dir = getenv("STATE_DIRECTORY");
        /* systemd may pass several, separated by ':'; ours is the first */
        if (c->state_dir && strchr(c->state_dir, ':'))
                c->state_dir = strndup(c->state_dir, strcspn(c->state_dir, ":"));
        if (!c->state_dir || !*c->state_dir)
                c->state_dir = MAIN_DEFAULT_STATE_DIR;

        while ((opt = getopt_long(argc, argv, "s:c:l:vh", options, NULL)) >= 0)
                switch (opt) {
                case 's':
                        c->state_dir = optarg;
                        break;
                case 'c':
                        c->config_path = optarg;
                        break;
                case 'l':
                        t = log_target_from_string(optarg);
                        if (t < 0) {
                                fprintf(stderr, "hpmond: unknown log target '%s' (auto, journal or stderr)\n", optarg);
                                return -EINVAL;
                        }
                        *target = (enum log_target) t;
                        break;
                case 'v':
                        *level = LOG_DEBUG;
                        break;
                case 'h':
                        main_help();
                        return 0;
                case ARG_VERSION:
                        printf("hpmond " PACKAGE_VERSION "\n");
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "hpmond: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

/* Frees everything the context holds. */
static void context_clear(struct context *c) {
        c->sleep = sleep_free(c->sleep);
        c->bluez = bluez_free(c->bluez);
        polkit_free_all(c);
        writer_free(c);
        c->busloop = busloop_free(c->busloop);
        registry_free(c);
        if (c->bus)
                c->bus = sd_bus_flush_close_unref(c->bus);
        if (c->devices_fd >= 0)
                close(c->devices_fd);
        if (c->base)
                event_base_free(c->base);
}

int main(int argc, char *argv[]) {
        struct context c = { .devices_fd = -1, .exit_code = EXIT_SUCCESS };
        enum log_target target = LOG_TARGET_AUTO;
        struct event *sigterm = NULL, *sigint = NULL;
        int level = LOG_INFO, r;

        /* A client's GetManagedObjects (hpctl status) and BlueZ's object list build messages of
         * about 1 KiB a device: from 32 KiB on they get pages of their own, unmapped when freed,
         * instead of leaving the heap dirty below the devices' long-lived state (issue 7). */
        (void) mallopt(M_MMAP_THRESHOLD, 32 * 1024);

        r = main_parse_args(argc, argv, &c, &target, &level);
        if (r <= 0)
                return r < 0 ? 2 : EXIT_SUCCESS;
        log_setup(target, level);
        main_raise_nofile();
        /* a dead client must not kill us through a broken pipe */
        signal(SIGPIPE, SIG_IGN);
        /* a file size limit must fail a write with EFBIG (the writer queues it), not kill us */
        signal(SIGXFSZ, SIG_IGN);

        c.base = event_base_new();
        if (!c.base) {
                log_error("Cannot create the event loop.");
                goto fail;
        }
        r = main_load_config(&c);
        if (r < 0)
                goto fail;
        if (main_open_state(&c) < 0 || writer_setup(&c) < 0 || registry_setup(&c) < 0)
                goto fail;
        r = registry_load(&c);
        if (r < 0) {
                log_error_errno(r, "Cannot restore devices: %m");
                goto fail;
        }

        r = sd_bus_open_system_with_description(&c.bus, "hpmond");
        if (r < 0) {
                log_error_errno(r, "Cannot connect to the system bus: %m");
                goto fail;
        }
        if (service_start(&c) < 0 || bluez_new(&c, &c.bluez) < 0 || sleep_new(&c, &c.sleep) < 0)
                goto fail;
        r = busloop_new(c.bus, c.base, &c.busloop);
        if (r < 0) {
                log_error_errno(r, "Cannot attach the bus to the loop: %m");
                goto fail;
        }

        sigterm = evsignal_new(c.base, SIGTERM, main_signal_cb, &c);
        sigint = evsignal_new(c.base, SIGINT, main_signal_cb, &c);
        if (!sigterm || !sigint || evsignal_add(sigterm, NULL) < 0 || evsignal_add(sigint, NULL) < 0) {
                log_error("Cannot handle signals.");
                goto fail;
        }

        event_base_dispatch(c.base);
        (void) sd_notify(0, "STOPPING=1");
        if (busloop_error(c.busloop) < 0)
                c.exit_code = EXIT_FAILURE;
        goto out;
fail:
        c.exit_code = EXIT_FAILURE;
out:
        if (sigterm)
                event_free(sigterm);
        if (sigint)
                event_free(sigint);
        context_clear(&c);
        return c.exit_code;
}
