/* hpmon — the config file, read with inih (ini_parse_stream), never by hand.
 *
 * inih hands each "key = value" to config_handler_cb(); the table below says where the
 * value goes and what it may be. Line numbers: inih reports only the first bad line and
 * gives the handler none, so the reader callback counts lines as inih pulls them and the
 * handler keeps its first complaint with that count; whichever of the two comes first is
 * the error. Every value is checked, then the thresholds together (analyzer_config_check),
 * and only a wholly good file replaces the caller's config. */
#include <errno.h>
#include <math.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "config.h"
#include "numeric.h"

#define CONFIG_OFF(field) offsetof(struct analyzer_config, field)
#define CONFIG_ENABLED(section, kind)                                                                    \
        { section, "enabled", CONFIG_BOOL, CONFIG_OFF(enabled) + (kind) * sizeof(bool), 0, 1,           \
          "look for this kind at all" }

static const struct config_key config_table[] = {
        { "history", "typical-drain-rate", CONFIG_NUMBER, CONFIG_OFF(typical_drain_rate), 0.1, 100,
          "drain rate in use (%/h) assumed until the device's own is learned" },
        { "history", "min-charges", CONFIG_COUNT, CONFIG_OFF(min_charges), 1, 16,
          "rises measured before the device's usual charge rate is used" },
        { "history", "min-discharges", CONFIG_COUNT, CONFIG_OFF(min_drains), 1, 48,
          "falls measured before the device's drain rate is used" },
        { "history", "min-leg", CONFIG_DURATION, CONFIG_OFF(min_leg_ms), 60e3, 86400e3,
          "shortest rise or fall that is learned from" },
        { "history", "silence", CONFIG_DURATION, CONFIG_OFF(silence_ms), 60e3, 86400e3,
          "a change of two steps or more after this much silence is treated as a gap" },
        { "history", "flap", CONFIG_DURATION, CONFIG_OFF(flap_ms), 0, 3600e3,
          "a link that comes back this soon dropped for a moment: a charge in progress carries over" },

        CONFIG_ENABLED("charge-stall", FINDING_CHARGE_STALL),
        { "charge-stall", "factor", CONFIG_NUMBER, CONFIG_OFF(stall_factor), 1, 100,
          "flat for this many times one step's time rising (this charge's pace)" },
        { "charge-stall", "fall-factor", CONFIG_NUMBER, CONFIG_OFF(stall_fall_factor), 0, 100,
          "and this many times one step's time falling (the learned drain rate in use)" },
        { "charge-stall", "min-wait", CONFIG_DURATION, CONFIG_OFF(stall_min_wait_ms), 60e3, 86400e3,
          "and for at least this long" },
        { "charge-stall", "dwell-factor", CONFIG_NUMBER, CONFIG_OFF(stall_dwell_factor), 0, 100,
          "and this many times the second longest of the times this device's level has lately held while connected before falling a step" },
        { "charge-stall", "below", CONFIG_PERCENT, CONFIG_OFF(stall_below), 1, 100,
          "only below this level" },
        { "charge-stall", "carry-over", CONFIG_DURATION, CONFIG_OFF(stall_carry_ms), 0, 86400e3,
          "a rise carries over a disconnection this short (a host's nap) that is at least factor rising steps long" },
        { "charge-stall", "one-step", CONFIG_BOOL, CONFIG_OFF(stall_one_step), 0, 1,
          "one step up that holds is a rise, on gauges of 3-point steps or more" },

        CONFIG_ENABLED("slow-charge", FINDING_SLOW_CHARGE),
        { "slow-charge", "below", CONFIG_PERCENT, CONFIG_OFF(slow_below), 1, 100,
          "the rise is measured below this level (where charging is constant-current)" },
        { "slow-charge", "fraction", CONFIG_NUMBER, CONFIG_OFF(slow_fraction), 0.01, 1,
          "slow means under this fraction of the device's usual charge rate" },
        { "slow-charge", "fallback-rate", CONFIG_NUMBER, CONFIG_OFF(slow_fallback_rate), 0.1, 1000,
          "or, before the usual rate is known, under this rate (%/h)" },
        { "slow-charge", "min-duration", CONFIG_DURATION, CONFIG_OFF(slow_min_duration_ms), 60e3, 86400e3,
          "the rise must have lasted this long" },
        { "slow-charge", "min-rise", CONFIG_PERCENT, CONFIG_OFF(slow_min_rise), 1, 100,
          "and risen at least this many points (and a step) from its first step up" },

        CONFIG_ENABLED("intermittent-charge", FINDING_INTERMITTENT_CHARGE),
        { "intermittent-charge", "reversals", CONFIG_COUNT, CONFIG_OFF(intermittent_reversals), 1, 16,
          "reversals between rising and falling" },
        { "intermittent-charge", "min-leg-steps", CONFIG_COUNT, CONFIG_OFF(intermittent_leg_steps), 1, 100,
          "each leg at least this many steps" },
        { "intermittent-charge", "window", CONFIG_DURATION, CONFIG_OFF(intermittent_window_ms), 60e3, 7 * 86400e3,
          "all within this long" },

        CONFIG_ENABLED("fast-drain", FINDING_FAST_DRAIN),
        { "fast-drain", "factor", CONFIG_NUMBER, CONFIG_OFF(fast_drain_factor), 1.01, 100,
          "recent drain rate at least this many times the device's baseline" },
        { "fast-drain", "min-duration", CONFIG_DURATION, CONFIG_OFF(fast_drain_min_ms), 60e3, 7 * 86400e3,
          "recent means at least this much time of measured drain in use" },
        { "fast-drain", "lookback", CONFIG_DURATION, CONFIG_OFF(fast_drain_lookback_ms), 3600e3, 60 * 86400e3,
          "taken from no further back than this" },

        CONFIG_ENABLED("battery-degraded", FINDING_BATTERY_DEGRADED),
        { "battery-degraded", "fraction", CONFIG_NUMBER, CONFIG_OFF(degraded_fraction), 0.05, 0.99,
          "runtime per full charge now at most this fraction of early life" },
        { "battery-degraded", "early-discharges", CONFIG_COUNT, CONFIG_OFF(degraded_early), 1, 32,
          "falls that define early life (the first ever measured)" },
        { "battery-degraded", "recent-discharges", CONFIG_COUNT, CONFIG_OFF(degraded_recent), 1, 48,
          "falls that define now (the newest)" },

        CONFIG_ENABLED("sudden-drop", FINDING_SUDDEN_DROP),
        { "sudden-drop", "points", CONFIG_PERCENT, CONFIG_OFF(sudden_drop_points), 2, 100,
          "one report falls at least this many points (and at least two steps)" },
        { "sudden-drop", "within", CONFIG_DURATION, CONFIG_OFF(sudden_drop_within_ms), 0, 86400e3,
          "measured from any report of the connection this recent (a few quick reports count as one)" },
        { "sudden-drop", "confirm", CONFIG_DURATION, CONFIG_OFF(sudden_drop_confirm_ms), 0, 86400e3,
          "and does not come back within this long" },
        { "sudden-drop", "max-drain-rate", CONFIG_NUMBER, CONFIG_OFF(sudden_drop_max_rate), 1, 10000,
          "and fell faster than any use drains (%/h)" },
        { "sudden-drop", "drain-factor", CONFIG_NUMBER, CONFIG_OFF(sudden_drop_drain_factor), 1, 1000,
          "or, once the drain rate is learned, faster than this many times it" },

        CONFIG_ENABLED("not-holding-charge", FINDING_NOT_HOLDING_CHARGE),
        { "not-holding-charge", "from", CONFIG_PERCENT, CONFIG_OFF(not_holding_from), 1, 100,
          "from at least this level" },
        { "not-holding-charge", "to", CONFIG_PERCENT, CONFIG_OFF(not_holding_to), 0, 99,
          "to at most this level" },
        { "not-holding-charge", "within", CONFIG_DURATION, CONFIG_OFF(not_holding_within_ms), 60e3, 86400e3,
          "within this long" },
        { "not-holding-charge", "confirm", CONFIG_DURATION, CONFIG_OFF(not_holding_confirm_ms), 0, 3600e3,
          "a single low report counts only if no higher one comes within this long (a second low report confirms at once)" },

        CONFIG_ENABLED("connection-unstable", FINDING_CONNECTION_UNSTABLE),
        { "connection-unstable", "connects", CONFIG_COUNT, CONFIG_OFF(unstable_connects), 2, 64,
          "this many connects" },
        { "connection-unstable", "window", CONFIG_DURATION, CONFIG_OFF(unstable_window_ms), 10e3, 86400e3,
          "within this long" },

        CONFIG_ENABLED("low-battery", FINDING_LOW_BATTERY),
        { "low-battery", "warning", CONFIG_PERCENT, CONFIG_OFF(low_warning), 0, 100,
          "warn at or below this level" },
        { "low-battery", "critical", CONFIG_PERCENT, CONFIG_OFF(low_critical), 0, 100,
          "critical at or below this level" },
        { "low-battery", "confirm", CONFIG_DURATION, CONFIG_OFF(low_confirm_ms), 0, 3600e3,
          "a single low report alerts only if no higher one comes within this long (a second low report confirms at once)" },

        CONFIG_ENABLED("deep-discharge-risk", FINDING_DEEP_DISCHARGE_RISK),
        { "deep-discharge-risk", "level", CONFIG_PERCENT, CONFIG_OFF(deep_level), 0, 100,
          "last seen at or below this level (headsets with 10 % steps or more use 10 automatically)" },
        { "deep-discharge-risk", "after", CONFIG_DURATION, CONFIG_OFF(deep_after_ms), 3600e3, 365 * 86400e3,
          "and not charged for this long" },

        { "log", "keep", CONFIG_DURATION, CONFIG_OFF(log_keep_ms), 0, 36500 * 86400e3,
          "events older than this are compacted into a checkpoint (0: keep every event)" },
};

