/* Fuzz target: restoring a checkpoint (lib/checkpoint.c), the one part of a charge log
 * that is not text.
 *
 * The input patches a real checkpoint made in process (or, after an 'R', is a whole
 * payload). The FNV-1a hash is put right, so the fuzzer gets past the damage check to
 * what a hostile log could hold; it is then given to the reader as base64, in lines,
 * like "# checkpoint=" lines. A restore must either refuse it and leave
 * the analyzer as it was, or give an analyzer that takes events, advances, reports its
 * deadline and figures, and checkpoints again — without a crash or a sanitizer report.
 * The seed corpus holds a few patches and whole payloads. */
#include <errno.h>
#include <resolv.h>
#include <stdbool.h>
#include <string.h>

#include "alerts.h"
#include "analyzer.h"
#include "checkpoint.h"
#include "devstate.h"
#include "fuzz.h"

/* Findings of a restored analyzer: they must be well formed. */
static void fuzz_checkpoint_finding_cb(const struct finding *f, void *userdata) {
        FUZZ_CHECK(f->kind >= 0 && f->kind < _FINDING_KIND_MAX);
        FUZZ_CHECK(finding_state_to_string(f->state) && finding_severity_to_string(f->severity));
        FUZZ_CHECK(f->n_evidence <= FINDING_EVIDENCE_MAX);
        FUZZ_CHECK(f->advice);
        for (unsigned i = 0; i < f->n_evidence; i++)
                FUZZ_CHECK(f->evidence[i].name && finding_evidence_name(f->evidence[i].name,
                                                                        strlen(f->evidence[i].name)));
        (void) alerts_apply_finding(userdata, f, NULL);
}

/* The base payload: a real checkpoint of a headset with history and open episodes, made
 * once per process (a corpus of payloads would go stale whenever a state struct changes). */
static unsigned char *fuzz_checkpoint_base(size_t *ret_size) {
        static unsigned char *base;
        static size_t size;
        struct analyzer *a = NULL;
        struct devstate s;
        struct alerts t;
        char *text = NULL, *b64;
        size_t n = 0;

        if (base) {
                *ret_size = size;
                return base;
        }
        devstate_init(&s);
        alerts_init(&t, "AA:BB:CC:DD:EE:FF");
        FUZZ_CHECK(analyzer_new(NULL, "AA:BB:CC:DD:EE:FF", fuzz_checkpoint_finding_cb, &t, &a) == 0);
        for (int day = 0, level = 100; day < 40; day++) {
                int64_t t0 = INT64_C(1788220800000) + INT64_C(86400000) * day;
                struct hpevent e = { .time_ms = t0, .kind = EVENT_CONNECTED, .value = 1 };

                devstate_apply(&s, &e);
                (void) analyzer_feed(a, &e);
                for (int i = 0; i < 60 && level > 4; i++) {     /* a use that drains faster each day */
                        e = (struct hpevent) { .time_ms = t0 + 60000 * (i + 1) * (40 - day / 2), .kind = EVENT_BATTERY,
                                             .value = level -= 1 + day / 20 };
                        devstate_apply(&s, &e);
                        (void) analyzer_feed(a, &e);
                }
                for (int i = 0; i < 40 && level < 100; i++) {   /* a charge that stalls at 60 now and then */
                        if (day % 7 == 3 && level >= 60)
                                break;
                        e = (struct hpevent) { .time_ms = t0 + INT64_C(43200000) + 90000 * i, .kind = EVENT_BATTERY,
                                             .value = level = level + 3 > 100 ? 100 : level + 3 };
                        devstate_apply(&s, &e);
                        (void) analyzer_feed(a, &e);
                }
        }
        analyzer_advance(a, INT64_C(1788220800000) + INT64_C(86400000) * 41);
        FUZZ_CHECK(checkpoint_encode(&s, a, &t, 1, &text, NULL) == 0);
        b64 = malloc(strlen(text) + 1);
        FUZZ_CHECK(b64);
        for (char *l = text, *nl; (nl = strchr(l, '\n')); l = nl + 1) {
                memcpy(b64 + n, l + 13, (size_t) (nl - l - 13));
                n += (size_t) (nl - l - 13);
        }
        b64[n] = '\0';
        base = malloc(n);
        FUZZ_CHECK(base);
        size = (size_t) b64_pton(b64, base, n);
        free(b64);
        free(text);
        alerts_done(&t);
        analyzer_free(a);
        *ret_size = size;
        return base;
}

