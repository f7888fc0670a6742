/* hpctl analyze — runs hpmond's analyzer over charge logs, offline: the same code, the same
 * thresholds (the config file), the same findings the daemon would raise for them. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "advice.h"
#include "analyzer.h"
#include "chargelog.h"
#include "checkpoint.h"
#include "cmd.h"
#include "config.h"
#include "render.h"
#include "timearg.h"

static int cmd_analyze_exec(const struct cmd_entry *self, struct cmd_args *args);

static const struct option cmd_analyze_options[] = {
        { "json", no_argument, NULL, 'j' },
        { "until", required_argument, NULL, 'u' },
        { "config", required_argument, NULL, 'c' },
        {}
};

const struct cmd_entry cmd_analyze_entry = {
        .name = "analyze",
        .usage = "[--json] [--until TIME|now] [--config FILE] LOG...",
        .summary = "find failing batteries and charging in charge logs",
        .shortopts = "ju:c:",
        .longopts = cmd_analyze_options,
        .min_args = 1,
        .max_args = -1,
        .exec = cmd_analyze_exec,
};

/* One log being read: its analyzer (made at the first event, once the header named the
 * device), its findings, and what the reader found wrong with it. */
struct cmd_analyze_log {
        const char *path;
        const struct analyzer_config *config;
        const char *config_path;
        struct analyzer_config own;     /* with the headset's [device ...] section, as hpmond runs it */
        char address[ADDRESS_STRING_MAX];
        char name[CHARGELOG_NAME_MAX + 1];
        struct analyzer *analyzer;
        int64_t until_ms;               /* events after it are left out; INT64_MAX none */
        int64_t last_ms;                /* time of the last event fed */
        struct finding *findings;       /* the first n_checkpoint_open were open at the checkpoint */
        size_t n_findings;
        size_t n_checkpoint_open;
        int error;                      /* a negative errno from the analyzer or memory */
        struct checkpoint_reader checkpoint;    /* a compacted log's checkpoint, until its first event */
        int64_t checkpoint_ms;          /* the cut it stands for, 0 if none was restored */
};

/* Keeps a finding. */
static void cmd_analyze_finding_cb(const struct finding *f, void *userdata) {
        struct cmd_analyze_log *log = userdata;
        struct finding *grown = realloc(log->findings, (log->n_findings + 1) * sizeof(*grown));

        if (!grown) {
                log->error = -ENOMEM;
                return;
        }
        log->findings = grown;
        log->findings[log->n_findings++] = *f;
}

/* Makes the analyzer, and restores a compacted log's checkpoint into it, as hpmond does. */
static int cmd_analyze_start(struct cmd_analyze_log *log) {
        int r;

        if (!log->analyzer) {
                /* the headset's own [device ...] section, once its address is known: from the
                 * file's name, or from its "# address=" header (a log copied under another name) */
                if (*log->address && config_load_file_for(log->config_path, log->address, &log->own, NULL) == 0)
                        log->config = &log->own;
                r = analyzer_new(log->config, log->address, cmd_analyze_finding_cb, log, &log->analyzer);
                if (r < 0)
                        return (log->error = r);
        }
        if (!checkpoint_reader_pending(&log->checkpoint))
                return 0;
        r = checkpoint_reader_restore(&log->checkpoint, NULL, log->analyzer, NULL, &log->checkpoint_ms);
        if (r == -ENOMEM)
                return (log->error = r);
        if (r < 0) {
                fprintf(stderr, "%s: %s, skipped: what was learned before the log was compacted is lost\n",
                        log->path,
                        r == -EPROTONOSUPPORT ? "checkpoint written by another hpmon build" : "damaged checkpoint");
                return 0;
        }
        /* what was raised before the cut and still stood there: hpmond shows it as an alert,
         * so it is a finding here too, said to come from the checkpoint */
        for (int k = 0; k < _FINDING_KIND_MAX; k++) {
                struct finding f;

                if (!analyzer_get_open(log->analyzer, (enum finding_kind) k, &f))
                        continue;
                cmd_analyze_finding_cb(&f, log);
                if (log->error < 0)
                        return log->error;
                log->n_checkpoint_open++;
        }
        return 0;
}

