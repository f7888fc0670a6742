/* hpmon — the checkpoint: what a device's fold (state, analyzer, alerts) is at a point of
 * its log, written into the log when compaction drops the events before that point.
 *
 * Retention rewrites a log as: its opening comments, "# checkpoint=" lines, the header,
 * then the kept events. A reader restores the checkpoint before the first kept event,
 * so the analyzer goes on from exactly where the dropped events left it: every finding
 * of the kept span is the same as the uncompacted log's (test-checkpoint proves it).
 *
 * The payload is the analyzer's and its detectors' plain-old-data state as this build
 * lays it out, the devstate fold, and the open alerts (acknowledged or not) and mutes,
 * base64 (glibc's libresolv) in lines of at most CHECKPOINT_LINE_CHARS. Pointers never
 * go to disk: evidence names go as text and come back as finding.c's own pointers. A
 * checkpoint written by a build whose layout differs (another version, another
 * architecture) is refused with -EPROTONOSUPPORT, a damaged one with -EBADMSG; either
 * way the caller goes on without it and says so. Pure; never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerts.h"
#include "analyzer.h"
#include "devstate.h"

/* The comment key of checkpoint lines: "# checkpoint=<base64>". */
#define CHECKPOINT_KEY "checkpoint"
/* base64 characters per line, well under CHARGELOG_LINE_MAX. */
#define CHECKPOINT_LINE_CHARS 760
/* Bumped whenever the meaning of any saved field changes (sizes are checked anyway). */
#define CHECKPOINT_VERSION 6

int checkpoint_encode(const struct devstate *s, const struct analyzer *a, const struct alerts *t, int64_t cut_ms,
                      char **ret_lines, size_t *ret_len);

/* Checkpoint lines as a reader collects them, until the first event restores them. */
struct checkpoint_reader {
        char *text;             /* the base64 of every line so far, joined */
        size_t len, cap;
        bool refused;           /* a line was refused: the rest of this checkpoint is dropped */
};

int checkpoint_reader_add(struct checkpoint_reader *r, const char *value, size_t len);
int checkpoint_reader_meta(struct checkpoint_reader *r, const char *key, size_t key_len, const char *value,
                           size_t value_len);
bool checkpoint_reader_pending(const struct checkpoint_reader *r);
int checkpoint_reader_restore(struct checkpoint_reader *r, struct devstate *s, struct analyzer *a,
                              struct alerts *t, int64_t *ret_cut_ms);
void checkpoint_reader_done(struct checkpoint_reader *r);