/* The input: a first byte 'R' makes the rest the whole payload; anything else is a list
 * of patches to the base payload, three bytes each (a 16-bit offset into it, a byte). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct checkpoint_reader rd = {};
        struct analyzer *a = NULL;
        struct devstate s;
        struct alerts t;
        unsigned char *payload;
        size_t n;
        char *b64;
        size_t b64_size;
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        int r;

        if (size > 256 * 1024)
                return 0;
        if (size > 0 && data[0] == 'R') {
                n = size - 1;
                if (n < 8)
                        return 0;
                payload = malloc(n);
                FUZZ_CHECK(payload);
                memcpy(payload, data + 1, n);
        } else {
                const unsigned char *base = fuzz_checkpoint_base(&n);

                payload = malloc(n);
                FUZZ_CHECK(payload);
                memcpy(payload, base, n);
                for (size_t i = 0; i + 3 <= size; i += 3)
                        payload[((size_t) data[i] | (size_t) data[i + 1] << 8) % (n - 8)] = data[i + 2];
        }
        for (size_t i = 0; i < n - 8; i++)
                h = (h ^ payload[i]) * UINT64_C(0x100000001b3);
        memcpy(payload + n - 8, &h, 8);
        b64_size = (n + 2) / 3 * 4 + 1;
        b64 = malloc(b64_size);
        FUZZ_CHECK(b64);
        FUZZ_CHECK(b64_ntop(payload, n, b64, b64_size) >= 0);
        for (size_t at = 0, len = strlen(b64); at < len; at += CHECKPOINT_LINE_CHARS)
                FUZZ_CHECK(checkpoint_reader_add(&rd, b64 + at, len - at < CHECKPOINT_LINE_CHARS ? len - at
                                                                                                 : CHECKPOINT_LINE_CHARS) == 0);
        free(b64);
        free(payload);

        devstate_init(&s);
        alerts_init(&t, "AA:BB:CC:DD:EE:FF");
        FUZZ_CHECK(analyzer_new(NULL, "AA:BB:CC:DD:EE:FF", fuzz_checkpoint_finding_cb, &t, &a) == 0);
        r = checkpoint_reader_restore(&rd, &s, a, &t, NULL);
        FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EPROTONOSUPPORT);
        checkpoint_reader_done(&rd);
        if (r == 0) {
                struct analyzer_figures fig;
                int64_t t0 = s.last_change_ms > 0 && s.last_change_ms < INT64_C(4102444800000) ? s.last_change_ms
                                                                                             : INT64_C(1788220800000);
                char *again = NULL;

                /* a day of use and a charge, then time passing */
                (void) analyzer_feed(a, &(struct hpevent) { .time_ms = t0, .kind = EVENT_CONNECTED, .value = 1 });
                for (int i = 0; i < 60; i++)
                        (void) analyzer_feed(a, &(struct hpevent) { .time_ms = t0 + 60000 * (i + 1), .kind = EVENT_BATTERY,
                                                                  .value = i < 40 ? 90 - 2 * i : 10 + 3 * (i - 40) });
                analyzer_advance(a, t0 + INT64_C(86400000) * 4);
                (void) analyzer_next_deadline(a);
                analyzer_get_figures(a, &fig);
                FUZZ_CHECK(checkpoint_encode(&s, a, &t, t0, &again, NULL) == 0);
                free(again);
        }
        alerts_done(&t);
        analyzer_free(a);
        return 0;
}