/* Feeds one event, making the analyzer at the first. */
static int cmd_analyze_event_cb(void *userdata, const struct hpevent *e) {
        struct cmd_analyze_log *log = userdata;
        int r;

        if (e->time_ms > log->until_ms)
                return 0;
        r = cmd_analyze_start(log);
        if (r < 0)
                return r;
        if (analyzer_feed(log->analyzer, e) >= 0 && (e->kind == EVENT_CONNECTED || e->kind == EVENT_BATTERY))
                log->last_ms = e->time_ms;
        return log->error;
}

/* Takes the device's address and name from the log's header comments. */
static void cmd_analyze_meta_cb(void *userdata, const char *key, size_t key_len, const char *value, size_t value_len) {
        struct cmd_analyze_log *log = userdata;
        char buf[CHARGELOG_NAME_MAX + 1];
        int r;

        r = checkpoint_reader_meta(&log->checkpoint, key, key_len, value, value_len);
        if (r < 0)
                fprintf(stderr, "%s: checkpoint skipped: %s\n", log->path, strerror(-r));
        if (r != 0)
                return;
        snprintf(buf, sizeof(buf), "%.*s", (int) value_len, value);
        if (key_len == 7 && memcmp(key, "address", 7) == 0)
                (void) address_normalize(buf, log->address);
        else if (key_len == 4 && memcmp(key, "name", 4) == 0)
                memcpy(log->name, buf, sizeof(log->name));
}

/* A line the reader skipped: said with file and line, and reading goes on. */
static void cmd_analyze_problem_cb(void *userdata, unsigned line, enum chargelog_problem p, const char *text) {
        struct cmd_analyze_log *log = userdata;

        fprintf(stderr, "%s:%u: %s, skipped\n", log->path, line, text);
}

/* "flat_min" → "flat", "min": a name for people and its unit. */
static void cmd_analyze_evidence_name(const char *name, char *buf, size_t size, const char **ret_unit) {
        static const struct {
                const char *suffix, *unit;
        } units[] = {
                { "_pct_per_h", "%/h" }, { "_pct", "%" }, { "_min", "min" }, { "_h", "h" }, { "_days", "days" },
        };
        size_t n = strlen(name);

        *ret_unit = "";
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                size_t l = strlen(units[i].suffix);

                if (n > l && strcmp(name + n - l, units[i].suffix) == 0) {
                        n -= l;
                        *ret_unit = units[i].unit;
                        break;
                }
        }
        snprintf(buf, size, "%.*s", (int) n, name);
        for (char *p = buf; *p; p++)
                if (*p == '_')
                        *p = ' ';
}

/* One finding for a person: when, what, what it means, the numbers, what to try. */
static void cmd_analyze_text_finding(const struct finding *f, bool color) {
        const struct advice *adv = f->advice;
        char when[32];

        render_time(when, sizeof(when), (double) f->time_ms / 1000.0);
        if (f->state == FINDING_CLEARED) {
                printf("  %s  %s: over\n", when, finding_kind_to_string(f->kind));
                return;
        }
        printf("  %s  %s%s%s (%s): %s\n", when, render_sgr(color, f->severity == FINDING_CRITICAL ? "1;31" : "1;33"),
               finding_kind_to_string(f->kind), render_sgr(color, "0"), finding_severity_to_string(f->severity),
               adv->meaning);
        printf("      evidence:");
        for (unsigned i = 0; i < f->n_evidence; i++) {
                char name[64];
                const char *unit;

                cmd_analyze_evidence_name(f->evidence[i].name, name, sizeof(name), &unit);
                printf("%s %s %.4g%s%s", i ? "," : "", name, f->evidence[i].value, *unit == '%' ? "" : *unit ? " " : "",
                       unit);
        }
        printf("\n      what to do: %s\n", adv->action);
        for (unsigned i = 0; i < adv->n_steps; i++)
                printf("      guide %s: %s\n", adv->steps[i].ref, adv->steps[i].title);
}

