/* hpmon — the checkpoint of a device's fold (see checkpoint.h).
 *
 * Payload, in this build's byte order:
 *
 *   "HPCK", u32 version, u32 0x01020304, u32 sizeof(void *), i64 cut
 *   u32 size + struct devstate
 *   u32 size + struct analyzer, with every pointer, the config and the states' offsets zeroed
 *   per open episode: u8 have [+ u32 size + struct analyzer_open, name indices zeroed]
 *   per kind: u32 size + the detector's state (its embedded finding's pointers zeroed)
 *   u32 muted, then per kind: u8 open [+ struct alert, pointers zeroed]
 *   the evidence names of every finding above, in that order, as u8 length + text
 *   u64 FNV-1a of everything before
 *
 * The config is not saved: a restored analyzer keeps the thresholds it was made with. */
#include <errno.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#include "advice.h"
#include "analyzer-internal.h"
#include "array.h"
#include "checkpoint.h"

#define CHECKPOINT_MAGIC "HPCK"
#define CHECKPOINT_ORDER UINT32_C(0x01020304)
/* a payload is a few KiB; anything far bigger is not one of ours. Its lines must stay well
 * within the first 64 KiB of a log, where chargelog_open() looks for the header line. */
#define CHECKPOINT_PAYLOAD_MAX (32 * 1024)
_Static_assert(CHECKPOINT_PAYLOAD_MAX / 3 * 4 * (CHECKPOINT_LINE_CHARS + 14) / CHECKPOINT_LINE_CHARS + 1024 < 65536,
               "checkpoint lines must fit before chargelog_open()'s header scan ends");

/* A growing byte buffer (writing) or a cursor over one (reading). */
struct checkpoint_buf {
        unsigned char *data;
        size_t len, cap, pos;
        int error;
};

/* Appends bytes; remembers -ENOMEM instead of failing every caller. */
static void checkpoint_put(struct checkpoint_buf *b, const void *p, size_t n) {
        unsigned char *d;

        if (b->error)
                return;
        if (b->len + n > b->cap) {
                /* only when it must grow: nothing to put in an empty buffer allocates nothing */
                d = array_grow(b->data, 1, b->len + n, 8192, &b->cap);
                if (!d) {
                        b->error = -ENOMEM;
                        return;
                }
                b->data = d;
        }
        memcpy(b->data + b->len, p, n);
        b->len += n;
}

/* Appends a u32. */
static void checkpoint_put_u32(struct checkpoint_buf *b, uint32_t v) {
        checkpoint_put(b, &v, sizeof(v));
}

/* Appends a block: its size, then its bytes. */
static void checkpoint_put_block(struct checkpoint_buf *b, const void *p, size_t n) {
        checkpoint_put_u32(b, (uint32_t) n);
        checkpoint_put(b, p, n);
}

/* Takes bytes at the cursor; -EBADMSG past the end. */
static int checkpoint_get(struct checkpoint_buf *b, void *p, size_t n) {
        if (b->error)
                return b->error;
        if (n > b->len - b->pos)
                return (b->error = -EBADMSG);
        memcpy(p, b->data + b->pos, n);
        b->pos += n;
        return 0;
}

/* Takes a u32. */
static uint32_t checkpoint_get_u32(struct checkpoint_buf *b) {
        uint32_t v = 0;

        (void) checkpoint_get(b, &v, sizeof(v));
        return v;
}

/* Takes a block that must be exactly `n` bytes: another size is another layout. */
static int checkpoint_get_block(struct checkpoint_buf *b, void *p, size_t n) {
        uint32_t size = checkpoint_get_u32(b);

        if (b->error)
                return b->error;
        if (size != n)
                return (b->error = -EPROTONOSUPPORT);
        return checkpoint_get(b, p, n);
}

/* FNV-1a, 64 bits: catches a damaged line, not a forger (the log is no more trusted than
 * its directory; restore checks every index it will use anyway). */
static uint64_t checkpoint_hash(const unsigned char *p, size_t n) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * UINT64_C(0x100000001b3);
        return h;
}