/* The table of keys, for documentation and tests. */
const struct config_key *config_keys(size_t *ret_n) {
        *ret_n = sizeof(config_table) / sizeof(config_table[0]);
        return config_table;
}

/* Finds a key; distinguishes an unknown section from an unknown key in a known one. */
static const struct config_key *config_find(const char *section, const char *name, bool *ret_section_known) {
        *ret_section_known = false;
        for (size_t i = 0; i < sizeof(config_table) / sizeof(config_table[0]); i++) {
                if (strcmp(config_table[i].section, section) != 0)
                        continue;
                *ret_section_known = true;
                if (strcmp(config_table[i].name, name) == 0)
                        return &config_table[i];
        }
        return NULL;
}

/* Parses a duration: a number and a unit (ms, s, min, h, d), into milliseconds. */
static int config_parse_duration(const char *value, double *ret_ms) {
        static const struct {
                const char *unit;
                double ms;
        } units[] = {
                { "ms", 1 }, { "s", 1e3 }, { "sec", 1e3 }, { "min", 60e3 }, { "m", 60e3 },
                { "h", 3600e3 }, { "hour", 3600e3 }, { "hours", 3600e3 }, { "d", 86400e3 }, { "day", 86400e3 },
                { "days", 86400e3 },
        };
        char *end;
        double v;

        errno = 0;
        v = strtod(value, &end);
        if (errno || end == value || !isfinite(v) || v < 0)
                return -EINVAL;
        while (*end == ' ')
                end++;
        if (v == 0 && !*end) {
                *ret_ms = 0;            /* nothing needs no unit: "keep = 0" */
                return 0;
        }
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (strcmp(end, units[i].unit) == 0) {
                        *ret_ms = v * units[i].ms;
                        return 0;
                }
        return -EINVAL;
}

