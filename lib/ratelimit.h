/* hpmon — a token bucket: how many changes of one device hpmond takes, and when the next.
 * Pure: the caller passes a monotonic time in milliseconds. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
        int64_t last_ms;        /* when tokens were last counted */
        int tokens;
        int burst;              /* most tokens held */
        int interval_ms;        /* one token comes back per interval */
};

void ratelimit_init(struct ratelimit *r, int burst, int interval_ms, int64_t now_ms);
bool ratelimit_take(struct ratelimit *r, int64_t now_ms);
int64_t ratelimit_next(const struct ratelimit *r, int64_t now_ms);
