/* Fuzz target: the charge log reader (lib/chargelog.c).
 *
 * The input is a log file. It goes through the parser in ways that must agree: the whole
 * buffer at once, the same bytes in pieces whose sizes come from the input (as a reader
 * carries a partial line over), chargelog_read_fd() on a memfd, and once more each (parser
 * and reader) with only an event callback, which stops them half-way. Every event must be in
 * range and must format and parse back to itself; every callback argument must be what
 * chargelog.h says.
 *
 * An input "\xffR" n head "\xff" unit "\xff" tail (n three bytes, big-endian; without the
 * separators it is all unit, with one there is no tail) stands for head + n × unit + tail,
 * up to FUZZ_CHARGELOG_HUGE_MAX bytes (and n ≤ 64 for a unit with a '\n'): that is how a
 * small file in the corpus reaches the reader's over-long-line path (a line longer than its
 * 1 MiB buffer). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chargelog.h"
#include "fuzz.h"

/* just past the reader's 1 MiB buffer: more only makes each run slower */
#define FUZZ_CHARGELOG_HUGE_MAX ((1u << 20) + (64u << 10))

/* What one parse reported through the handler. */
struct fuzz_chargelog_run {
        const struct chargelog_parser *parser;  /* to read the line an event is on */
        struct hpevent *events;
        unsigned *event_lines;
        size_t n_events, cap;
        size_t stop_after;                      /* stop with -ECANCELED at this many events, 0 never */
        uint64_t problems, meta;
        unsigned last_problem_line;
};

/* Event callback: keeps the event and its line; stops when asked to. */
static int fuzz_chargelog_event_cb(void *userdata, const struct hpevent *e) {
        struct fuzz_chargelog_run *run = userdata;

        FUZZ_CHECK(event_value_valid(e->kind, e->value));
        FUZZ_CHECK(e->time_ms >= 0 && e->time_ms < INT64_C(1000000000000000));
        if (run->n_events == run->cap) {
                size_t cap = run->cap ? run->cap * 2 : 64;
                struct hpevent *ev = realloc(run->events, cap * sizeof(*ev));
                unsigned *lines;

                FUZZ_CHECK(ev);
                run->events = ev;
                lines = realloc(run->event_lines, cap * sizeof(*lines));
                FUZZ_CHECK(lines);
                run->event_lines = lines;
                run->cap = cap;
        }
        run->events[run->n_events] = *e;
        run->event_lines[run->n_events] = run->parser ? run->parser->line : 0;
        run->n_events++;
        if (run->stop_after > 0 && run->n_events == run->stop_after)
                return -ECANCELED;
        return 0;
}

/* Meta callback: the key is what the parser promises, and both strings are readable. */
static void fuzz_chargelog_meta_cb(void *userdata, const char *key, size_t key_len, const char *value, size_t value_len) {
        struct fuzz_chargelog_run *run = userdata;

        FUZZ_CHECK(key_len > 0);
        for (size_t i = 0; i < key_len; i++)
                FUZZ_CHECK((key[i] >= 'a' && key[i] <= 'z') || key[i] == '-' || key[i] == '_');
        FUZZ_CHECK(!memchr(value, '\n', value_len));
        run->meta++;
}

/* Problem callback: a short NUL-terminated text, with line numbers that never go back. */
static void fuzz_chargelog_problem_cb(void *userdata, unsigned line, enum chargelog_problem p, const char *text) {
        struct fuzz_chargelog_run *run = userdata;

        FUZZ_CHECK(strnlen(text, 96) < 96);
        FUZZ_CHECK(line >= 1 && line >= run->last_problem_line);
        FUZZ_CHECK(strcmp(chargelog_problem_to_string(p), "problem") != 0);
        run->last_problem_line = line;
        run->problems++;
}

static const struct chargelog_handler fuzz_chargelog_handler = {
        .event = fuzz_chargelog_event_cb,
        .meta = fuzz_chargelog_meta_cb,
        .problem = fuzz_chargelog_problem_cb,
};

/* The callbacks are optional: a caller that wants only the events gives only that one. */
static const struct chargelog_handler fuzz_chargelog_events_only = {
        .event = fuzz_chargelog_event_cb,
};

/* Frees what a run collected. */
static void fuzz_chargelog_run_done(struct fuzz_chargelog_run *run) {
        free(run->events);
        free(run->event_lines);
}

/* Two runs delivered the same events, in the same order. */
static bool fuzz_chargelog_same_events(const struct fuzz_chargelog_run *a, const struct fuzz_chargelog_run *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (a->events[i].time_ms != b->events[i].time_ms || a->events[i].kind != b->events[i].kind ||
                    a->events[i].value != b->events[i].value)
                        return false;
        return true;
}

