/* hpmon — connection-unstable: five or more connects within ten minutes.
 *
 * Only logged connects count (0→1): a battery report that implies a connection, or a
 * writer re-announcing one it already logged, is not the headset dropping. The episode
 * ends when a whole window passes without a connect. */
#include "analyzer-internal.h"

#define DETECT_CONNECTION_UNSTABLE_MAX 64

struct detect_connection_unstable_state {
        int64_t at[DETECT_CONNECTION_UNSTABLE_MAX];     /* connect times, ring */
        unsigned n, next;
};

/* Counts connects in the window; raises on enough. */
static void detect_connection_unstable_update(struct analyzer *a, void *state, const struct analyzer_update *u) {
        struct detect_connection_unstable_state *st = state;
        const struct analyzer_config *c = a->config;
        unsigned count = 0;
        int64_t oldest = u->t;
        struct finding f;

        if (u->what != ANALYZER_CONNECT || u->implicit)
                return;
        st->at[st->next] = u->t;
        st->next = (st->next + 1) % DETECT_CONNECTION_UNSTABLE_MAX;
        if (st->n < DETECT_CONNECTION_UNSTABLE_MAX)
                st->n++;
        for (unsigned i = 0; i < st->n; i++)
                if (st->at[i] > u->t - c->unstable_window_ms) {
                        count++;
                        if (st->at[i] < oldest)
                                oldest = st->at[i];
                }
        if (analyzer_is_open(a, FINDING_CONNECTION_UNSTABLE)) {
                analyzer_arm(a, FINDING_CONNECTION_UNSTABLE, u->t + c->unstable_window_ms);
                return;
        }
        if (count < c->unstable_connects)
                return;
        analyzer_finding_init(a, FINDING_CONNECTION_UNSTABLE, FINDING_WARNING, u->t, &f);
        (void) finding_add_evidence(&f, "connects", count);
        (void) finding_add_evidence(&f, "span_min", (double) (u->t - oldest) / ANALYZER_MINUTE_MS);
        (void) finding_add_evidence(&f, "window_min", (double) c->unstable_window_ms / ANALYZER_MINUTE_MS);
        analyzer_raise(a, &f);
        analyzer_arm(a, FINDING_CONNECTION_UNSTABLE, u->t + c->unstable_window_ms);
}

/* A quiet window: the connection is stable again. */
static void detect_connection_unstable_timer(struct analyzer *a, void *state, int64_t due) {
        analyzer_clear(a, FINDING_CONNECTION_UNSTABLE, due);
}

/* Whether a restored state holds only values its code is safe with (checkpoint.c). */
static bool detect_connection_unstable_valid(const void *state) {
        const struct detect_connection_unstable_state *st = state;

        return st->n <= DETECT_CONNECTION_UNSTABLE_MAX && st->next < DETECT_CONNECTION_UNSTABLE_MAX &&
               analyzer_times_ok(st->at, DETECT_CONNECTION_UNSTABLE_MAX);
}

const struct detector detect_connection_unstable = {
        .kind = FINDING_CONNECTION_UNSTABLE,
        .sees = ANALYZER_SEES_CONNECT,
        .state_size = sizeof(struct detect_connection_unstable_state),
        .state_valid = detect_connection_unstable_valid,
        .update = detect_connection_unstable_update,
        .timer = detect_connection_unstable_timer,
};
