/* analyzer-accuracy — runs the scenario simulator and the analyzer, and prints how well the
 * analyzer finds what was injected. A benchmark: it prints figures, it never fails a build.
 *
 *   recall      a label (kind, onset, deadline) is found when a RAISED finding of its kind
 *               has a time in [onset − 1 min, deadline]
 *   time to detect  that finding's time − onset; medians per kind and for charging faults
 *   false alarms    RAISED findings on healthy time (healthy devices, and faulty devices
 *               before their failure began), per device-month (30.44 days). low-battery is
 *               a state report, not a fault: it is scored by recall only
 *   causality   every log is replayed twice more: once as a daemon would (advance() at every
 *               deadline and at random moments between events) and must give identical
 *               findings; and cut at random events and just before every finding, each cut
 *               fed to a fresh analyzer and advanced to the cut, whose findings must be
 *               exactly the full run's up to that time
 *
 * Logs are read back with chargelog_read_file(), as `hpctl analyze` and hpmond read them. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "chargelog.h"
#include "config.h"
#include "finding.h"
#include "../tests/sim/sim.h"

#define ACC_MONTH_MS (30.44 * 86400e3)

struct acc_device {
        char file[64];
        char profile[16];
        char fault[32];
        int step;
        char mode[16];
        int64_t start, end, fault_start;
};

struct acc_label {
        char file[64];
        enum finding_kind kind;
        int64_t onset, deadline;
        bool hit;
        double ttd_min;
};

struct acc_events {
        struct hpevent *v;
        size_t n, cap;
};

/* A finding as recorded, with the event index it was emitted at. */
struct acc_finding {
        struct finding f;
        size_t pos;
};

struct acc_findings {
        struct acc_finding *v;
        size_t n, cap;
        size_t pos;             /* set by the caller before each feed */
};

/* Appends one event read from a log. */
static int acc_event_cb(void *userdata, const struct hpevent *e) {
        struct acc_events *ev = userdata;

        if (ev->n == ev->cap) {
                size_t cap = ev->cap ? 2 * ev->cap : 4096;
                struct hpevent *v = realloc(ev->v, cap * sizeof(*v));

                if (!v)
                        return -ENOMEM;
                ev->v = v;
                ev->cap = cap;
        }
        ev->v[ev->n++] = *e;
        return 0;
}

/* Collects a finding. */
static void acc_finding_cb(const struct finding *f, void *userdata) {
        struct acc_findings *fs = userdata;

        if (fs->n == fs->cap) {
                size_t cap = fs->cap ? 2 * fs->cap : 64;
                struct acc_finding *v = realloc(fs->v, cap * sizeof(*v));

                if (!v)
                        abort();
                fs->v = v;
                fs->cap = cap;
        }
        fs->v[fs->n++] = (struct acc_finding) { .f = *f, .pos = fs->pos };
}

/* Whether two findings are the same, evidence included. */
static bool acc_same(const struct finding *a, const struct finding *b) {
        if (a->kind != b->kind || a->state != b->state || a->severity != b->severity || a->time_ms != b->time_ms ||
            a->n_evidence != b->n_evidence)
                return false;
        for (unsigned i = 0; i < a->n_evidence; i++)
                if (strcmp(a->evidence[i].name, b->evidence[i].name) != 0 ||
                    !(a->evidence[i].value == b->evidence[i].value ||
                      (isnan(a->evidence[i].value) && isnan(b->evidence[i].value))))
                        return false;
        return true;
}

/* Feeds events [0, n) and advances to `until`; the analyzer's whole answer. */
static void acc_run(const struct analyzer_config *cfg, const struct acc_events *ev, size_t n, int64_t until,
                    struct acc_findings *out) {
        struct analyzer *a;

        out->n = 0;
        if (analyzer_new(cfg, NULL, acc_finding_cb, out, &a) < 0)
                abort();
        for (size_t i = 0; i < n; i++) {
                out->pos = i;
                (void) analyzer_feed(a, &ev->v[i]);
        }
        out->pos = n;
        analyzer_advance(a, until);
        analyzer_free(a);
}

