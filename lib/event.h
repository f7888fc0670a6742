/* hpmon — the one event type shared by the charge log, the daemon and the analyzer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What happened to a device. The charge log spells these as in event_kind_to_string(). */
enum event_kind {
        EVENT_CONNECTED,        /* value 0 or 1 */
        EVENT_BATTERY,          /* value 0..100, the reported percentage */
        /* The owner's own events: not battery data; the analyzer skips them. A finding
         * kind is its index in DESIGN.md's table (0 charge-stall … 9 deep-discharge-risk). */
        EVENT_ACK,              /* value: the kind whose open alert was acknowledged */
        EVENT_MUTE,             /* value: a kind, or EVENT_ALL_KINDS */
        EVENT_UNMUTE,           /* value: a kind, or EVENT_ALL_KINDS */
        _EVENT_KIND_MAX,
        _EVENT_KIND_INVALID = -22, /* -EINVAL */
};

/* How many finding kinds an ack/mute value may name, and the value meaning all of them. */
#define EVENT_FINDING_KINDS 10
#define EVENT_ALL_KINDS (-1)

/* One change, as written to disk and as fed to the analyzer: the same struct, in the same order.
 * Named hpevent, not event: libevent's opaque `struct event` is hpmond's timer type. */
struct hpevent {
        int64_t time_ms;        /* Unix time in milliseconds (CLOCK_REALTIME) */
        enum event_kind kind;
        int value;
};

const char *event_kind_to_string(enum event_kind k);
enum event_kind event_kind_from_string(const char *s, size_t len);
bool event_value_valid(enum event_kind k, long long value);