/* A finding with its pointers (advice, evidence names) zeroed, for the payload. */
static void checkpoint_strip_finding(struct finding *f) {
        f->advice = NULL;
        for (unsigned i = 0; i < FINDING_EVIDENCE_MAX; i++)
                f->evidence[i].name = NULL;
}

/* Appends a finding's evidence names as text, in order. */
static void checkpoint_put_names(struct checkpoint_buf *b, const struct finding *f) {
        for (unsigned i = 0; i < f->n_evidence && i < FINDING_EVIDENCE_MAX; i++) {
                size_t n = strlen(f->evidence[i].name);
                unsigned char len = (unsigned char) (n > 255 ? 255 : n);

                checkpoint_put(b, &len, 1);
                checkpoint_put(b, f->evidence[i].name, len);
        }
}

/* Gives a restored finding back its pointers: names from the payload, advice by kind. */
static int checkpoint_get_names(struct checkpoint_buf *b, struct finding *f) {
        if (f->kind < 0 || f->kind >= _FINDING_KIND_MAX || f->n_evidence > FINDING_EVIDENCE_MAX)
                return (b->error = -EBADMSG);
        f->advice = advice_for(f->kind);
        for (unsigned i = 0; i < f->n_evidence; i++) {
                unsigned char len = 0;
                char name[256];

                if (checkpoint_get(b, &len, 1) < 0 || checkpoint_get(b, name, len) < 0)
                        return b->error;
                f->evidence[i].name = finding_evidence_name(name, len);
                if (!f->evidence[i].name)
                        return (b->error = -EPROTONOSUPPORT);   /* a name this build does not know */
        }
        return 0;
}

/* An analyzer copy without what is not its state: pointers, the config and what derives
 * from it (listeners), where the detectors' states lie (state_at: the restoring analyzer's
 * own are kept), and the rings' caches (memos: recomputed, the same, when asked). */
static void checkpoint_strip_analyzer(struct analyzer *a) {
        a->config = NULL;
        a->cb = NULL;
        a->userdata = NULL;
        memset(a->listeners, 0, sizeof(a->listeners));
        memset(a->state_at, 0, sizeof(a->state_at));
        for (struct analyzer_ring *ring = &a->charges; ring; ring = ring == &a->charges ? &a->drains : NULL) {
                ring->r = NULL;
                ring->cache_next = 0;
                memset(ring->cache, 0, sizeof(ring->cache));
        }
        a->opens = NULL;
        a->open_packed = 0;
}

/* Appends an open episode's evidence names as text, like a finding's. */
static void checkpoint_put_open_names(struct checkpoint_buf *b, const struct analyzer *a, enum finding_kind k) {
        struct finding f;

        analyzer_open_unpack(a, k, &f);
        checkpoint_put_names(b, &f);
}

/* Gives a restored open episode its evidence names back, as indices. */
static int checkpoint_get_open_names(struct checkpoint_buf *b, struct analyzer_open *o, enum finding_kind k) {
        struct finding f = { .kind = k, .n_evidence = o->n_evidence };
        double values[FINDING_EVIDENCE_MAX];
        int r;

        if ((r = checkpoint_get_names(b, &f)) < 0)
                return r;
        /* every name must be the table's: one left out would shift the values */
        if (finding_evidence_pack(f.evidence, f.n_evidence, o->name, values) != f.n_evidence)
                return (b->error = -EBADMSG);
        return 0;
}