/* The same log fed as a daemon lives it: advance() at each deadline and at random moments. */
static void acc_run_daemon(const struct analyzer_config *cfg, const struct acc_events *ev, int64_t until, uint64_t *rng,
                           struct acc_findings *out) {
        struct analyzer *a;

        out->n = 0;
        if (analyzer_new(cfg, NULL, acc_finding_cb, out, &a) < 0)
                abort();
        for (size_t i = 0; i <= ev->n; i++) {
                int64_t next = i < ev->n ? ev->v[i].time_ms : until;

                out->pos = i;
                for (int guard = 0; guard < 1000; guard++) {
                        int64_t d = analyzer_next_deadline(a);

                        if (d > next)
                                break;
                        analyzer_advance(a, d);
                }
                *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
                if (i > 0 && (*rng >> 60) == 0 && next > ev->v[i - 1].time_ms)
                        analyzer_advance(a, ev->v[i - 1].time_ms + (int64_t) ((*rng >> 20) % (uint64_t) (next - ev->v[i - 1].time_ms)));
                if (i < ev->n)
                        (void) analyzer_feed(a, &ev->v[i]);
        }
        out->pos = ev->n;
        analyzer_advance(a, until);
        analyzer_free(a);
}

/* Checks one cut after event k against the full run; returns the number of violations. */
static unsigned acc_check_cut(const struct analyzer_config *cfg, const struct acc_events *ev, size_t k,
                              const struct acc_findings *full, struct acc_findings *scratch, bool verbose, const char *file) {
        size_t before = 0;
        unsigned bad = 0;

        acc_run(cfg, ev, k + 1, ev->v[k].time_ms, scratch);
        for (size_t i = 0; i < full->n; i++)
                if (full->v[i].pos <= k)
                        before++;
        if (scratch->n > full->n || scratch->n < before)
                bad++;
        for (size_t i = 0; !bad && i < scratch->n; i++)
                if (!acc_same(&scratch->v[i].f, &full->v[i].f))
                        bad++;
        /* what the full run emitted after the cut must not be older than the cut */
        for (size_t i = scratch->n; !bad && i < full->n; i++)
                if (full->v[i].pos == k + 1 && full->v[i].f.time_ms < ev->v[k].time_ms && ev->v[k + 1].time_ms >= ev->v[k].time_ms)
                        bad++;
        if (bad && verbose)
                fprintf(stderr, "causality: %s cut after event %zu: %zu findings, full run has %zu before\n", file, k,
                        scratch->n, before);
        return bad;
}

/* Reads devices.tsv. */
static int acc_read_devices(const char *dir, struct acc_device **ret, size_t *ret_n) {
        char path[4096], line[512];
        struct acc_device *v = NULL;
        size_t n = 0;
        FILE *f;

        snprintf(path, sizeof(path), "%s/devices.tsv", dir);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                struct acc_device d = {};
                long long s, e, fs;
                char addr[32];

                if (sscanf(line, "%63s %31s %15s %31s %d %15s %lld %lld %lld", d.file, addr, d.profile, d.fault, &d.step,
                           d.mode, &s, &e, &fs) != 9)
                        continue;
                d.start = s;
                d.end = e;
                d.fault_start = fs;
                v = realloc(v, (n + 1) * sizeof(*v));
                if (!v)
                        abort();
                v[n++] = d;
        }
        fclose(f);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Reads labels.tsv. */
static int acc_read_labels(const char *dir, struct acc_label **ret, size_t *ret_n) {
        char path[4096], line[512], kind[64];
        struct acc_label *v = NULL;
        size_t n = 0;
        FILE *f;

        snprintf(path, sizeof(path), "%s/labels.tsv", dir);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                struct acc_label l = {};
                long long o, dl;

                if (sscanf(line, "%63s %63s %lld %lld", l.file, kind, &o, &dl) != 4)
                        continue;
                l.kind = finding_kind_from_string(kind);
                if (l.kind < 0)
                        continue;
                l.onset = o;
                l.deadline = dl;
                v = realloc(v, (n + 1) * sizeof(*v));
                if (!v)
                        abort();
                v[n++] = l;
        }
        fclose(f);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Sorts doubles for medians. */
