/* hpmon — event kinds and the range of their values. */
#include <errno.h>
#include <string.h>

#include "event.h"

static const char *const event_kind_table[_EVENT_KIND_MAX] = {
        [EVENT_CONNECTED] = "connected",
        [EVENT_BATTERY] = "battery",
        [EVENT_ACK] = "ack",
        [EVENT_MUTE] = "mute",
        [EVENT_UNMUTE] = "unmute",
};

/* The charge log's name for a kind, or NULL for one out of range. */
const char *event_kind_to_string(enum event_kind k) {
        if (k < 0 || k >= _EVENT_KIND_MAX)
                return NULL;
        return event_kind_table[k];
}

/* Looks a kind up by its charge-log name; -EINVAL for a name this version does not know. */
enum event_kind event_kind_from_string(const char *s, size_t len) {
        for (int k = 0; k < _EVENT_KIND_MAX; k++)
                if (strlen(event_kind_table[k]) == len && memcmp(event_kind_table[k], s, len) == 0)
                        return (enum event_kind) k;
        return _EVENT_KIND_INVALID;
}

/* Whether a value is in range for its kind: the one check both the bus decoder and the log reader use. */
bool event_value_valid(enum event_kind k, long long value) {
        switch (k) {
        case EVENT_CONNECTED:
                return value == 0 || value == 1;
        case EVENT_BATTERY:
                return value >= 0 && value <= 100;
        case EVENT_ACK:
                return value >= 0 && value < EVENT_FINDING_KINDS;
        case EVENT_MUTE:
        case EVENT_UNMUTE:
                return value >= EVENT_ALL_KINDS && value < EVENT_FINDING_KINDS;
        default:
                return false;
        }
}
