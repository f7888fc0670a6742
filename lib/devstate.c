/* hpmon — device state as a fold over events (see devstate.h). */
#include "devstate.h"

/* An empty state: nothing known yet. */
void devstate_init(struct devstate *s) {
        *s = (struct devstate) {
                .connected = -1,
                .percentage = -1,
        };
}

/* Folds one event into the state (the owner's own events, ack and mute, change nothing here). Time is the event's own: a clock that went backwards
 * still moves last_change to the latest event, as the log's order is the truth. */
void devstate_apply(struct devstate *s, const struct hpevent *e) {
        switch (e->kind) {
        case EVENT_CONNECTED:
                s->connected = e->value;
                break;
        case EVENT_BATTERY:
                if (s->percentage > e->value)
                        s->discharged += s->percentage - e->value;
                s->percentage = e->value;
                break;
        default:
                return;
        }
        s->last_change_ms = e->time_ms;
        s->events++;
}

/* Folds a later report into one held back (a device over its rate), field by field: the
 * latest value of each wins, and a field the later report does not know keeps the held
 * one — a disconnect without a level (bluetoothd removes Battery1) must not lose the
 * level reported just before it. */
void devstate_report_merge(struct devstate_report *held, const struct devstate_report *later) {
        if (later->connected >= 0)
                held->connected = later->connected;
        if (later->percentage >= 0)
                held->percentage = later->percentage;
}

/* The events a report adds to the log, in log order: a connection first, then its level —
 * but a level that comes with a disconnect was the last one before it, so it goes first. A value equal to the last one logged is no change: a restarted daemon
 * or bluetoothd re-reading the same levels adds no lines. Values out of range are not
 * reported here (the decoder drops them), but are ignored all the same. */
size_t devstate_diff(const struct devstate *s, const struct devstate_report *r, int64_t now_ms,
                     struct hpevent ret[static 2]) {
        bool conn = (r->connected == 0 || r->connected == 1) && r->connected != s->connected;
        bool level = event_value_valid(EVENT_BATTERY, r->percentage) && r->percentage != s->percentage;
        size_t n = 0;

        if (conn && r->connected == 1)
                ret[n++] = (struct hpevent) { .time_ms = now_ms, .kind = EVENT_CONNECTED, .value = 1 };
        if (level)
                ret[n++] = (struct hpevent) { .time_ms = now_ms, .kind = EVENT_BATTERY, .value = r->percentage };
        if (conn && r->connected == 0)
                ret[n++] = (struct hpevent) { .time_ms = now_ms, .kind = EVENT_CONNECTED, .value = 0 };
        return n;
}
