/* Fuzz target: restoring a checkpoint (lib/checkpoint.c), the one part of a charge log
 * that is not text.
 *
 * The input is a payload. Its FNV-1a hash is put right, so the fuzzer gets past the
 * damage check to what a hostile log could hold; it is then given to the reader as
 * base64, in lines, like "# checkpoint=" lines. A restore must either refuse it and leave
 * the analyzer as it was, or give an analyzer that takes events, advances, reports its
 * deadline and figures, and checkpoints again — without a crash or a sanitizer report.
 * The seed corpus holds real checkpoints (of simulated headsets, cut mid-log). */
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
        FUZZ_CHECK(f->n_evidence <= FINDING_EVIDENCE_MAX);
        FUZZ_CHECK(f->advice);
        for (unsigned i = 0; i < f->n_evidence; i++)
                FUZZ_CHECK(f->evidence[i].name && finding_evidence_name(f->evidence[i].name,
                                                                        strlen(f->evidence[i].name)));
        (void) alerts_apply_finding(userdata, f, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct checkpoint_reader rd = {};
        struct analyzer *a = NULL;
        struct devstate s;
        struct alerts t;
        unsigned char *payload;
        char *b64;
        size_t b64_size;
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        int r;

        if (size < 8 || size > 256 * 1024)
                return 0;
        payload = malloc(size);
        FUZZ_CHECK(payload);
        memcpy(payload, data, size);
        for (size_t i = 0; i < size - 8; i++)
                h = (h ^ payload[i]) * UINT64_C(0x100000001b3);
        memcpy(payload + size - 8, &h, 8);
        b64_size = (size + 2) / 3 * 4 + 1;
        b64 = malloc(b64_size);
        FUZZ_CHECK(b64);
        FUZZ_CHECK(b64_ntop(payload, size, b64, b64_size) >= 0);
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
                (void) analyzer_feed(a, &(struct event) { .time_ms = t0, .kind = EVENT_CONNECTED, .value = 1 });
                for (int i = 0; i < 60; i++)
                        (void) analyzer_feed(a, &(struct event) { .time_ms = t0 + 60000 * (i + 1), .kind = EVENT_BATTERY,
                                                                  .value = i < 40 ? 90 - 2 * i : 10 + 3 * (i - 40) });
                analyzer_advance(a, t0 + INT64_C(86400000) * 4);
                (void) analyzer_next_deadline(a);
                analyzer_get_figures(a, &fig);
                FUZZ_CHECK(checkpoint_encode(&s, a, &t, t0, &again, NULL) == 0);
                free(again);
        }
        analyzer_free(a);
        return 0;
}
