/* genlog — writes a charge log v1 (DESIGN.md) that looks like a headset used every day, for
 * the replay and start-up benchmarks. Deterministic: the same seed writes the same file.
 *
 *   genlog [--seed N] [--address A] [--start UNIX] (--days N | --bytes N) FILE
 *
 * Each day has one to three sessions of use: connected,1, a level report, then one step
 * down every 4 to 9 minutes (now and then a one-step flicker back), connected,0. A session
 * that ends low is followed by a charge: connected,1 and a rise of one step every 1 to 2
 * minutes up to 80 %, slower above, to 100 %, then connected,0. Steps are 1 % (the most
 * lines a headset writes: the worst case for replay). About 60 events a day. Only the
 * battery value changes a line, as hpmond writes it. Lines use the daemon's own formatter,
 * chargelog_format_event(), so the file is exactly what hpmond would have appended. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chargelog.h"

struct genlog {
        FILE *f;
        uint64_t rng;
        int64_t t;              /* Unix ms of the next event */
        int level;
        uint64_t bytes, events;
};

/* xorshift64*: small, fast and the same everywhere. */
static uint64_t genlog_rand(struct genlog *g) {
        g->rng ^= g->rng >> 12;
        g->rng ^= g->rng << 25;
        g->rng ^= g->rng >> 27;
        return g->rng * UINT64_C(2685821657736338717);
}

/* A uniform integer in [lo, hi]. */
static int64_t genlog_between(struct genlog *g, int64_t lo, int64_t hi) {
        return lo + (int64_t) (genlog_rand(g) % (uint64_t) (hi - lo + 1));
}

/* Appends one event line at the current time. */
static int genlog_emit(struct genlog *g, enum event_kind kind, int value) {
        struct hpevent e = { .time_ms = g->t, .kind = kind, .value = value };
        char buf[96];
        size_t n;

        n = chargelog_format_event(buf, sizeof(buf), &e);
        if (n == 0 || fwrite(buf, 1, n, g->f) != n)
                return -EIO;
        g->bytes += n;
        g->events++;
        return 0;
}

/* One session of use, starting now: the level falls a step at a time. */
static int genlog_session(struct genlog *g, int64_t minutes) {
        int64_t end = g->t + minutes * 60000;
        int r;

        if ((r = genlog_emit(g, EVENT_CONNECTED, 1)) < 0 || (r = genlog_emit(g, EVENT_BATTERY, g->level)) < 0)
                return r;
        while (g->level > 3) {
                g->t += genlog_between(g, 4 * 60000, 9 * 60000);
                if (g->t >= end)
                        break;
                g->level--;
                if ((r = genlog_emit(g, EVENT_BATTERY, g->level)) < 0)
                        return r;
                if (genlog_rand(g) % 16 == 0) {
                        /* sensor noise across a step boundary: up and back down */
                        g->t += genlog_between(g, 20000, 90000);
                        if ((r = genlog_emit(g, EVENT_BATTERY, g->level + 1)) < 0)
                                return r;
                        g->t += genlog_between(g, 20000, 90000);
                        if ((r = genlog_emit(g, EVENT_BATTERY, g->level)) < 0)
                                return r;
                }
        }
        g->t = end > g->t ? end : g->t + 1000;
        return genlog_emit(g, EVENT_CONNECTED, 0);
}

/* A charge from the current level to 100 %, reported while connected. */
static int genlog_charge(struct genlog *g) {
        int r;

        g->t += genlog_between(g, 60000, 30 * 60000);
        if ((r = genlog_emit(g, EVENT_CONNECTED, 1)) < 0 || (r = genlog_emit(g, EVENT_BATTERY, g->level)) < 0)
                return r;
        while (g->level < 100) {
                g->t += g->level < 80 ? genlog_between(g, 60000, 120000) : genlog_between(g, 150000, 400000);
                g->level++;
                if ((r = genlog_emit(g, EVENT_BATTERY, g->level)) < 0)
                        return r;
        }
        g->t += genlog_between(g, 60000, 3600000);
        return genlog_emit(g, EVENT_CONNECTED, 0);
}

/* One day from midnight `day`: sessions at random times, a charge after a low one. */
static int genlog_day(struct genlog *g, int64_t day) {
        int64_t wake = day + genlog_between(g, 7 * 3600000, 9 * 3600000);
        int sessions = (int) genlog_between(g, 1, 3), r;

        /* a long yesterday may run past this morning: time never goes back */
        g->t = wake > g->t ? wake : g->t + 3600000;
        for (int s = 0; s < sessions; s++) {
                r = genlog_session(g, genlog_between(g, 30, 150));
                if (r < 0)
                        return r;
                if (g->level < 30 && (r = genlog_charge(g)) < 0)
                        return r;
                g->t += genlog_between(g, 30 * 60000, 4 * 3600000);
        }
        return 0;
}

/* Prints the usage line. */
static void genlog_usage(FILE *f) {
        fputs("usage: genlog [--seed N] [--address AA:BB:CC:DD:EE:FF] [--start UNIX] (--days N | --bytes N) FILE\n", f);
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "seed", required_argument, NULL, 's' },
                { "address", required_argument, NULL, 'a' },
                { "start", required_argument, NULL, 'S' },
                { "days", required_argument, NULL, 'd' },
                { "bytes", required_argument, NULL, 'b' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        struct genlog g = { .rng = 1, .level = 100 };
        const char *address = "70:B3:D5:00:00:01";
        int64_t start = INT64_C(1735689600), days = 0;   /* 2025-01-01 */
        uint64_t bytes = 0;
        int opt, r = 0;

        while ((opt = getopt_long(argc, argv, "s:a:S:d:b:h", options, NULL)) >= 0)
                switch (opt) {
                case 's':
                        g.rng = strtoull(optarg, NULL, 0) * 2 + 1;
                        break;
                case 'a':
                        address = optarg;
                        break;
                case 'S':
                        start = strtoll(optarg, NULL, 0);
                        break;
                case 'd':
                        days = strtoll(optarg, NULL, 0);
                        break;
                case 'b':
                        bytes = strtoull(optarg, NULL, 0);
                        break;
                case 'h':
                        genlog_usage(stdout);
                        return EXIT_SUCCESS;
                default:
                        genlog_usage(stderr);
                        return 2;
                }
        if (optind + 1 != argc || (days <= 0 && bytes == 0)) {
                genlog_usage(stderr);
                return 2;
        }

        g.f = fopen(argv[optind], "we");
        if (!g.f) {
                fprintf(stderr, "genlog: %s: %s\n", argv[optind], strerror(errno));
                return EXIT_FAILURE;
        }
        fprintf(g.f, CHARGELOG_MAGIC "\n# address=%s\n# name=bench headset\n" CHARGELOG_HEADER "\n", address);
        for (int64_t d = 0; r >= 0 && (days > 0 ? d < days : g.bytes < bytes); d++)
                r = genlog_day(&g, (start + d * 86400) * 1000);
        if (fclose(g.f) != 0 || r < 0) {
                fprintf(stderr, "genlog: %s: cannot write\n", argv[optind]);
                return EXIT_FAILURE;
        }
        printf("%" PRIu64 " events, %" PRIu64 " bytes\n", g.events, g.bytes);
        return EXIT_SUCCESS;
}
