/* replay — reads charge logs the way hpmond and `hpctl analyze` read them, and says how fast.
 *
 *   replay [--analyze [--print]] [--quiet] LOG...
 *
 * Each file goes through chargelog_read_file() (lib/chargelog.c: chunked read(), the line
 * parser, the event callback). With --analyze every event is also fed to a fresh analyzer
 * per file (analyzer_new() with the default configuration: all ten detectors), and the
 * analyzer is advanced to the last event's time at the end, as `hpctl analyze` does;
 * --print writes every finding, one a line with all its evidence to the last digit, so two
 * builds of the analyzer can be diffed.
 * It prints one line of key=value figures; the time is measured inside, from the first
 * open() to the last close(), so process start-up is not in it (bench/run also times the
 * whole process, as it does awk and wc). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "analyzer.h"
#include "chargelog.h"

struct replay {
        struct analyzer *analyzer;      /* NULL unless --analyze */
        bool print;
        int64_t last_ms;
        uint64_t events, findings, problems, checksum;
};

/* Every event: counted, folded into a checksum (so nothing is optimised away), analyzed. */
static int replay_event_cb(void *userdata, const struct hpevent *e) {
        struct replay *rp = userdata;

        rp->events++;
        rp->checksum += (uint64_t) e->value;
        rp->last_ms = e->time_ms;
        if (rp->analyzer)
                return analyzer_feed(rp->analyzer, e);
        return 0;
}

/* Skipped lines are counted, as a caller would log them. */
static void replay_problem_cb(void *userdata, unsigned line, enum chargelog_problem p, const char *text) {
        struct replay *rp = userdata;

        rp->problems++;
}

/* Findings are counted, and printed with --print. */
static void replay_finding_cb(const struct finding *f, void *userdata) {
        struct replay *rp = userdata;

        rp->findings++;
        if (!rp->print)
                return;
        printf("%" PRId64 " %s %s %s", f->time_ms, finding_kind_to_string(f->kind),
               finding_state_to_string(f->state), finding_severity_to_string(f->severity));
        /* every digit of the evidence, so a diff sees any change in the arithmetic */
        for (unsigned i = 0; i < f->n_evidence; i++)
                printf(" %s=%.17g", f->evidence[i].name, f->evidence[i].value);
        putchar('\n');
}

static const struct chargelog_handler replay_handler = {
        .event = replay_event_cb,
        .problem = replay_problem_cb,
};

/* CLOCK_MONOTONIC in seconds. */
static double replay_now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "analyze", no_argument, NULL, 'a' },
                { "print", no_argument, NULL, 'p' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        struct analyzer_config config;
        struct replay rp = {};
        bool analyze = false, quiet = false;
        uint64_t bytes = 0, lines = 0;
        double t0, t;
        int opt, r;

        while ((opt = getopt_long(argc, argv, "apqh", options, NULL)) >= 0)
                switch (opt) {
                case 'a':
                        analyze = true;
                        break;
                case 'p':
                        rp.print = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        printf("usage: replay [--analyze [--print]] [--quiet] LOG...\n");
                        return EXIT_SUCCESS;
                default:
                        return 2;
                }
        if (optind >= argc) {
                fprintf(stderr, "usage: replay [--analyze [--print]] [--quiet] LOG...\n");
                return 2;
        }
        analyzer_config_init(&config);

        t0 = replay_now();
        for (int i = optind; i < argc; i++) {
                struct chargelog_stats stats;
                struct stat st;

                if (analyze) {
                        r = analyzer_new(&config, NULL, replay_finding_cb, &rp, &rp.analyzer);
                        if (r < 0) {
                                fprintf(stderr, "replay: cannot create an analyzer: %s\n", strerror(-r));
                                return EXIT_FAILURE;
                        }
                }
                r = chargelog_read_file(argv[i], &replay_handler, &rp, &stats);
                if (r < 0) {
                        fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(-r));
                        return EXIT_FAILURE;
                }
                if (rp.analyzer) {
                        analyzer_advance(rp.analyzer, rp.last_ms);
                        rp.analyzer = analyzer_free(rp.analyzer);
                }
                lines += stats.lines;
                if (stat(argv[i], &st) == 0)
                        bytes += (uint64_t) st.st_size;
        }
        t = replay_now() - t0;

        if (!quiet)
                printf("files=%d lines=%" PRIu64 " events=%" PRIu64 " skipped=%" PRIu64 " findings=%" PRIu64
                       " bytes=%" PRIu64 " seconds=%.6f events_per_s=%.0f checksum=%" PRIu64 "\n",
                       argc - optind, lines, rp.events, rp.problems, rp.findings, bytes, t,
                       t > 0 ? (double) rp.events / t : 0.0, rp.checksum);
        return EXIT_SUCCESS;
}
