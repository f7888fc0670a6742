/* hpmond — retention.
 *
 * A log grows by at most ~60 lines a day; [log] keep (730 days by default) bounds it. When
 * a headset's oldest event is older than keep plus a margin (lib/compaction.c decides), its
 * log is compacted:
 *
 *   read the log into a scratch device, stopping at the first event newer than now − keep
 *   ──▶ checkpoint of the scratch device's fold there (lib/checkpoint.c)
 *   ──▶ opening comments + checkpoint + header + the kept lines, byte for byte, into a
 *       temporary file, fsync, rename over the log, fsync the directory (chargelog_rewrite)
 *   ──▶ the device appends to the new file from then on
 *
 * The live device is not touched: the checkpoint is exactly its fold at the cut, so what
 * it has concluded stands, and a restart (or `hpctl analyze`) restores the checkpoint
 * and replays the kept lines to the same state. A checkpoint this build cannot restore
 * (another build's layout, or damaged) was skipped at start-up too, so the live device
 * learned from the events after it alone: it is replaced by this build's own, like any
 * older part of the log, rather than keeping the log from ever being compacted again
 * (lib/compaction.c decides that, and where the cut falls). The margin makes compaction
 * rare (once a month at most per headset); it runs at start-up and after an append,
 * never on a timer. While logging is suspended (full disk) it waits: it needs room for a copy. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "compaction.h"
#include "log.h"
#include "registry.h"
#include "retention.h"

#define RETENTION_DAY_MS INT64_C(86400000)
/* after a failed compaction, the next try waits this long */
#define RETENTION_RETRY_MS (RETENTION_DAY_MS / 4)

/* Feeds whole lines of a mapped log to the replay handler until it stops at the cut, or
 * COMPACTION_KEEP_LINES before the end; returns the offset of the line it stopped at.
 * The opening comments, a checkpoint and the header are always read whole, however many
 * lines they take: a cut inside the checkpoint would read it as damaged. */
static size_t retention_find_cut(struct registry_replay *rp, const char *map, size_t size) {
        struct chargelog_parser parser = {};
        size_t off = 0, lines = 0, line = 0;

        for (const char *p = map; (p = memchr(p, '\n', size - (size_t) (p - map))); p++)
                lines++;
        lines = compaction_lines_to_read(lines);
        while (off < size && compaction_keep_reading(line, lines, parser.header_seen)) {
                const char *nl = memchr(map + off, '\n', size - off);
                size_t len, consumed = 0;

                if (!nl)
                        break;          /* a torn last line: not part of the log */
                len = (size_t) (nl - (map + off)) + 1;
                (void) chargelog_parse(&parser, map + off, len, &registry_replay_handler, rp, &consumed);
                if (rp->stopped)
                        return off;
                off += len;
                line++;
        }
        return off;
}