/* Serialises the fold into a payload. */
static int checkpoint_pack(const struct devstate *s, const struct analyzer *a, const struct alerts *t, int64_t cut_ms,
                           struct checkpoint_buf *b) {
        struct analyzer *copy;
        uint64_t h;

        checkpoint_put(b, CHECKPOINT_MAGIC, 4);
        checkpoint_put_u32(b, CHECKPOINT_VERSION);
        checkpoint_put_u32(b, CHECKPOINT_ORDER);
        checkpoint_put_u32(b, (uint32_t) sizeof(void *));
        checkpoint_put(b, &cut_ms, sizeof(cut_ms));
        checkpoint_put_block(b, s, sizeof(*s));

        copy = malloc(sizeof(*copy));
        if (!copy)
                return -ENOMEM;
        *copy = *a;
        checkpoint_strip_analyzer(copy);
        checkpoint_put_block(b, copy, sizeof(*copy));
        free(copy);

        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                if (a->open[k]) {
                        const struct analyzer_open *found = analyzer_open_find(a, k);
                        unsigned char have = found != NULL;
                        struct analyzer_open o = {};

                        checkpoint_put(b, &have, 1);
                        if (!have)
                                continue;
                        o = *found;
                        memset(o.name, 0, sizeof(o.name));
                        checkpoint_put_block(b, &o, sizeof(o));
                }

        for (int k = 0; k < _FINDING_KIND_MAX; k++) {
                const struct detector *d = analyzer_detectors[k];
                unsigned char *state = malloc(d->state_size ? d->state_size : 1);

                if (!state)
                        return -ENOMEM;
                memcpy(state, analyzer_state(a, k), d->state_size);
                if (d->state_finding)
                        checkpoint_strip_finding(d->state_finding(state));
                checkpoint_put_block(b, state, d->state_size);
                free(state);
        }

        checkpoint_put_u32(b, t ? t->muted : 0);
        for (int k = 0; k < _FINDING_KIND_MAX; k++) {
                unsigned char open = t && t->open[k];
                struct alert al;

                checkpoint_put(b, &open, 1);
                if (!open)
                        continue;
                al = *t->open[k];
                al.advice = NULL;
                for (unsigned i = 0; i < FINDING_EVIDENCE_MAX; i++)
                        al.evidence[i].name = NULL;
                checkpoint_put_block(b, &al, sizeof(al));
        }

        /* the names, in the order restore meets the findings */
        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                if (a->open[k] && analyzer_open_find(a, k))
                        checkpoint_put_open_names(b, a, k);
        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                if (analyzer_detectors[k]->state_finding)
                        checkpoint_put_names(b, analyzer_detectors[k]->state_finding(analyzer_state(a, k)));
        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                if (t && t->open[k]) {
                        struct finding f = { .kind = k, .n_evidence = t->open[k]->n_evidence };

                        memcpy(f.evidence, t->open[k]->evidence, sizeof(f.evidence));
                        checkpoint_put_names(b, &f);
                }

        if (b->error)
                return b->error;
        if (b->len + sizeof(h) > CHECKPOINT_PAYLOAD_MAX)
                return -E2BIG;          /* readers would refuse it */
        h = checkpoint_hash(b->data, b->len);
        checkpoint_put(b, &h, sizeof(h));
        return b->error;
}

/* Writes the fold at `cut_ms` as "# checkpoint=" lines (each ending in '\n'), malloc'd. */
int checkpoint_encode(const struct devstate *s, const struct analyzer *a, const struct alerts *t, int64_t cut_ms,
                      char **ret_lines, size_t *ret_len) {
        struct checkpoint_buf b = {};
        static const char prefix[] = "# " CHECKPOINT_KEY "=";
        size_t b64_size, n = 0;
        char *b64 = NULL, *out = NULL;
        int r;

        if (!s || !a || !ret_lines)
                return -EINVAL;
        r = checkpoint_pack(s, a, t, cut_ms, &b);
        if (r < 0)
                goto finish;
        b64_size = (b.len + 2) / 3 * 4 + 1;
        b64 = malloc(b64_size);
        r = -ENOMEM;
        if (!b64)
                goto finish;
        if (b64_ntop(b.data, b.len, b64, b64_size) < 0) {
                r = -EINVAL;
                goto finish;
        }
        {
                size_t len = strlen(b64), lines = (len + CHECKPOINT_LINE_CHARS - 1) / CHECKPOINT_LINE_CHARS;

                out = malloc(len + lines * (sizeof(prefix) - 1 + 1) + 1);
                if (!out)
                        goto finish;
                for (size_t at = 0; at < len; at += CHECKPOINT_LINE_CHARS) {
                        size_t chunk = len - at < CHECKPOINT_LINE_CHARS ? len - at : CHECKPOINT_LINE_CHARS;

                        memcpy(out + n, prefix, sizeof(prefix) - 1);
                        n += sizeof(prefix) - 1;
                        memcpy(out + n, b64 + at, chunk);
                        n += chunk;
                        out[n++] = '\n';
                }
                out[n] = '\0';
        }
        *ret_lines = out;
        if (ret_len)
                *ret_len = n;
        out = NULL;
        r = 0;
finish:
        free(out);
        free(b64);
        free(b.data);
        return r;
}