/* A number for JSON: null where it is not one (NaN, infinity). */
static struct json_object *cmd_analyze_json_number(double v) {
        return isfinite(v) ? json_object_new_double(v) : NULL;
}

/* One finding as JSON: kind, state, time, severity, device, meaning, evidence, advice; and
 * "checkpoint": true for one that was open at a compacted log's checkpoint. */
static struct json_object *cmd_analyze_json_finding(const struct finding *f, const char *path, bool checkpoint) {
        struct json_object *o = json_object_new_object(), *ev = json_object_new_object(), *adv = json_object_new_array();

        json_object_object_add(o, "kind", json_object_new_string(finding_kind_to_string(f->kind)));
        json_object_object_add(o, "state", json_object_new_string(finding_state_to_string(f->state)));
        json_object_object_add(o, "time", render_json_time((double) f->time_ms / 1000.0));
        json_object_object_add(o, "severity", json_object_new_string(finding_severity_to_string(f->severity)));
        json_object_object_add(o, "device", json_object_new_string(f->device));
        json_object_object_add(o, "log", json_object_new_string(path));
        json_object_object_add(o, "meaning", json_object_new_string(f->advice->meaning));
        for (unsigned i = 0; i < f->n_evidence; i++)
                json_object_object_add(ev, f->evidence[i].name, cmd_analyze_json_number(f->evidence[i].value));
        json_object_object_add(o, "evidence", ev);
        for (unsigned i = 0; i < f->advice->n_steps; i++) {
                struct json_object *s = json_object_new_object();

                json_object_object_add(s, "step", json_object_new_string(f->advice->steps[i].ref));
                /* as hpctl alerts --json names it */
                json_object_object_add(s, "ref", json_object_new_string(f->advice->steps[i].ref));
                json_object_object_add(s, "title", json_object_new_string(f->advice->steps[i].title));
                json_object_array_add(adv, s);
        }
        json_object_object_add(o, "advice", adv);
        json_object_object_add(o, "action", json_object_new_string(f->advice->action));
        if (checkpoint)
                json_object_object_add(o, "checkpoint", json_object_new_boolean(1));
        return o;
}

/* Reads one log through a fresh analyzer and advances it to the end (or to --until). */
static int cmd_analyze_log(struct cmd_analyze_log *log) {
        struct chargelog_handler h = {
                .event = cmd_analyze_event_cb,
                .meta = cmd_analyze_meta_cb,
                .problem = cmd_analyze_problem_cb,
        };
        const char *base = strrchr(log->path, '/');
        char stem[ADDRESS_STRING_MAX + 8];
        int r;

        /* a log named AA_BB_….csv names its device even without the header comment */
        snprintf(stem, sizeof(stem), "%s", base ? base + 1 : log->path);
        stem[strcspn(stem, ".")] = '\0';
        (void) address_from_underscores(stem, log->address);

        r = chargelog_read_file(log->path, &h, log, NULL);
        if (r >= 0 && checkpoint_reader_pending(&log->checkpoint))
                r = cmd_analyze_start(log);     /* a log that is only a checkpoint */
        if (log->checkpoint_ms && log->until_ms < log->checkpoint_ms)
                fprintf(stderr, "%s: --until is before the checkpoint this log was compacted to; what the analyzer "
                        "learned up to the checkpoint is in it all the same\n", log->path);
        checkpoint_reader_done(&log->checkpoint);
        if (r < 0)
                return log->error < 0 ? log->error : r;
        if (log->analyzer)
                analyzer_advance(log->analyzer, log->until_ms != INT64_MAX ? log->until_ms : log->last_ms);
        return log->error;
}

