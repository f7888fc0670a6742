/* hpmon — when a charge log is compacted, and where it is cut (retention's policy). Pure:
 * the daemon's retention.c asks it, with the time passed in, and does the disk work. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The newest lines a compaction always keeps, whatever the clock says: a wall clock that
 * jumps years ahead must not turn a whole history into a checkpoint at once. */
#define COMPACTION_KEEP_LINES 2000

int64_t compaction_margin_ms(int64_t keep_ms);
bool compaction_due(int64_t keep_ms, int64_t oldest_ms, int64_t not_before_ms, int64_t now_ms);
int64_t compaction_cut_ms(int64_t keep_ms, int64_t now_ms);
size_t compaction_lines_to_read(size_t lines);
bool compaction_keep_reading(size_t line, size_t lines_to_read, bool header_seen);
int64_t compaction_checkpoint_cut_ms(int64_t cut_ms, int64_t first_kept_ms);
bool compaction_worth(size_t checkpoint_len, size_t dropped_bytes);
bool compaction_may_replace(bool refused_now, bool refused_at_start);