/* Parses a boolean the ways config files spell them. */
static int config_parse_bool(const char *value, bool *ret) {
        static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < 4; i++) {
                if (strcasecmp(value, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(value, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* Parses a whole-string number. */
static int config_parse_number(const char *value, double *ret) {
        char *end;
        double v;

        errno = 0;
        v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v))
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Sets one key from its text. On -ENOENT (no such section or key) or -EINVAL (bad value)
 * writes why into reterr, which names the key as "section.name". */
int config_set(struct analyzer_config *c, const char *section, const char *name, const char *value,
               char *reterr, size_t reterr_size) {
        static const char *const expect[] = {
                [CONFIG_BOOL] = "yes or no",
                [CONFIG_PERCENT] = "a whole percentage",
                [CONFIG_NUMBER] = "a number",
                [CONFIG_COUNT] = "a whole number",
                [CONFIG_DURATION] = "a duration with a unit (s, min, h, d)",
        };
        const struct config_key *k;
        bool section_known, b;
        double v;
        char *p;
        int r;

        k = config_find(section, name, &section_known);
        if (!k) {
                if (!section_known)
                        snprintf(reterr, reterr_size, "unknown section [%s] (key '%s')", section, name);
                else
                        snprintf(reterr, reterr_size, "unknown key '%s' in [%s]", name, section);
                return -ENOENT;
        }
        p = (char *) c + k->offset;
        switch (k->type) {
        case CONFIG_BOOL:
                r = config_parse_bool(value, &b);
                if (r == 0)
                        *(bool *) p = b;
                break;
        case CONFIG_DURATION:
                r = config_parse_duration(value, &v);
                if (r == 0 && (v < k->min || v > k->max))
                        r = -ERANGE;
                if (r == 0)
                        *(int64_t *) p = numeric_llround(v);
                break;
        default:
                r = config_parse_number(value, &v);
                if (r == 0 && k->type != CONFIG_NUMBER && v != numeric_floor(v))
                        r = -EINVAL;
                if (r == 0 && (v < k->min || v > k->max))
                        r = -ERANGE;
                if (r == 0) {
                        if (k->type == CONFIG_PERCENT)
                                *(int *) p = (int) v;
                        else if (k->type == CONFIG_COUNT)
                                *(unsigned *) p = (unsigned) v;
                        else
                                *(double *) p = v;
                }
                break;
        }
        if (r == -ERANGE) {
                if (k->type == CONFIG_DURATION)
                        snprintf(reterr, reterr_size, "%s.%s = '%s' is out of range (%gs to %gs)", section, name, value,
                                 k->min / 1e3, k->max / 1e3);
                else
                        snprintf(reterr, reterr_size, "%s.%s = '%s' is out of range (%g to %g)", section, name, value,
                                 k->min, k->max);
                return -EINVAL;
        }
        if (r < 0) {
                snprintf(reterr, reterr_size, "%s.%s = '%s' is not %s", section, name, value, expect[k->type]);
                return -EINVAL;
        }
        return 0;
}

/* Writes a key's current value the way the config file spells it. */
int config_format_value(const struct analyzer_config *c, const struct config_key *k, char *buf, size_t size) {
        const char *p = (const char *) c + k->offset;
        int n;

        switch (k->type) {
        case CONFIG_BOOL:
                n = snprintf(buf, size, "%s", *(const bool *) p ? "yes" : "no");
                break;
        case CONFIG_PERCENT:
                n = snprintf(buf, size, "%d", *(const int *) p);
                break;
        case CONFIG_COUNT:
                n = snprintf(buf, size, "%u", *(const unsigned *) p);
                break;
        case CONFIG_NUMBER:
                n = snprintf(buf, size, "%g", *(const double *) p);
                break;
        default: {
                int64_t ms = *(const int64_t *) p;

                if (ms % 86400000 == 0 && ms > 0)
                        n = snprintf(buf, size, "%" PRId64 "d", ms / 86400000);
                else if (ms % 3600000 == 0 && ms > 0)
                        n = snprintf(buf, size, "%" PRId64 "h", ms / 3600000);
                else if (ms % 60000 == 0 && ms > 0)
                        n = snprintf(buf, size, "%" PRId64 "min", ms / 60000);
                else if (ms % 1000 == 0)
                        n = snprintf(buf, size, "%" PRId64 "s", ms / 1000);
                else
                        n = snprintf(buf, size, "%" PRId64 "ms", ms);
                break;
        }
        }
        return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
}

/* What the inih callbacks share. */
struct config_parse {
        FILE *f;
        unsigned line;                  /* line inih is on */
        const char *device;             /* the device whose [device ...] section applies, or NULL */
        bool device_pass;               /* second pass: only that section */
        struct analyzer_config config;
        struct analyzer_config scratch; /* other devices' sections are checked here */
        unsigned error_line;            /* first line the handler refused, 0 none */
        int read_errno;                 /* reading failed (a directory, an I/O error) */
        char error[256];
};

/* inih's reader: one whole line per call. inih would read the rest of a line longer than its
 * buffer as a line of its own (a key at the end of a long comment would count, and the line
 * numbers would drift), so such a line is read to its end and refused: inih is handed "[",
 * which it rejects on this line, and the handler's complaint says why. Reading by fgetc()
 * rather than fgets() keeps a NUL byte from hiding where a line ends. */
static char *config_reader_cb(char *str, int num, void *stream) {
        struct config_parse *p = stream;
        size_t n = 0, max = (size_t) num - 1;   /* room left for the NUL */
        bool too_long = false;
        int c;

        while ((c = fgetc(p->f)) != EOF) {
                if (n < max)
                        str[n++] = (char) c;
                else if (c != '\n')
                        too_long = true;        /* only a newline may be dropped */
                if (c == '\n')
                        break;
        }
        if (c == EOF && ferror(p->f))
                p->read_errno = errno ? errno : EIO;
        if (n == 0 && c == EOF)
                return NULL;
        str[n] = '\0';
        p->line++;
        if (!too_long)
                return str;
        if (p->error_line == 0) {
                p->error_line = p->line;
                snprintf(p->error, sizeof(p->error), "line longer than %zu bytes", max);
        }
        return strcpy(str, "[");
}

/* A key of a [device AA:BB:CC:DD:EE:FF] section: "kind.key = value", the same keys as the
 * global sections. Applied (second pass) when the section is the device's; otherwise
 * only checked, so a typo in any device's section is reported wherever it is. */
static int config_device_key(struct config_parse *p, const char *section, const char *name, const char *value,
                             char *err, size_t err_size) {
        char address[ADDRESS_STRING_MAX], sub[64];
        const char *dot = strchr(name, '.');
        bool mine;

        if (address_normalize(section + strlen(CONFIG_DEVICE_SECTION), address) < 0) {
                snprintf(err, err_size, "[%s]: not a Bluetooth address (expected [device AA:BB:CC:DD:EE:FF])", section);
                return -EINVAL;
        }
        if (!dot || dot == name || (size_t) (dot - name) >= sizeof(sub)) {
                snprintf(err, err_size, "[%s]: '%s' is not section.key (for instance low-battery.warning)", section, name);
                return -EINVAL;
        }
        memcpy(sub, name, (size_t) (dot - name));
        sub[dot - name] = '\0';
        mine = p->device && strcmp(p->device, address) == 0;
        if (p->device_pass && !mine)
                return 0;
        return config_set(mine && p->device_pass ? &p->config : &p->scratch, sub, dot + 1, value, err, err_size);
}

/* inih's handler: one key. Keeps the first complaint; returns 0 so inih marks the line. */
static int config_handler_cb(void *user, const char *section, const char *name, const char *value) {
        struct config_parse *p = user;
        char err[sizeof(p->error)];
        int r;

        if (strncmp(section, CONFIG_DEVICE_SECTION, strlen(CONFIG_DEVICE_SECTION)) == 0)
                r = config_device_key(p, section, name, value ? value : "", err, sizeof(err));
        else if (p->device_pass)
                return 1;       /* the global keys were read in the first pass */
        else
                r = config_set(&p->config, section, name, value ? value : "", err, sizeof(err));
        if (r == 0)
                return 1;
        if (p->error_line == 0) {
                p->error_line = p->line;
                memcpy(p->error, err, sizeof(err));
        }
        return 0;
}

/* Parses an open stream over the defaults, reporting errors against `name`: the global
 * sections first, then (a second pass over the same stream) the section of `device`, so a
 * device's own values win wherever its section stands in the file. */
static int config_load_stream(FILE *f, const char *name, const char *device, struct analyzer_config *ret,
                              struct config_error *reterr) {
        struct config_parse p = { .f = f, .device = device };
        const char *problem;
        int r;

        analyzer_config_init(&p.config);
        analyzer_config_init(&p.scratch);
        r = ini_parse_stream(config_reader_cb, &p, config_handler_cb, &p);
        if (r == 0 && !p.read_errno && device) {
                rewind(f);
                p.line = 0;
                p.device_pass = true;
                r = ini_parse_stream(config_reader_cb, &p, config_handler_cb, &p);
        }
        if (r == -2)
                return -ENOMEM;
        if (p.read_errno) {
                if (reterr) {
                        snprintf(reterr->message, sizeof(reterr->message), "%s: %s", name, strerror(p.read_errno));
                        reterr->line = 0;
                }
                return -p.read_errno;
        }
        if (r > 0) {
                if (reterr) {
                        if (p.error_line == (unsigned) r)
                                snprintf(reterr->message, sizeof(reterr->message), "%s:%d: %s", name, r, p.error);
                        else
                                snprintf(reterr->message, sizeof(reterr->message),
                                         "%s:%d: syntax error (expected [section] or key = value)", name, r);
                        reterr->line = (unsigned) r;
                }
                return -EINVAL;
        }
        if (r < 0)
                return -EIO;
        if (analyzer_config_check(&p.config, &problem) < 0) {
                if (reterr) {
                        snprintf(reterr->message, sizeof(reterr->message), "%s: %s", name, problem);
                        reterr->line = 0;
                }
                return -EINVAL;
        }
        *ret = p.config;
        return 0;
}

/* Loads a config file over the defaults. A missing file is the defaults (returns 0);
 * an unreadable one is its errno; a bad one is -EINVAL with reterr saying where and why. */
int config_load_file(const char *path, struct analyzer_config *ret, struct config_error *reterr) {
        return config_load_file_for(path, NULL, ret, reterr);
}

/* The same, with the [device ADDRESS] section of `address` (canonical; NULL for none) applied
 * over the global values. */
int config_load_file_for(const char *path, const char *address, struct analyzer_config *ret,
                         struct config_error *reterr) {
        FILE *f;
        int r;

        if (!path)
                path = CONFIG_FILE;
        f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT) {
                        analyzer_config_init(ret);
                        return 0;
                }
                r = -errno;
                if (reterr) {
                        snprintf(reterr->message, sizeof(reterr->message), "%s: %s", path, strerror(-r));
                        reterr->line = 0;
                }
                return r;
        }
        r = config_load_stream(f, path, address, ret, reterr);
        fclose(f);
        return r;
}

/* Loads config text (tests, or a file already read), reporting errors against `name`. */
int config_load_string(const char *text, const char *name, struct analyzer_config *ret, struct config_error *reterr) {
        return config_load_string_for(text, name, NULL, ret, reterr);
}

/* Config text with one device's section applied (see config_load_file_for()). */
int config_load_string_for(const char *text, const char *name, const char *address, struct analyzer_config *ret,
                           struct config_error *reterr) {
        FILE *f;
        int r;

        if (!*text) {
                analyzer_config_init(ret);
                return 0;
        }
        f = fmemopen((void *) text, strlen(text), "r");
        if (!f)
                return -errno;
        r = config_load_stream(f, name ? name : "<string>", address, ret, reterr);
        fclose(f);
        return r;
}