/* Collects one checkpoint line's base64. */
int checkpoint_reader_add(struct checkpoint_reader *r, const char *value, size_t len) {
        char *n;

        if (r->len + len > CHECKPOINT_PAYLOAD_MAX * 4 / 3 + 4)
                return -E2BIG;
        n = array_grow(r->text, 1, r->len + len + 1, 4096, &r->cap);
        if (!n)
                return -ENOMEM;
        r->text = n;
        memcpy(r->text + r->len, value, len);
        r->len += len;
        r->text[r->len] = '\0';
        return 0;
}

/* Takes a log's "# key=value" comment if it is a checkpoint line: 1 taken, 0 not one,
 * <0 refused (-E2BIG past any payload of ours, -ENOMEM): said once, since the checkpoint's
 * further lines are then taken and dropped. */
int checkpoint_reader_meta(struct checkpoint_reader *r, const char *key, size_t key_len, const char *value,
                           size_t value_len) {
        int ret;

        if (key_len != strlen(CHECKPOINT_KEY) || memcmp(key, CHECKPOINT_KEY, key_len) != 0)
                return 0;
        if (r->refused)
                return 1;
        ret = checkpoint_reader_add(r, value, value_len);
        if (ret >= 0)
                return 1;
        free(r->text);
        *r = (struct checkpoint_reader) { .refused = true };
        return ret;
}

/* Whether lines were collected that no event has restored yet. */
bool checkpoint_reader_pending(const struct checkpoint_reader *r) {
        return r && r->len > 0;
}

/* Whether a ring's counters can be used: n ≤ cap, next < cap. */
static bool checkpoint_ring_ok(unsigned n, unsigned next, unsigned cap) {
        return n <= cap && next < cap;
}

/* Whether a restored ring's records are usable. */
static bool checkpoint_records_ok(const struct analyzer_record *r, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                if (!analyzer_time_ok(r[i].t_end) || !analyzer_real_ok(r[i].hours) || r[i].hours < 0 ||
                    r[i].points < 0 || r[i].points > 100)
                        return false;
        return true;
}

/* Whether a restored leg holds levels, times and reals the analyzer is safe with. */
static bool checkpoint_leg_ok(const struct analyzer_leg *L) {
        if (L->dir < -1 || L->dir > 1 || !analyzer_level_ok(L->origin) || !analyzer_level_ok(L->l_first) ||
            !analyzer_level_ok(L->l_last) || !analyzer_level_ok(L->l_cc_last) || !analyzer_time_ok(L->t_first) ||
            !analyzer_time_ok(L->t_last) || !analyzer_time_ok(L->t_cc_last) || !analyzer_real_or_nan_ok(L->pace_ms))
                return false;
        for (unsigned i = 0; i < ANALYZER_LEG_STEPS_MAX; i++)
                if (!analyzer_real_ok(L->cc_step_ms[i]))
                        return false;
        return true;
}

/* Whether a restored alert id is what alerts.c makes: printable ASCII, NUL-terminated
 * (it is published on the bus, where a string must be UTF-8). */
