/* hpmon — the config file (/etc/hpmon/hpmon.conf): every analyzer threshold, INI syntax,
 * one section per finding kind plus [history]. Parsed by inih; a missing file means the
 * defaults. Nothing here logs: errors come back as "file:line: what" in a config_error. */
#pragma once

#include <stddef.h>

#include "analyzer.h"

#define CONFIG_FILE SYSCONFDIR "/hpmon/hpmon.conf"

enum config_type {
        CONFIG_BOOL,            /* yes/no, true/false, on/off, 1/0 */
        CONFIG_PERCENT,         /* a level, integer 0..100 */
        CONFIG_NUMBER,          /* a positive number: a rate in %/h, or a factor */
        CONFIG_COUNT,           /* a positive integer */
        CONFIG_DURATION,        /* a number and a unit: s, min, h, d */
};

/* One key: where it lives in struct analyzer_config and what it accepts. */
struct config_key {
        const char *section;
        const char *name;
        enum config_type type;
        size_t offset;
        double min, max;
        const char *help;       /* one line, for the config file and the manual */
};

/* Why a file was refused. */
struct config_error {
        unsigned line;          /* 0 when the problem is not on one line */
        char message[320];      /* "file:line: what", ready to print */
};

const struct config_key *config_keys(size_t *ret_n);
int config_set(struct analyzer_config *c, const char *section, const char *name, const char *value,
               char *reterr, size_t reterr_size);
int config_format_value(const struct analyzer_config *c, const struct config_key *k, char *buf, size_t size);
/* Sections "[device AA:BB:CC:DD:EE:FF]" hold one headset's own values as "kind.key = value". */
#define CONFIG_DEVICE_SECTION "device "

int config_load_file(const char *path, struct analyzer_config *ret, struct config_error *reterr);
int config_load_file_for(const char *path, const char *address, struct analyzer_config *ret,
                         struct config_error *reterr);
int config_load_string_for(const char *text, const char *name, const char *address, struct analyzer_config *ret,
                           struct config_error *reterr);
int config_load_string(const char *text, const char *name, struct analyzer_config *ret, struct config_error *reterr);
