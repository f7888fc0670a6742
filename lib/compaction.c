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