/* Reads the options, analyzes every log, prints the findings. */
static int cmd_analyze_exec(const struct cmd_entry *self, struct cmd_args *args) {
        const char *until_arg = cmd_args_get(args, 'u'), *config_path = cmd_args_get(args, 'c');
        bool json = cmd_args_has(args, 'j'), color = render_color(stdout);
        struct json_object *root = NULL, *arr = NULL;
        struct analyzer_config config;
        struct config_error cerr = {};
        int64_t until_ms = INT64_MAX;
        size_t steps = 0;       /* raised findings with guide steps: the guide's path follows them */
        int r, ret = 0;

        if (until_arg && timearg_parse(until_arg, (int64_t) time(NULL) * 1000, &until_ms) < 0) {
                fprintf(stderr, "hpctl analyze: '%s' is not a time (now, Unix seconds, YYYY-MM-DD[THH:MM[:SS]], or 30m, 2h, 7d ago)\n",
                        until_arg);
                return CMD_EXIT_USAGE;
        }
        r = config_load_file(config_path ? config_path : CONFIG_FILE, &config, &cerr);
        if (r < 0) {
                fprintf(stderr, "hpctl analyze: %s\n", r == -EINVAL || cerr.message[0] ? cerr.message : strerror(-r));
                return CMD_EXIT_FAILURE;
        }
        if (json) {
                root = json_object_new_object();
                arr = json_object_new_array();
        }

        for (int i = 0; i < args->argc; i++) {
                struct cmd_analyze_log log = {
                        .path = args->argv[i],
                        .config = &config,
                        .config_path = config_path ? config_path : CONFIG_FILE,
                        .until_ms = until_ms,
                };
                size_t open = 0;

                r = cmd_analyze_log(&log);
                for (size_t j = 0; r >= 0 && j < log.n_findings; j++)
                        steps += log.findings[j].state != FINDING_CLEARED && advice_for(log.findings[j].kind)->n_steps > 0;
                if (r < 0) {
                        fprintf(stderr, "hpctl analyze: cannot read %s: %s\n", log.path, strerror(-r));
                        ret = CMD_EXIT_FAILURE;
                } else if (json) {
                        for (size_t j = 0; j < log.n_findings; j++)
                                json_object_array_add(arr, cmd_analyze_json_finding(&log.findings[j], log.path,
                                                                                    j < log.n_checkpoint_open));
                } else {
                        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                                open += log.analyzer && analyzer_get_open(log.analyzer, (enum finding_kind) k, NULL);
                        printf("%s%s%s%s%s%s — %s\n", render_sgr(color, "1"), *log.address ? log.address : "(no address)",
                               *log.name ? " (" : "", log.name, *log.name ? ")" : "", render_sgr(color, "0"), log.path);
                        if (log.checkpoint_ms) {
                                char when[32];

                                render_time(when, sizeof(when), (double) log.checkpoint_ms / 1000.0);
                                printf("  compacted: what came before %s is a checkpoint\n", when);
                        }
                        if (log.n_findings == 0)
                                printf("  no findings\n");
                        for (size_t j = 0; j < log.n_findings; j++) {
                                if (j == 0 && log.n_checkpoint_open > 0)
                                        printf("  open at the checkpoint (raised before it):\n");
                                else if (j == log.n_checkpoint_open && j > 0)
                                        printf("  after the checkpoint:\n");
                                cmd_analyze_text_finding(&log.findings[j], color);
                        }
                        if (log.n_findings > 0)
                                printf("  %zu still open at the end\n", open);
                }
                free(log.findings);
                analyzer_free(log.analyzer);
        }

        if (json) {
                json_object_object_add(root, "findings", arr);
                if (render_json(stdout, root) < 0)
                        ret = CMD_EXIT_FAILURE;
                return ret;
        }
        if (steps > 0)
                printf("The guide's steps: %s\n", GUIDEFILE);
        if (fflush(stdout) != 0)
                ret = CMD_EXIT_FAILURE;
        return ret;
}
