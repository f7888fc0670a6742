/* Fuzz target: the children of an Introspect document (lib/introspect.c), which hpmond
 * reads from bluetoothd when it walks BlueZ's object tree.
 *
 * The input, NULs and all, is one document. introspect_children() must accept it or say
 * -EBADMSG, never read past its end (the buffer is exactly the input), report only path
 * elements ([A-Za-z0-9_]+, at most INTROSPECT_NAME_MAX bytes), as many as it returns, and give
 * the same answer with and without a callback. A callback's error must stop it at once. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "introspect.h"

struct fuzz_introspect {
        int calls, stop_at;
};

/* Checks one reported name; stops with -ENOBUFS at the stop_at'th call, if set. */
static int fuzz_introspect_child_cb(const char *name, void *userdata) {
        struct fuzz_introspect *f = userdata;
        size_t len = strnlen(name, INTROSPECT_NAME_MAX + 1);

        FUZZ_CHECK(len > 0 && len <= INTROSPECT_NAME_MAX);
        for (size_t i = 0; i < len; i++)
                FUZZ_CHECK((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= 'a' && name[i] <= 'z') ||
                           (name[i] >= '0' && name[i] <= '9') || name[i] == '_');
        f->calls++;
        if (f->stop_at > 0 && f->calls == f->stop_at)
                return -ENOBUFS;
        return 0;
}

/* Scans the input, checking what comes back. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct fuzz_introspect all = { 0 }, stopped = { .stop_at = 1 };
        unsigned n_invalid = 0xdead;
        int r, again;

        r = introspect_children((const char *) data, size, fuzz_introspect_child_cb, &all, &n_invalid);
        FUZZ_CHECK(r >= 0 || r == -EBADMSG);
        if (r < 0) {
                FUZZ_CHECK(all.calls == 0 && n_invalid == 0xdead);     /* all or nothing */
                FUZZ_CHECK(introspect_children((const char *) data, size, NULL, NULL, NULL) == r);
                return 0;
        }
        FUZZ_CHECK(all.calls == r);
        FUZZ_CHECK((size_t) r + n_invalid <= size / 7);                 /* each child takes "<node/>" or more */
        again = introspect_children((const char *) data, size, NULL, NULL, NULL);
        FUZZ_CHECK(again == r);
        again = introspect_children((const char *) data, size, fuzz_introspect_child_cb, &stopped, NULL);
        FUZZ_CHECK(r == 0 ? again == 0 && stopped.calls == 0 : again == -ENOBUFS && stopped.calls == 1);
        return 0;
}