/* Compacts one log now; the caller has decided it is due. */
static int retention_compact(struct context *c, struct device *d, int64_t cut_ms, int64_t *ret_first_ms,
                             off_t *ret_sizes) {
        char fn[ADDRESS_STRING_MAX + 8];
        struct registry_replay rp = { .c = c, .file = fn, .stop_ms = cut_ms, .quiet = true };
        struct chargelog *log = NULL;
        struct device *scratch;
        char *checkpoint = NULL;
        size_t cut, checkpoint_len = 0;
        struct stat st;
        void *map;
        int fd, r;
        bool replaying = c->replaying;

        (void) chargelog_filename(d->address, fn, sizeof(fn));
        fd = openat(c->devices_fd, fn, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        if (st.st_size == 0) {
                close(fd);
                return -ENODATA;
        }
        map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (map == MAP_FAILED)
                return -errno;

        scratch = registry_device_new(c, d->address, d->name);
        if (!scratch) {
                munmap(map, (size_t) st.st_size);
                return -ENOMEM;
        }
        rp.d = scratch;
        c->replaying = true;            /* the scratch device announces nothing */
        cut = retention_find_cut(&rp, map, (size_t) st.st_size);
        registry_replay_finish(&rp);
        c->replaying = replaying;
        r = -EPROTO;
        if (!compaction_may_replace(rp.checkpoint_refused, d->checkpoint_refused))
                goto finish;

        /* the first kept line is the event the replay stopped at: it starts the new log's age */
        *ret_first_ms = 0;
        if (cut < (size_t) st.st_size) {
                const char *line = (const char *) map + cut, *nl = memchr(line, '\n', (size_t) st.st_size - cut);
                struct hpevent e;

                if (nl && chargelog_parse_line(line, (size_t) (nl - line), &e) >= 0)
                        *ret_first_ms = e.time_ms;
        }
        r = -EALREADY;                  /* nothing before the cut: nothing to drop */
        if (scratch->first_event_ms == 0)
                goto finish;
        cut_ms = compaction_checkpoint_cut_ms(cut_ms, *ret_first_ms);
        r = checkpoint_encode(&scratch->state, scratch->analyzer, &scratch->alerts, cut_ms, &checkpoint,
                              &checkpoint_len);
        if (r < 0)
                goto finish;
        r = -EALREADY;
        if (!compaction_worth(checkpoint_len, cut)) {
                *ret_first_ms = 0;      /* the dropped lines stay: the log's age is unchanged */
                goto finish;
        }
        ret_sizes[0] = (off_t) st.st_size;
        r = chargelog_rewrite(c->devices_fd, d->address, d->name, checkpoint, checkpoint_len, (const char *) map + cut,
                              (size_t) st.st_size - cut, &log);
        if (r < 0)
                goto finish;
        if (r > 0) {
                /* writer.c syncs it before the next append, suspending logging until it can */
                log_warning("%s/devices: the directory could not be synced after compacting %s; nothing is appended "
                            "until it is.", c->state_dir, fn);
                c->devices_unsynced = true;
        }
        chargelog_close(d->log);
        d->log = log;
        d->checkpoint_refused = false;
        ret_sizes[1] = (off_t) (st.st_size - (off_t) cut) + (off_t) checkpoint_len;
finish:
        free(checkpoint);
        registry_device_free(scratch);
        munmap(map, (size_t) st.st_size);
        return r;
}

/* Compacts a device's log if its oldest event is older than keep plus the margin. */
void retention_run(struct context *c, struct device *d, int64_t now_ms) {
        int64_t cut_ms, first_ms = 0;
        off_t sizes[2] = {};
        int r;

        int64_t keep_ms = registry_device_config(d)->log_keep_ms;

        if (!d->log || !compaction_due(keep_ms, d->first_event_ms, d->compact_after_ms, now_ms))
                return;
        if (c->logging_error || d->n_pending > 0)
                return;         /* the disk is full: a copy needs room */

        cut_ms = compaction_cut_ms(keep_ms, now_ms);
        r = retention_compact(c, d, cut_ms, &first_ms, sizes);
        if (r < 0 && r != -EALREADY) {
                log_warning_errno(r, "Cannot compact the log of %s, keeping it whole and trying again later: %m",
                                  d->address);
                d->compact_after_ms = now_ms + RETENTION_RETRY_MS;
                return;
        }
        /* whatever the log's oldest line says now, the next look is a margin away: a log
         * never gets rewritten at every append */
        d->compact_after_ms = now_ms + compaction_margin_ms(keep_ms);
        if (first_ms)
                d->first_event_ms = first_ms;
        if (r == -EALREADY)
                return;
        log_info("Compacted the log of %s: events before %" PRId64 " (Unix s) replaced by a checkpoint, "
                 "%lld bytes now about %lld.", d->address, compaction_checkpoint_cut_ms(cut_ms, first_ms) / 1000,
                 (long long) sizes[0], (long long) sizes[1]);
}
