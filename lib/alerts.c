/* hpmon — the alert table of one device (see alerts.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advice.h"
#include "alerts.h"

/* A cleared alert as the history keeps it: what a struct alert holds, less what the table
 * or the kind gives back — the address and the id (alerts_make_id() makes it again from
 * the address, kind and raise time), the advice (advice_for(kind)) — with its evidence
 * names as indices into finding.c's table. A year of use clears an alert most days, so
 * every device fills its ring: 6 KiB a device, not 16. */
struct alert_past {
        int64_t raised_ms;
        int64_t cleared_ms;
        uint8_t kind;
        uint8_t severity;
        uint8_t n_evidence;
        bool acknowledged;
        uint8_t name[FINDING_EVIDENCE_MAX];
        double value[FINDING_EVIDENCE_MAX];
};
_Static_assert(sizeof(struct alert_past) == 96, "a history entry stays small");

_Static_assert(_FINDING_KIND_MAX == EVENT_FINDING_KINDS, "ack/mute log values name finding kinds by index");

/* An empty table: nothing open, nothing muted. Overwrites without freeing (alerts_done() frees). */
void alerts_init(struct alerts *t, const char address[static ADDRESS_STRING_MAX]) {
        memset(t, 0, sizeof(*t));
        memcpy(t->address, address, ADDRESS_STRING_MAX);
}

/* Frees what the table holds (its open alerts and its history): it is then empty, as after
 * alerts_init(); accepts NULL. */
void alerts_done(struct alerts *t) {
        if (!t)
                return;
        for (int k = 0; k < _FINDING_KIND_MAX; k++) {
                free(t->open[k]);
                t->open[k] = NULL;
        }
        free(t->history);
        t->history = NULL;
        t->n_history = t->next_history = 0;
}

/* A stable id: the device, the kind and the raise time in ms. A daemon that replays the
 * same log raises the same alert at the same time, so ids survive restarts. */
static void alerts_make_id(const struct alerts *t, enum finding_kind k, int64_t raised_ms, char ret[static ALERTS_ID_MAX]) {
        char compact[13];
        size_t n = 0;

        for (const char *p = t->address; *p && n < sizeof(compact) - 1; p++)
                if (*p != ':')
                        compact[n++] = *p;
        compact[n] = '\0';
        snprintf(ret, ALERTS_ID_MAX, "%s-%s-%" PRId64, compact, finding_kind_to_string(k), raised_ms);
}

/* Copies a finding's severity, evidence and advice into an alert. */
static void alerts_copy_finding(struct alert *a, const struct finding *f) {
        a->severity = f->severity;
        a->n_evidence = f->n_evidence;
        memcpy(a->evidence, f->evidence, sizeof(a->evidence));
        a->advice = f->advice;
}

/* Packs a cleared alert for the history (evidence as finding_evidence_pack() keeps it). */
static void alerts_pack(const struct alert *a, struct alert_past *ret) {
        *ret = (struct alert_past) {
                .raised_ms = a->raised_ms,
                .cleared_ms = a->cleared_ms,
                .kind = (uint8_t) a->kind,
                .severity = (uint8_t) a->severity,
                .acknowledged = a->acknowledged,
        };
        ret->n_evidence = (uint8_t) finding_evidence_pack(a->evidence, a->n_evidence, ret->name, ret->value);
}

/* The alert a history entry was packed from. */
static void alerts_unpack(const struct alerts *t, const struct alert_past *p, struct alert *ret) {
        *ret = (struct alert) {
                .kind = (enum finding_kind) p->kind,
                .severity = (enum finding_severity) p->severity,
                .raised_ms = p->raised_ms,
                .cleared_ms = p->cleared_ms,
                .acknowledged = p->acknowledged,
                .n_evidence = p->n_evidence,
                .advice = advice_for((enum finding_kind) p->kind),
        };
        memcpy(ret->address, t->address, ADDRESS_STRING_MAX);
        alerts_make_id(t, ret->kind, p->raised_ms, ret->id);
        finding_evidence_unpack(p->name, p->value, p->n_evidence, ret->evidence);
}

/* Applies one edge of an episode. *ret gets the alert it concerns (for RAISED, ESCALATED,
 * UPDATED and CLEARED). */
enum alerts_change alerts_apply_finding(struct alerts *t, const struct finding *f, struct alert *ret) {
        struct alert *a;

        if (f->kind < 0 || f->kind >= _FINDING_KIND_MAX)
                return ALERTS_UNCHANGED;
        a = t->open[f->kind];