/* Expands a "\xffR" input into head + unit * n + tail; NULL when the input is a plain log. */
static char *fuzz_chargelog_expand(const uint8_t *data, size_t size, size_t *ret_size) {
        const uint8_t *rest = data + 5, *end = data + size, *head = rest, *unit = rest, *tail = end, *sep;
        size_t n, head_len = 0, unit_len, tail_len = 0, total;
        char *buf, *o;

        if (size < 6 || data[0] != 0xff || data[1] != 'R')
                return NULL;
        n = (size_t) data[2] << 16 | (size_t) data[3] << 8 | data[4];
        sep = memchr(rest, 0xff, end - rest);
        if (sep) {
                head_len = sep - rest;
                unit = sep + 1;
                sep = memchr(unit, 0xff, end - unit);
                if (sep) {
                        tail = sep + 1;
                        tail_len = end - tail;
                }
        }
        unit_len = (sep ? sep : end) - unit;
        if (memchr(unit, '\n', unit_len) && n > 64)
                n = 64;         /* only long lines need the size: many short ones just cost time */
        if (unit_len == 0)
                n = 0;
        else if (n > (FUZZ_CHARGELOG_HUGE_MAX - head_len - tail_len) / unit_len)
                n = (FUZZ_CHARGELOG_HUGE_MAX - head_len - tail_len) / unit_len;
        total = head_len + n * unit_len + tail_len;
        buf = malloc(total ? total : 1);
        FUZZ_CHECK(buf);
        o = buf;
        memcpy(o, head, head_len), o += head_len;
        for (size_t i = 0; i < n; i++)
                memcpy(o, unit, unit_len), o += unit_len;
        memcpy(o, tail, tail_len);
        *ret_size = total;
        return buf;
}

/* Parses buf in pieces whose sizes cycle through `sizes`, carrying a partial line over. */
static void fuzz_chargelog_parse_pieces(const char *buf, size_t len, const uint8_t *sizes, size_t n_sizes,
                                        struct fuzz_chargelog_run *run, struct chargelog_parser *p) {
        char *carry = malloc(len ? len : 1);
        size_t have = 0, off = 0, k = 0;

        FUZZ_CHECK(carry);
        run->parser = p;
        while (off < len) {
                size_t piece = n_sizes ? (size_t) sizes[k++ % n_sizes] % 64 + 1 : len, consumed;

                if (piece > len - off)
                        piece = len - off;
                memcpy(carry + have, buf + off, piece);
                have += piece;
                off += piece;
                FUZZ_CHECK(chargelog_parse(p, carry, have, &fuzz_chargelog_handler, run, &consumed) == 0);
                FUZZ_CHECK(consumed <= have);
                FUZZ_CHECK(!memchr(carry + consumed, '\n', have - consumed));
                memmove(carry, carry + consumed, have - consumed);
                have -= consumed;
        }
        free(carry);
}

/* The first max events each format to a line that parses back to the same event. */
static void fuzz_chargelog_roundtrip(const struct fuzz_chargelog_run *run, size_t max) {
        for (size_t i = 0; i < run->n_events && i < max; i++) {
                char line[96];
                struct hpevent back;
                size_t n = chargelog_format_event(line, sizeof(line), &run->events[i]);

                FUZZ_CHECK(n > 1 && line[n - 1] == '\n');
                FUZZ_CHECK(chargelog_parse_line(line, n - 1, &back) == 0);
                FUZZ_CHECK(back.time_ms == run->events[i].time_ms && back.kind == run->events[i].kind &&
                           back.value == run->events[i].value);
        }
}

/* Reads buf through chargelog_read_fd() on a memfd. */
static int fuzz_chargelog_read_memfd(const char *buf, size_t len, const struct chargelog_handler *h,
                                     struct fuzz_chargelog_run *run, struct chargelog_stats *ret) {
        int fd = memfd_create("fuzz-chargelog", MFD_CLOEXEC), r;

        FUZZ_CHECK(fd >= 0);
        for (size_t off = 0; off < len;) {
                ssize_t n = write(fd, buf + off, len - off);
                FUZZ_CHECK(n > 0);
                off += (size_t) n;
        }
        FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
        r = chargelog_read_fd(fd, h, run, ret);
        close(fd);
        return r;
}

