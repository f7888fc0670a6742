/* hpsim — writes simulated charge logs and their labels into a directory (see sim.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* Prints how to call it. */
static void hpsim_usage(FILE *f) {
        fputs("usage: hpsim --out DIR [--seed N] [--healthy N] [--per-kind N] [--days N]\n             [--late-disconnect P] [--rebound POINTS]\n", f);
}

/* Parses options and runs the simulator. */
int main(int argc, char **argv) {
        static const struct option options[] = {
                { "out", required_argument, NULL, 'o' },
                { "seed", required_argument, NULL, 's' },
                { "healthy", required_argument, NULL, 'H' },
                { "per-kind", required_argument, NULL, 'k' },
                { "days", required_argument, NULL, 'd' },
                { "late-disconnect", required_argument, NULL, 'L' },
                { "rebound", required_argument, NULL, 'R' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        struct sim_options o;
        unsigned n;
        int c, r;

        sim_options_init(&o);
        o.dir = NULL;
        while ((c = getopt_long(argc, argv, "o:s:H:k:d:L:R:h", options, NULL)) >= 0)
                switch (c) {
                case 'o':
                        o.dir = optarg;
                        break;
                case 's':
                        o.seed = strtoull(optarg, NULL, 0);
                        break;
                case 'H':
                        o.healthy = (unsigned) strtoul(optarg, NULL, 0);
                        break;
                case 'k':
                        o.per_kind = (unsigned) strtoul(optarg, NULL, 0);
                        break;
                case 'L':
                        o.late_disconnect = strtod(optarg, NULL);
                        break;
                case 'R':
                        o.rebound = strtod(optarg, NULL);
                        break;
                case 'd':
                        o.healthy_days = (unsigned) strtoul(optarg, NULL, 0);
                        break;
                case 'h':
                        hpsim_usage(stdout);
                        return 0;
                default:
                        hpsim_usage(stderr);
                        return 2;
                }
        if (!o.dir || optind != argc) {
                hpsim_usage(stderr);
                return 2;
        }
        r = sim_run(&o, &n);
        if (r < 0) {
                fprintf(stderr, "hpsim: cannot write into %s: %s\n", o.dir, strerror(-r));
                return 1;
        }
        printf("hpsim: %u devices, seed %llu, in %s\n", n, (unsigned long long) o.seed, o.dir);
        return 0;
}