        if (f->state == FINDING_RAISED) {
                enum alerts_change change;

                if (!a) {
                        a = calloc(1, sizeof(*a));
                        if (!a)
                                return ALERTS_UNCHANGED;        /* no memory: the episode goes unannounced */
                        memcpy(a->address, t->address, ADDRESS_STRING_MAX);
                        a->kind = f->kind;
                        a->raised_ms = f->time_ms;
                        alerts_make_id(t, f->kind, f->time_ms, a->id);
                        t->open[f->kind] = a;
                        change = ALERTS_RAISED;
                } else if (f->severity > a->severity) {
                        /* worse news: the owner must hear it again, even if they acknowledged */
                        a->acknowledged = false;
                        change = ALERTS_ESCALATED;
                } else
                        change = ALERTS_UPDATED;
                if (change != ALERTS_UPDATED || f->severity == a->severity)
                        alerts_copy_finding(a, f);
                if (ret)
                        *ret = *a;
                return change;
        }

        if (!a || f->kind == FINDING_BATTERY_DEGRADED)
                return ALERTS_UNCHANGED;        /* a worn battery stays worn */
        a->cleared_ms = f->time_ms > a->raised_ms ? f->time_ms : a->raised_ms;
        t->open[f->kind] = NULL;
        if (!t->history)
                t->history = calloc(ALERTS_HISTORY_MAX, sizeof(*t->history));
        if (t->history) {
                /* without memory for it, the past is forgotten: the alert still ends */
                alerts_pack(a, &t->history[t->next_history]);
                t->next_history = (t->next_history + 1) % ALERTS_HISTORY_MAX;
                if (t->n_history < ALERTS_HISTORY_MAX)
                        t->n_history++;
        }
        if (ret)
                *ret = *a;
        free(a);
        return ALERTS_CLEARED;
}

/* Applies one of the owner's events: ack (the open alert of a kind), mute or unmute
 * (a kind, or all). Data events change nothing here. */
enum alerts_change alerts_apply_event(struct alerts *t, const struct hpevent *e) {
        unsigned bits, before = t->muted;

        if (!event_value_valid(e->kind, e->value))
                return ALERTS_UNCHANGED;
        switch (e->kind) {
        case EVENT_ACK:
                if (!t->open[e->value] || t->open[e->value]->acknowledged)
                        return ALERTS_UNCHANGED;
                t->open[e->value]->acknowledged = true;
                return ALERTS_ACKNOWLEDGED;
        case EVENT_MUTE:
        case EVENT_UNMUTE:
                bits = e->value == EVENT_ALL_KINDS ? (1u << _FINDING_KIND_MAX) - 1 : 1u << e->value;
                if (e->kind == EVENT_MUTE)
                        t->muted |= bits;
                else
                        t->muted &= ~bits;
                if (t->muted == before)
                        return ALERTS_UNCHANGED;
                return e->kind == EVENT_MUTE ? ALERTS_MUTED : ALERTS_UNMUTED;
        default:
                return ALERTS_UNCHANGED;
        }
}

/* Whether the owner muted this kind on this device. */
bool alerts_muted(const struct alerts *t, enum finding_kind k) {
        return k >= 0 && k < _FINDING_KIND_MAX && (t->muted & (1u << k));
}

/* Whether a kind has an open alert the owner should see (open and not muted). */
bool alerts_visible(const struct alerts *t, enum finding_kind k) {
        return k >= 0 && k < _FINDING_KIND_MAX && t->open[k] && !alerts_muted(t, k);
}

/* The open alert of a kind, NULL if none is open. */
const struct alert *alerts_get_open(const struct alerts *t, enum finding_kind k) {
        return k >= 0 && k < _FINDING_KIND_MAX ? t->open[k] : NULL;
}

/* The i-th cleared alert, oldest first, into *ret (may be NULL); false past the last. */
bool alerts_history_get(const struct alerts *t, unsigned i, struct alert *ret) {
        if (i >= t->n_history)
                return false;
        if (ret)
                alerts_unpack(t, &t->history[(t->next_history + ALERTS_HISTORY_MAX - t->n_history + i) %
                                             ALERTS_HISTORY_MAX], ret);
        return true;
}

/* An open or cleared alert by id, into *ret (may be NULL); false if there is none. */
bool alerts_find(const struct alerts *t, const char *id, struct alert *ret) {
        struct alert a;

        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                if (t->open[k] && strcmp(t->open[k]->id, id) == 0) {
                        if (ret)
                                *ret = *t->open[k];
                        return true;
                }
        for (unsigned i = 0; i < t->n_history; i++) {
                (void) alerts_history_get(t, i, &a);
                if (strcmp(a.id, id) == 0) {
                        if (ret)
                                *ret = a;
                        return true;
                }
        }
        return false;
}

/* The device address an alert id starts with. */
int alerts_id_address(const char *id, char ret[static ADDRESS_STRING_MAX]) {
        char buf[ADDRESS_STRING_MAX];

        if (!id || strlen(id) < 13 || id[12] != '-')
                return -EINVAL;
        for (int i = 0, j = 0; i < 6; i++) {
                buf[j++] = id[2 * i];
                buf[j++] = id[2 * i + 1];
                buf[j++] = i < 5 ? ':' : '\0';
        }
        return address_normalize(buf, ret);
}