/* Runs one input through every way of parsing it (see the top of the file). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct fuzz_chargelog_run whole = {}, pieces = {}, file = {}, stopped = {}, file_stopped = {};
        struct chargelog_parser pw = {}, pp = {}, ps = {};
        struct chargelog_stats st;
        size_t len = size, consumed, newlines = 0;
        const char *last_nl;
        char *huge, *buf;
        bool big;

        huge = fuzz_chargelog_expand(data, size, &len);
        big = huge != NULL;
        /* an exact-size copy, so that reading past the input is an ASan error */
        buf = huge ? huge : malloc(size ? size : 1);
        FUZZ_CHECK(buf);
        if (!huge)
                memcpy(buf, data, size);

        /* the whole buffer at once */
        whole.parser = &pw;
        FUZZ_CHECK(chargelog_parse(&pw, buf, len, &fuzz_chargelog_handler, &whole, &consumed) == 0);
        last_nl = len ? memrchr(buf, '\n', len) : NULL;
        FUZZ_CHECK(consumed == (last_nl ? (size_t) (last_nl - buf) + 1 : 0));
        for (const char *q = buf; (q = memchr(q, '\n', buf + len - q)); q++)
                newlines++;
        FUZZ_CHECK(pw.line == newlines);
        FUZZ_CHECK(pw.events == whole.n_events);
        FUZZ_CHECK(pw.events + pw.skipped <= pw.line);
        FUZZ_CHECK(whole.problems <= pw.line + 1);     /* each skipped line, and one missing header */
        fuzz_chargelog_roundtrip(&whole, big ? 64 : SIZE_MAX);

        /* in pieces, as a reader with a tiny buffer would (not for huge inputs: too slow) */
        if (!big) {
                fuzz_chargelog_parse_pieces(buf, len, data, size > 16 ? 16 : size, &pieces, &pp);
                FUZZ_CHECK(pp.line == pw.line && pp.events == pw.events && pp.skipped == pw.skipped);
                FUZZ_CHECK(pieces.n_events == whole.n_events && fuzz_chargelog_same_events(&pieces, &whole, whole.n_events));
                FUZZ_CHECK(pieces.meta == whole.meta && pieces.problems == whole.problems);
        }

        /* through the file reader */
        FUZZ_CHECK(fuzz_chargelog_read_memfd(buf, len, &fuzz_chargelog_handler, &file, &st) == 0);
        FUZZ_CHECK(st.events == file.n_events);
        FUZZ_CHECK(st.good_size >= 0 && (size_t) st.good_size <= len);
        FUZZ_CHECK(st.good_size == 0 || buf[st.good_size - 1] == '\n');
        FUZZ_CHECK(st.torn == (len > 0 && buf[len - 1] != '\n'));
        FUZZ_CHECK((size_t) st.good_size == consumed);
        /* a line longer than the reader's buffer is skipped whole even where the parser took it as
         * a comment or a header; it can hide no event, so the events are the same */
        FUZZ_CHECK(file.n_events == whole.n_events && fuzz_chargelog_same_events(&file, &whole, whole.n_events));
        FUZZ_CHECK(st.lines == pw.line);
        if (!big)
                FUZZ_CHECK(st.skipped == pw.skipped && file.problems == whole.problems && file.meta == whole.meta);

        /* stopped by the callback half-way: the events up to there, consumed up to that line */
        if (whole.n_events > 0 && !big) {
                size_t k = (whole.n_events + 1) / 2, at = 0;
                unsigned line = whole.event_lines[k - 1];

                stopped.parser = &ps;
                stopped.stop_after = k;
                FUZZ_CHECK(chargelog_parse(&ps, buf, len, &fuzz_chargelog_events_only, &stopped, &consumed) == -ECANCELED);
                FUZZ_CHECK(stopped.n_events == k && fuzz_chargelog_same_events(&stopped, &whole, k));
                FUZZ_CHECK(ps.line == line);
                for (unsigned i = 0; i < line; i++) {
                        const char *nl = memchr(buf + at, '\n', len - at);
                        FUZZ_CHECK(nl);
                        at = (size_t) (nl - buf) + 1;
                }
                FUZZ_CHECK(consumed == at);

                /* the file reader stops there too, and says so */
                file_stopped.stop_after = k;
                FUZZ_CHECK(fuzz_chargelog_read_memfd(buf, len, &fuzz_chargelog_events_only, &file_stopped, &st) ==
                           -ECANCELED);
                FUZZ_CHECK(file_stopped.n_events == k && fuzz_chargelog_same_events(&file_stopped, &whole, k));
        }

        fuzz_chargelog_run_done(&whole);
        fuzz_chargelog_run_done(&pieces);
        fuzz_chargelog_run_done(&file);
        fuzz_chargelog_run_done(&stopped);
        fuzz_chargelog_run_done(&file_stopped);
        free(buf);
        return 0;
}
