/* hpmon — retention's policy (see compaction.h). */
#include "compaction.h"

#define COMPACTION_DAY_MS INT64_C(86400000)

/* How much older than keep the oldest event may get before compaction: an eighth of keep,
 * at most 30 days, so a log is rewritten about once a month, not at every append. */
int64_t compaction_margin_ms(int64_t keep_ms) {
        int64_t m = keep_ms / 8;

        return m < 30 * COMPACTION_DAY_MS ? m : 30 * COMPACTION_DAY_MS;
}

/* Whether a log whose oldest event is at oldest_ms (0: none) is due now: keep is set (0
 * keeps all), the oldest event is older than keep plus the margin, and the last look
 * (not_before_ms) is far enough behind. */
bool compaction_due(int64_t keep_ms, int64_t oldest_ms, int64_t not_before_ms, int64_t now_ms) {
        if (keep_ms <= 0 || oldest_ms == 0 || now_ms < not_before_ms)
                return false;
        return now_ms - oldest_ms > keep_ms + compaction_margin_ms(keep_ms);
}

/* The cut: events before it are replaced by the checkpoint. */
int64_t compaction_cut_ms(int64_t keep_ms, int64_t now_ms) {
        return now_ms - keep_ms;
}

/* Of a log of `lines` whole lines, how many a compaction may read (and so drop) at most. */
size_t compaction_lines_to_read(size_t lines) {
        return lines > COMPACTION_KEEP_LINES ? lines - COMPACTION_KEEP_LINES : 0;
}

/* Whether reading for the cut goes on past line `line` (0-based) of a log: up to the lines
 * it may read, and always through the opening comments, a checkpoint and the header — a
 * checkpoint cut in the middle would read as damaged. */
bool compaction_keep_reading(size_t line, size_t lines_to_read, bool header_seen) {
        return line < lines_to_read || !header_seen;
}

/* The cut the checkpoint stands for: now − keep, or the first kept event when the lines
 * always kept held the cut back (first_kept_ms 0: none). */
int64_t compaction_checkpoint_cut_ms(int64_t cut_ms, int64_t first_kept_ms) {
        return first_kept_ms > 0 && first_kept_ms < cut_ms ? first_kept_ms : cut_ms;
}

/* Whether a checkpoint of checkpoint_len bytes is worth writing in place of the
 * dropped_bytes before the cut: only if the log gets smaller. */
bool compaction_worth(size_t checkpoint_len, size_t dropped_bytes) {
        return checkpoint_len < dropped_bytes;
}

/* Whether a log's old checkpoint may be replaced: always when this reading restored it
 * (a later checkpoint holds all it held); when it was refused, only if start-up refused
 * it too — the live device then learned without it, so nothing it could use is lost —
 * never when start-up restored it and this reading did not. */
bool compaction_may_replace(bool refused_now, bool refused_at_start) {
        return !refused_now || refused_at_start;
}
