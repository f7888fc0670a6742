/* hpmond — the disk writer: appends events to device logs, and holds them in a bounded
 * queue while the disk refuses them (full, quota, file size limit), retrying on a backoff. */
#pragma once

#include "context.h"

/* Most events held per device while logging is suspended; past it the oldest are dropped. */
#define WRITER_PENDING_MAX 4096
/* Retry delays while suspended: 1 s, doubling, at most 32 s. */
#define WRITER_BACKOFF_MIN_MS 1000
#define WRITER_BACKOFF_MAX_MS 32000

int writer_setup(struct context *c);
int writer_open_log(struct context *c, const char address[static ADDRESS_STRING_MAX], const char *name,
                    struct chargelog **ret_log);
int writer_submit(struct context *c, struct device *d, const struct hpevent *e);
void writer_submit_name(struct context *c, struct device *d);
void writer_device_unlogged(struct context *c, struct device *d, int r);
void writer_flush(struct context *c);
const char *writer_state(const struct context *c);
unsigned writer_pending(const struct context *c);
void writer_device_clear(struct device *d);
void writer_free(struct context *c);