static bool checkpoint_id_ok(const char id[static ALERTS_ID_MAX]) {
        size_t n = strnlen(id, ALERTS_ID_MAX);

        if (n == 0 || n == ALERTS_ID_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (id[i] < 0x21 || id[i] > 0x7e)
                        return false;
        return true;
}

/* Whether a restored analyzer core holds only values its code is safe with: indices in
 * range, bools, levels, steps, times, finite reals, open findings of their own kind. */
static bool checkpoint_analyzer_ok(const struct analyzer *a) {
        if (a->charges.cap != ANALYZER_CHARGES_MAX || a->drains.cap != ANALYZER_DRAINS_MAX ||
            !checkpoint_ring_ok(a->charges.n, a->charges.next, a->charges.cap) ||
            !checkpoint_ring_ok(a->drains.n, a->drains.next, a->drains.cap) ||
            !checkpoint_ring_ok(a->n_deltas, a->next_delta, ANALYZER_DELTAS_MAX) ||
            a->n_early > ANALYZER_EARLY_MAX ||
            !analyzer_bool_ok(&a->started) || !analyzer_bool_ok(&a->have_last) ||
            !analyzer_bool_ok(&a->connect_logged) || !analyzer_bool_ok(&a->level_valid_time) ||
            !analyzer_bool_ok(&a->in_run))
                return false;
        if (!analyzer_time_ok(a->now) || !analyzer_time_ok(a->offset) || !analyzer_time_ok(a->connected_since) ||
            !analyzer_time_ok(a->disconnected_since) || !analyzer_time_ok(a->level_time) ||
            !analyzer_time_ok(a->pending_time) || !analyzer_time_ok(a->last_move) || !analyzer_time_ok(a->due_bound) ||
            !analyzer_time_ok(a->last.time_ms) || !event_value_valid(a->last.kind, a->last.value) ||
            a->connected < -1 || a->connected > 1 || !analyzer_level_ok(a->level) ||
            !analyzer_level_ok(a->filtered) || !analyzer_level_ok(a->pending) || !analyzer_level_ok(a->flicker) ||
            a->step < 1 || a->step > 100 || !checkpoint_leg_ok(&a->leg) ||
            !analyzer_real_ok(a->early_points) || !analyzer_real_ok(a->early_hours) ||
            !analyzer_real_or_nan_ok(a->gap_charge_bound))
                return false;
        for (unsigned i = 0; i < ANALYZER_DELTAS_MAX; i++)
                if (a->deltas[i] < 0 || a->deltas[i] > 20)     /* what analyzer_learn_step() keeps, or 0 */
                        return false;
        if (!checkpoint_records_ok(a->charge_buf, ANALYZER_CHARGES_MAX) ||
            !checkpoint_records_ok(a->drain_buf, ANALYZER_DRAINS_MAX))
                return false;
        for (int k = 0; k < _FINDING_KIND_MAX; k++) {
                if (!analyzer_bool_ok(&a->open[k]) || !analyzer_time_ok(a->due[k]))
                        return false;
                if (!a->started && a->due[k] != ANALYZER_NEVER)
                        return false;   /* a timer in an analyzer that never started would never fire */
                if (a->open[k] && a->open_severity[k] >= _FINDING_SEVERITY_MAX)
                        return false;
        }
        return true;
}

/* Decodes the payload into fresh copies, checks them, and only then replaces the caller's
 * objects: a refused checkpoint leaves them as they were. */
static int checkpoint_unpack(struct checkpoint_buf *b, struct devstate *s, struct analyzer *a, struct alerts *t,
                             int64_t *ret_cut_ms) {
        struct analyzer *copy = NULL;
        struct analyzer_open opens[_FINDING_KIND_MAX];
        bool have_open[_FINDING_KIND_MAX] = {};
        struct analyzer_open *made_opens = NULL;
        uint16_t packed = 0;
        unsigned n_opens = 0;
        void *states[_FINDING_KIND_MAX] = {};
        struct devstate ds;
        struct alert open[_FINDING_KIND_MAX];
        bool is_open[_FINDING_KIND_MAX] = {};
        struct alert *made[_FINDING_KIND_MAX] = {};
        uint32_t muted;
        uint64_t h, want;
        int64_t cut = 0;
        char magic[4];
        int r;

        if (b->len < sizeof(h) + 4)
                return -EBADMSG;
        memcpy(&want, b->data + b->len - sizeof(want), sizeof(want));
        h = checkpoint_hash(b->data, b->len - sizeof(want));
        if (memcmp(b->data, CHECKPOINT_MAGIC, 4) != 0 || h != want)
                return -EBADMSG;
        b->len -= sizeof(want);

        (void) checkpoint_get(b, magic, 4);
        if (checkpoint_get_u32(b) != CHECKPOINT_VERSION || checkpoint_get_u32(b) != CHECKPOINT_ORDER ||
            checkpoint_get_u32(b) != sizeof(void *))
                return b->error ? b->error : -EPROTONOSUPPORT;
        (void) checkpoint_get(b, &cut, sizeof(cut));
        (void) checkpoint_get_block(b, &ds, sizeof(ds));
        if (!b->error && (ds.connected < -1 || ds.connected > 1 || !analyzer_level_ok(ds.percentage) ||
                          !analyzer_time_ok(ds.last_change_ms) || ds.discharged < 0 ||
                          ds.discharged > ANALYZER_TIME_BOUND))
                return -EBADMSG;

        r = -ENOMEM;
        copy = malloc(sizeof(*copy));
        if (!copy)
                goto finish;
        if ((r = checkpoint_get_block(b, copy, sizeof(*copy))) < 0)
                goto finish;
        /* what a writer strips is stripped again, whatever the payload holds there: the rings'
         * caches are memos (a forged one could index out of its array), and due_bound is a
         * lower bound of due[] that 0 always satisfies */
        checkpoint_strip_analyzer(copy);
        copy->due_bound = 0;
        r = -EBADMSG;
        if (!checkpoint_analyzer_ok(copy))
                goto finish;
        for (int k = 0; k < _FINDING_KIND_MAX; k++) {
                unsigned char have = 0;

                if (!copy->open[k])
                        continue;
                if ((r = checkpoint_get(b, &have, 1)) < 0)
                        goto finish;
                have_open[k] = have;
                if (have && (r = checkpoint_get_block(b, &opens[k], sizeof(opens[k]))) < 0)
                        goto finish;
                r = -EBADMSG;
                if (have > 1 || (have && !analyzer_open_ok(&opens[k])))
                        goto finish;
        }
        for (int k = 0; k < _FINDING_KIND_MAX; k++) {
                const struct detector *d = analyzer_detectors[k];

                r = -ENOMEM;
                states[k] = calloc(1, d->state_size ? d->state_size : 1);
                if (!states[k])
                        goto finish;
                if ((r = checkpoint_get_block(b, states[k], d->state_size)) < 0)
                        goto finish;
                r = -EBADMSG;
                if (d->state_valid && !d->state_valid(states[k]))
                        goto finish;
        }

        muted = checkpoint_get_u32(b);
        for (int k = 0; k < _FINDING_KIND_MAX; k++) {
                unsigned char o = 0;

                if ((r = checkpoint_get(b, &o, 1)) < 0)
                        goto finish;
                is_open[k] = o;
                if (o && (r = checkpoint_get_block(b, &open[k], sizeof(open[k]))) < 0)
                        goto finish;
                if (o && (o != 1 || open[k].kind != k || open[k].n_evidence > FINDING_EVIDENCE_MAX ||
                          open[k].severity < 0 || open[k].severity >= _FINDING_SEVERITY_MAX ||
                          !analyzer_bool_ok(&open[k].acknowledged) || !analyzer_time_ok(open[k].raised_ms) ||
                          !analyzer_time_ok(open[k].cleared_ms) || !checkpoint_id_ok(open[k].id))) {
                        r = -EBADMSG;
                        goto finish;
                }
        }

        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                if (have_open[k] && (r = checkpoint_get_open_names(b, &opens[k], k)) < 0)
                        goto finish;
        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                if (analyzer_detectors[k]->state_finding) {
                        struct finding *f = analyzer_detectors[k]->state_finding(states[k]);

                        if ((r = checkpoint_get_names(b, f)) < 0)
                                goto finish;
                        memcpy(f->device, a->device, sizeof(f->device));
                }
        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                if (is_open[k]) {
                        struct finding f = { .kind = k, .n_evidence = open[k].n_evidence };

                        memcpy(f.evidence, open[k].evidence, sizeof(f.evidence));
                        if ((r = checkpoint_get_names(b, &f)) < 0)
                                goto finish;
                        memcpy(open[k].evidence, f.evidence, sizeof(f.evidence));
                        open[k].advice = f.advice;
                        if (t)
                                memcpy(open[k].address, t->address, sizeof(open[k].address));
                }
        r = -EBADMSG;
        if (b->pos != b->len)
                goto finish;

        if (t)
                for (int k = 0; k < _FINDING_KIND_MAX; k++)
                        if (is_open[k] && !(made[k] = malloc(sizeof(*made[k])))) {
                                r = -ENOMEM;
                                goto finish;
                        }
        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                if (have_open[k]) {
                        packed |= (uint16_t) (1u << k);
                        n_opens++;
                }
        if (n_opens > 0 && !(made_opens = malloc(n_opens * sizeof(*made_opens)))) {
                r = -ENOMEM;
                goto finish;
        }
        for (int k = 0, i = 0; k < _FINDING_KIND_MAX; k++)
                if (have_open[k])
                        made_opens[i++] = opens[k];     /* in kind order, as analyzer_open_find() wants */

        /* all good: the caller's objects take the restored state, keeping their own
         * config, device, callback and allocations */
        copy->config = a->config;
        memcpy(copy->device, a->device, sizeof(copy->device));
        copy->cb = a->cb;
        copy->userdata = a->userdata;
        memcpy(copy->listeners, a->listeners, sizeof(copy->listeners));
        copy->charges.r = a->charge_buf;
        copy->drains.r = a->drain_buf;
        memcpy(copy->state_at, a->state_at, sizeof(copy->state_at));
        for (int k = 0; k < _FINDING_KIND_MAX; k++)
                memcpy(analyzer_state(a, k), states[k], analyzer_detectors[k]->state_size);
        free(a->opens);
        copy->opens = made_opens;
        copy->open_packed = packed;
        made_opens = NULL;
        *a = *copy;
        a->charges.r = a->charge_buf;
        a->drains.r = a->drain_buf;
        if (s)
                *s = ds;
        if (t) {
                t->muted = muted;
                for (int k = 0; k < _FINDING_KIND_MAX; k++) {
                        free(t->open[k]);
                        t->open[k] = made[k];
                        if (made[k])
                                *made[k] = open[k];
                        made[k] = NULL;
                }
        }
        if (ret_cut_ms)
                *ret_cut_ms = cut;
        r = 0;
finish:
        for (int k = 0; k < _FINDING_KIND_MAX; k++) {
                free(states[k]);
                free(made[k]);
        }
        free(made_opens);
        free(copy);
        return r;
}

/* Restores the collected checkpoint into the fold (any of s, t may be NULL) and forgets
 * the lines. -EBADMSG: damaged; -EPROTONOSUPPORT: written by a build of another layout. */
int checkpoint_reader_restore(struct checkpoint_reader *r, struct devstate *s, struct analyzer *a,
                              struct alerts *t, int64_t *ret_cut_ms) {
        struct checkpoint_buf b = {};
        int n, ret;

        if (!r || !a)
                return -EINVAL;
        if (r->len == 0)
                return -ENODATA;
        b.cap = r->len / 4 * 3 + 3;
        b.data = malloc(b.cap);
        if (!b.data)
                return -ENOMEM;
        n = b64_pton(r->text, b.data, b.cap);
        r->len = 0;
        if (n < 0)
                ret = -EBADMSG;
        else {
                b.len = (size_t) n;
                ret = checkpoint_unpack(&b, s, a, t, ret_cut_ms);
        }
        free(b.data);
        return ret;
}

/* Frees what the reader collected. */
void checkpoint_reader_done(struct checkpoint_reader *r) {
        if (!r)
                return;
        free(r->text);
        *r = (struct checkpoint_reader) {};
}
