/* hpmon — token bucket (see ratelimit.h). A real headset changes its level every few
 * minutes; a device or a bluetoothd sending thousands of changes a second must not fill
 * the disk or the memory. What a bucket refuses, the daemon coalesces. */
#include "ratelimit.h"

/* A full bucket. */
void ratelimit_init(struct ratelimit *r, int burst, int interval_ms, int64_t now_ms) {
        *r = (struct ratelimit) {
                .last_ms = now_ms,
                .tokens = burst,
                .burst = burst,
                .interval_ms = interval_ms > 0 ? interval_ms : 1,
        };
}

/* Adds the tokens earned since last_ms; a clock that went back earns nothing. */
static void ratelimit_refill(struct ratelimit *r, int64_t now_ms) {
        int64_t earned;

        if (now_ms < r->last_ms) {
                r->last_ms = now_ms;
                return;
        }
        earned = (now_ms - r->last_ms) / r->interval_ms;
        if (earned <= 0)
                return;
        if (earned >= r->burst - r->tokens) {
                r->tokens = r->burst;
                r->last_ms = now_ms;
        } else {
                r->tokens += (int) earned;
                r->last_ms += earned * r->interval_ms;
        }
}

/* Takes one token if there is one. */
bool ratelimit_take(struct ratelimit *r, int64_t now_ms) {
        ratelimit_refill(r, now_ms);
        if (r->tokens <= 0)
                return false;
        r->tokens--;
        return true;
}

/* When the next token will be there: now if one is, else the end of the current interval. */
int64_t ratelimit_next(const struct ratelimit *r, int64_t now_ms) {
        struct ratelimit copy = *r;

        ratelimit_refill(&copy, now_ms);
        if (copy.tokens > 0)
                return now_ms;
        return copy.last_ms + copy.interval_ms;
}
