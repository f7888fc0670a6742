/* hpctl notify's memory: which alerts it has shown, at which severity, kept across its
 * own restarts in $XDG_STATE_HOME/hpmon/notified. Plain file I/O, no bus. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Entries kept; the oldest go first. Alerts live days, ids are ~50 bytes: ~60 KiB at most. */
#define NOTIFIED_MAX 1024
/* An id is "AABBCCDDEEFF-<kind>-<Unix ms>"; anything longer is not one of hpmond's. */
#define NOTIFIED_ID_MAX 128

struct notified_entry {
        char id[NOTIFIED_ID_MAX];
        int level;              /* 0 info, 1 warning, 2 critical: the highest shown */
};

struct notified {
        char *path;
        struct notified_entry *entries; /* oldest first */
        size_t n;
};

int notified_default_path(char **ret);
int notified_load(struct notified *s, const char *path);
bool notified_seen(const struct notified *s, const char *id, int level);
int notified_add(struct notified *s, const char *id, int level);
int notified_save(const struct notified *s);
void notified_done(struct notified *s);