static int acc_cmp_double(const void *x, const void *y) {
        double a = *(const double *) x, b = *(const double *) y;

        return (a > b) - (a < b);
}

/* The median of n doubles (sorts them), NAN for none. */
static double acc_median(double *v, size_t n) {
        if (n == 0)
                return NAN;
        qsort(v, n, sizeof(*v), acc_cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Prints how to call it. */
static void acc_usage(FILE *f) {
        fputs("usage: analyzer-accuracy [--seed N] [--dir DIR] [--healthy N] [--per-kind N] [--days N]\n                         [--late-disconnect P (default 0)]\n"
              "                         [--rebound POINTS (default 0)]\n"
              "                         [--cuts N] [--config FILE] [--verbose]\n",
              f);
}

/* Simulates, analyzes, scores and prints. */
int main(int argc, char **argv) {
        static const struct option options[] = {
                { "seed", required_argument, NULL, 's' },
                { "dir", required_argument, NULL, 'D' },
                { "healthy", required_argument, NULL, 'H' },
                { "per-kind", required_argument, NULL, 'k' },
                { "days", required_argument, NULL, 'd' },
                { "late-disconnect", required_argument, NULL, 'L' },
                { "rebound", required_argument, NULL, 'R' },
                { "cuts", required_argument, NULL, 'c' },
                { "config", required_argument, NULL, 'C' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        struct sim_options so;
        struct analyzer_config cfg;
        struct config_error cerr;
        struct acc_device *dev = NULL;
        struct acc_label *lab = NULL;
        size_t n_dev = 0, n_lab = 0;
        char dir[4096] = "", path[4200];
        const char *config_path = NULL;
        unsigned cuts = 12, violations = 0, cut_checks = 0, n_sim;
        bool verbose = false;
        double healthy_ms = 0, fa[_FINDING_KIND_MAX] = {}, fa_total = 0;
        unsigned labels_k[_FINDING_KIND_MAX] = {}, hits_k[_FINDING_KIND_MAX] = {};
        uint64_t rng = 0x9e3779b97f4a7c15ULL;
        int c, r;

        sim_options_init(&so);
        while ((c = getopt_long(argc, argv, "s:D:H:k:d:L:R:c:C:vh", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        so.seed = strtoull(optarg, NULL, 0);
                        break;
                case 'D':
                        snprintf(dir, sizeof(dir), "%s", optarg);
                        break;
                case 'H':
                        so.healthy = (unsigned) strtoul(optarg, NULL, 0);
                        break;
                case 'k':
                        so.per_kind = (unsigned) strtoul(optarg, NULL, 0);
                        break;
                case 'L':
                        so.late_disconnect = strtod(optarg, NULL);
                        break;
                case 'R':
                        so.rebound = strtod(optarg, NULL);
                        break;
                case 'd':
                        so.healthy_days = (unsigned) strtoul(optarg, NULL, 0);
                        break;
                case 'c':
                        cuts = (unsigned) strtoul(optarg, NULL, 0);
                        break;
                case 'C':
                        config_path = optarg;
                        break;
                case 'v':
                        verbose = true;
                        break;
                case 'h':
                        acc_usage(stdout);
                        return 0;
                default:
                        acc_usage(stderr);
                        return 2;
                }
        if (!*dir)
                snprintf(dir, sizeof(dir), "/tmp/hpmon-accuracy-%llu", (unsigned long long) so.seed);
        so.dir = dir;
        if (config_path) {
                r = config_load_file(config_path, &cfg, &cerr);
                if (r < 0) {
                        fprintf(stderr, "analyzer-accuracy: %s\n", r == -EINVAL ? cerr.message : strerror(-r));
                        return 1;
                }
        } else
                analyzer_config_init(&cfg);

        r = sim_run(&so, &n_sim);
        if (r < 0) {
                fprintf(stderr, "analyzer-accuracy: simulator: %s\n", strerror(-r));
                return 1;
        }
        if (acc_read_devices(dir, &dev, &n_dev) < 0 || acc_read_labels(dir, &lab, &n_lab) < 0) {
                fprintf(stderr, "analyzer-accuracy: cannot read %s/devices.tsv or labels.tsv\n", dir);
                return 1;
        }

        for (size_t i = 0; i < n_dev; i++) {
                struct acc_events ev = {};
                struct acc_findings full = {}, daemon = {}, scratch = {};
                struct chargelog_handler h = { .event = acc_event_cb };
                bool is_healthy = strcmp(dev[i].fault, "healthy") == 0;

                snprintf(path, sizeof(path), "%s/%s", dir, dev[i].file);
                r = chargelog_read_file(path, &h, &ev, NULL);
                if (r < 0 || ev.n == 0) {
                        fprintf(stderr, "analyzer-accuracy: %s: %s\n", path, r < 0 ? strerror(-r) : "no events");
                        free(ev.v);
                        continue;
                }
                acc_run(&cfg, &ev, ev.n, dev[i].end, &full);

                /* determinism: the daemon's way of driving it gives the same answer */
                acc_run_daemon(&cfg, &ev, dev[i].end, &rng, &daemon);
                cut_checks++;
                if (daemon.n != full.n) {
                        violations++;
                        if (verbose)
                                fprintf(stderr, "causality: %s: daemon-style run has %zu findings, batch run %zu\n",
                                        dev[i].file, daemon.n, full.n);
                } else
                        for (size_t j = 0; j < full.n; j++)
                                if (!acc_same(&full.v[j].f, &daemon.v[j].f)) {
                                        violations++;
                                        if (verbose)
                                                fprintf(stderr, "causality: %s: finding %zu differs when driven by deadlines\n",
                                                        dev[i].file, j);
                                        break;
                                }

                /* cuts: at random events, and just before and at each finding's event */
                for (unsigned j = 0; j < cuts && ev.n > 1; j++) {
                        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                        violations += acc_check_cut(&cfg, &ev, (size_t) ((rng >> 33) % (ev.n - 1)), &full, &scratch,
                                                    verbose, dev[i].file);
                        cut_checks++;
                }
                for (size_t j = 0; j < full.n && j < 24; j++)
                        for (size_t back = 0; back < 2; back++)
                                if (full.v[j].pos >= back + 1 && full.v[j].pos - back - 1 < ev.n - 1) {
                                        violations += acc_check_cut(&cfg, &ev, full.v[j].pos - back - 1, &full, &scratch,
                                                                    verbose, dev[i].file);
                                        cut_checks++;
                                }

                /* scoring */
                healthy_ms += (double) (dev[i].fault_start - dev[i].start);
                for (size_t j = 0; j < full.n; j++) {
                        const struct finding *f = &full.v[j].f;

                        if (f->state != FINDING_RAISED || f->kind == FINDING_LOW_BATTERY)
                                continue;
                        if (f->time_ms < dev[i].fault_start) {
                                fa[f->kind]++;
                                fa_total++;
                                if (verbose)
                                        fprintf(stderr, "false alarm: %s (%s %s step %d %s) %s at +%.2f d\n", dev[i].file,
                                                dev[i].profile, dev[i].fault, dev[i].step, dev[i].mode,
                                                finding_kind_to_string(f->kind),
                                                (double) (f->time_ms - dev[i].start) / 86400e3);
                        }
                }
                for (size_t l = 0; l < n_lab; l++) {
                        if (strcmp(lab[l].file, dev[i].file) != 0)
                                continue;
                        for (size_t j = 0; j < full.n; j++) {
                                const struct finding *f = &full.v[j].f;

                                if (f->state == FINDING_RAISED && f->kind == lab[l].kind && f->time_ms >= lab[l].onset - 60000 &&
                                    f->time_ms <= lab[l].deadline) {
                                        lab[l].hit = true;
                                        lab[l].ttd_min = fmax(0, (double) (f->time_ms - lab[l].onset) / 60000.0);
                                        break;
                                }
                        }
                        if (lab[l].hit && verbose && lab[l].kind != FINDING_LOW_BATTERY)
                                fprintf(stderr, "found: %s (%s step %d %s) %s after %.1f min, window %.0f min\n", dev[i].file,
                                        dev[i].profile, dev[i].step, dev[i].mode, finding_kind_to_string(lab[l].kind),
                                        lab[l].ttd_min, (double) (lab[l].deadline - lab[l].onset) / 60000.0);
                        if (!lab[l].hit && verbose && lab[l].kind != FINDING_LOW_BATTERY)
                                fprintf(stderr, "missed: %s (%s step %d %s) %s onset +%.2f d, window %.0f min\n", dev[i].file,
                                        dev[i].profile, dev[i].step, dev[i].mode, finding_kind_to_string(lab[l].kind),
                                        (double) (lab[l].onset - dev[i].start) / 86400e3,
                                        (double) (lab[l].deadline - lab[l].onset) / 60000.0);
                        (void) is_healthy;
                }
                free(ev.v);
                free(full.v);
                free(daemon.v);
                free(scratch.v);
        }

        /* the report */
        {
                double ttd[4096], charging_ttd[4096];
                size_t n_charging = 0;
                unsigned total = 0, hit = 0;
                double months = healthy_ms / ACC_MONTH_MS;
                bool every_kind = true;

                printf("analyzer accuracy — seed %llu, %u devices (%u healthy, %u per failure kind), host-sleep disconnects "
                       "logged late: %.0f %%, gauge rebound %g points, logs in %s\n\n",
                       (unsigned long long) so.seed, n_sim, so.healthy, so.per_kind, 100 * so.late_disconnect, so.rebound,
                       dir);
                printf("%-22s %7s %7s %8s %12s %14s\n", "kind", "labels", "found", "recall", "median ttd", "false alarms");
                for (int k = 0; k < _FINDING_KIND_MAX; k++) {
                        size_t nt = 0;
                        double rec;

                        for (size_t l = 0; l < n_lab; l++) {
                                if (lab[l].kind != (enum finding_kind) k)
                                        continue;
                                labels_k[k]++;
                                if (lab[l].hit) {
                                        hits_k[k]++;
                                        ttd[nt++] = lab[l].ttd_min;
                                        if (k == FINDING_CHARGE_STALL || k == FINDING_SLOW_CHARGE ||
                                            k == FINDING_INTERMITTENT_CHARGE)
                                                charging_ttd[n_charging++] = lab[l].ttd_min;
                                }
                                if (nt >= sizeof(ttd) / sizeof(ttd[0]) - 1)
                                        break;
                        }
                        rec = labels_k[k] ? (double) hits_k[k] / labels_k[k] : NAN;
                        if (k != FINDING_LOW_BATTERY) {
                                total += labels_k[k];
                                hit += hits_k[k];
                        }
                        if (labels_k[k] && hits_k[k] * 6 < labels_k[k] * 5)
                                every_kind = false;
                        if (k == FINDING_LOW_BATTERY)
                                printf("%-22s %7u %7u %8.3f %8.1f min %14s\n", finding_kind_to_string(k), labels_k[k],
                                       hits_k[k], rec, acc_median(ttd, nt), "(not a fault)");
                        else
                                printf("%-22s %7u %7u %8.3f %8.1f min %14.0f\n", finding_kind_to_string(k), labels_k[k],
                                       hits_k[k], rec, acc_median(ttd, nt), fa[k]);
                }
                printf("\nrecall, all failure kinds (low-battery aside): %u/%u = %.3f; every kind at least 5/6: %s\n", hit,
                       total, total ? (double) hit / total : NAN, every_kind ? "yes" : "no");
                printf("false alarms: %.0f in %.1f healthy device-months = %.3f per device-month\n", fa_total, months,
                       months > 0 ? fa_total / months : NAN);
                printf("median time to detect, charging faults (stall, slow, intermittent): %.1f min\n",
                       acc_median(charging_ttd, n_charging));
                printf("causality: %u violations in %u checks (daemon-style replay and cut logs)\n", violations, cut_checks);
        }
        free(dev);
        free(lab);
        return 0;
}
