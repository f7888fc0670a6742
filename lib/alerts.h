/* hpmon — alerts: what the owner is told, made from the analyzer's findings.
 *
 * One table per device. A finding's episode becomes one alert: RAISED opens it (or, while
 * open, escalates it in place: same id, higher severity), CLEARED closes it and moves it
 * to the device's history — except battery-degraded: a worn battery does not get better,
 * so that alert stays raised. The owner's events from the log (ack, mute, unmute) apply
 * here too, so the alert table is a fold over the log like everything else: replaying a
 * log restores exactly the alerts, acknowledgements and mutes it had. Pure; never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "advice.h"
#include "event.h"
#include "finding.h"

/* Cleared alerts kept per device (the oldest go first). */
#define ALERTS_HISTORY_MAX 64
/* "AABBCCDDEEFF-not-holding-charge-1788220800123" plus NUL */
#define ALERTS_ID_MAX 64

struct alert {
        char id[ALERTS_ID_MAX];
        char address[ADDRESS_STRING_MAX];
        enum finding_kind kind;
        enum finding_severity severity;
        int64_t raised_ms;              /* Unix ms, the finding's time */
        int64_t cleared_ms;             /* Unix ms, 0 while active */
        bool acknowledged;
        unsigned n_evidence;
        struct finding_evidence evidence[FINDING_EVIDENCE_MAX];
        const struct advice *advice;
};

/* What applying a finding or an event did. */
enum alerts_change {
        ALERTS_UNCHANGED,
        ALERTS_RAISED,          /* a new alert */
        ALERTS_ESCALATED,       /* an open alert got a higher severity */
        ALERTS_UPDATED,         /* an open alert's evidence changed, nothing to announce */
        ALERTS_CLEARED,         /* an alert ended */
        ALERTS_ACKNOWLEDGED,
        ALERTS_MUTED,
        ALERTS_UNMUTED,
};

struct alerts {
        char address[ADDRESS_STRING_MAX];
        struct alert *open[_FINDING_KIND_MAX];  /* the open alert of each kind, NULL if none: allocated at
                                                 * the raise, freed at the clear (256 B each, not 2.5 KiB a
                                                 * device whether anything is open or not) */
        struct alert_past *history;     /* a ring of ALERTS_HISTORY_MAX cleared alerts, packed (alerts.c:
                                         * 96 bytes each, not a 256-byte struct alert); NULL until the
                                         * first clear */
        unsigned n_history, next_history;
        unsigned muted;                 /* a bit per kind */
};

void alerts_init(struct alerts *t, const char address[static ADDRESS_STRING_MAX]);
void alerts_done(struct alerts *t);
enum alerts_change alerts_apply_finding(struct alerts *t, const struct finding *f, struct alert *ret);
enum alerts_change alerts_apply_event(struct alerts *t, const struct hpevent *e);
bool alerts_muted(const struct alerts *t, enum finding_kind k);
bool alerts_visible(const struct alerts *t, enum finding_kind k);
const struct alert *alerts_get_open(const struct alerts *t, enum finding_kind k);
bool alerts_find(const struct alerts *t, const char *id, struct alert *ret);
bool alerts_history_get(const struct alerts *t, unsigned i, struct alert *ret);
int alerts_id_address(const char *id, char ret[static ADDRESS_STRING_MAX]);
