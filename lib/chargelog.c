/* hpmon — charge log v1: parser, reader and appender (see chargelog.h and DESIGN.md). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chargelog.h"

struct chargelog {
        int fd;
        off_t size;             /* bytes known to be whole lines on disk */
        char address[ADDRESS_STRING_MAX];
};

static const char *const chargelog_problem_table[] = {
        [CHARGELOG_BAD_LINE] = "malformed line",
        [CHARGELOG_BAD_VALUE] = "value out of range",
        [CHARGELOG_UNKNOWN_EVENT] = "unknown event",
        [CHARGELOG_MISSING_HEADER] = "missing header '" CHARGELOG_HEADER "'",
};

/* A short English name for a problem, for "file:line: problem" messages. */
const char *chargelog_problem_to_string(enum chargelog_problem p) {
        if ((unsigned) p >= sizeof(chargelog_problem_table) / sizeof(chargelog_problem_table[0]))
                return "problem";
        return chargelog_problem_table[p];
}

/* Parses a run of decimal digits of at most `max` digits; returns how many were read. */
static size_t chargelog_digits(const char *s, size_t len, size_t max, int64_t *ret) {
        int64_t v = 0;
        size_t i = 0;

        while (i < len && i < max && s[i] >= '0' && s[i] <= '9')
                v = v * 10 + (s[i++] - '0');
        *ret = v;
        return i;
}

/* Eight ASCII digits at p as their number, or -1 if any byte is not a digit: one load,
 * one check and three multiplications instead of eight rounds (simdjson's
 * parse_eight_digits_unrolled). The first digit is the most significant, so the lowest
 * byte of the little-endian load is. */
static int64_t chargelog_eight_digits(const char *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        uint64_t v;

        memcpy(&v, p, sizeof(v));
        /* a digit is 0x30..0x39: high nibble 3, and adding 6 leaves it 3 */
        if (((v & UINT64_C(0xF0F0F0F0F0F0F0F0)) |
             (((v + UINT64_C(0x0606060606060606)) & UINT64_C(0xF0F0F0F0F0F0F0F0)) >> 4)) != UINT64_C(0x3333333333333333))
                return -1;
        v -= UINT64_C(0x3030303030303030);
        v = v * 10 + (v >> 8);                  /* pairs of digits */
        v = ((v & UINT64_C(0x000000FF000000FF)) * UINT64_C(0x000F424000000064) +
             ((v >> 16) & UINT64_C(0x000000FF000000FF)) * UINT64_C(0x0000271000000001)) >> 32;
        return (int64_t) v;
#else
        int64_t v = 0;

        for (int i = 0; i < 8; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return -1;
                v = v * 10 + (p[i] - '0');
        }
        return v;
#endif
}

/* The line every writer produces (chargelog_format_event(): "<secs>.<3 digits>,battery|connected,<value>",
 * no '\r'), in one pass: true with *ret set, or false for anything else, which the general
 * parser then takes, errors included. What it accepts, it reads exactly as the general one. */
static bool chargelog_parse_canonical(const char *p, const char *end, struct hpevent *ret) {
        int64_t secs = 0, ms;
        const char *start = p;
        int value = 0;
        enum event_kind k;
        size_t left;

        if (end - p >= 8 && (secs = chargelog_eight_digits(p)) >= 0)
                p += 8;         /* seconds since 1973 have ten digits: eight at once, then the rest */
        else
                secs = 0;
        /* at most 13 digits in all (one past the 12 allowed, to refuse the line): no overflow */
        for (unsigned d; p < end && p - start < 13 && (d = (unsigned) (*p - '0')) < 10; p++)
                secs = secs * 10 + d;
        if (p == start || p - start > 12 || end - p < 5 || p[0] != '.' ||
            p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9' || p[3] < '0' || p[3] > '9' || p[4] != ',')
                return false;
        ms = (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
        p += 5;
        left = end - p;
        if (left > 8 && memcmp(p, "battery,", 8) == 0) {
                k = EVENT_BATTERY;
                p += 8;
        } else if (left > 10 && memcmp(p, "connected,", 10) == 0) {
                k = EVENT_CONNECTED;
                p += 10;
        } else
                return false;
        if (p == end || end - p > 3)
                return false;
        for (const char *q = p; q < end; q++) {
                unsigned d = (unsigned) (*q - '0');

                if (d >= 10)
                        return false;
                value = value * 10 + (int) d;
        }
        if (value > (k == EVENT_BATTERY ? 100 : 1))
                return false;   /* event_value_valid(), for these two kinds and a value of digits only */
        *ret = (struct hpevent) { .time_ms = secs * 1000 + ms, .kind = k, .value = value };
        return true;
}

/* Parses one event line (no '\n'); 0, or -EINVAL (malformed), -ENOMSG (unknown event), -ERANGE (value).
 * Strict where it matters (digits, the three fields) and lenient where editors differ (a trailing '\r'). */
int chargelog_parse_line(const char *line, size_t len, struct hpevent *ret) {
        const char *p = line, *end = line + len, *name;
        int64_t secs, frac = 0, value;
        size_t n, name_len;
        bool negative = false;
        enum event_kind k;

        if (chargelog_parse_canonical(p, end, ret))
                return 0;
        if (len > 0 && end[-1] == '\r')
                end--;

        /* time: seconds (1 to 12 digits), optionally '.' and 1 to 9 digits of fraction */
        n = chargelog_digits(p, end - p, 12, &secs);
        if (n == 0)
                return -EINVAL;
        p += n;
        if (p < end && *p == '.') {
                int64_t f;
                size_t m;

                p++;
                m = chargelog_digits(p, end - p, 9, &f);
                if (m == 0)
                        return -EINVAL;
                p += m;
                /* scale to milliseconds, truncating what lies below them */
                for (size_t i = m; i < 3; i++)
                        f *= 10;
                for (size_t i = 3; i < m; i++)
                        f /= 10;
                frac = f;
        }
        if (p >= end || *p != ',')
                return -EINVAL;
        p++;

        /* event: lower-case letters and '-' */
        name = p;
        while (p < end && ((*p >= 'a' && *p <= 'z') || *p == '-'))
                p++;
        name_len = p - name;
        if (name_len == 0 || p >= end || *p != ',')
                return -EINVAL;
        p++;

        /* value: an optional '-' and 1 to 9 digits, then the end of the line */
        if (p < end && *p == '-') {
                negative = true;
                p++;
        }
        n = chargelog_digits(p, end - p, 9, &value);
        if (n == 0 || p + n != end)
                return -EINVAL;
        if (negative)
                value = -value;

        k = event_kind_from_string(name, name_len);
        if (k < 0)
                return -ENOMSG;
        if (!event_value_valid(k, value))
                return -ERANGE;

        *ret = (struct hpevent) {
                .time_ms = secs * 1000 + frac,
                .kind = k,
                .value = (int) value,
        };
        return 0;
}

/* Handles a comment line: "# key=value" goes to the meta callback, anything else is prose. */
static void chargelog_parse_comment(const char *line, size_t len, const struct chargelog_handler *h, void *userdata) {
        const char *p = line + 1, *end = line + len, *eq;

        if (!h->meta)
                return;
        if (len > 0 && end[-1] == '\r')
                end--;
        while (p < end && *p == ' ')
                p++;
        eq = memchr(p, '=', end - p);
        if (!eq || eq == p)
                return;
        for (const char *q = p; q < eq; q++)
                if (!((*q >= 'a' && *q <= 'z') || *q == '-' || *q == '_'))
                        return;
        h->meta(userdata, p, eq - p, eq + 1, end - eq - 1);
}

/* Reports a skipped line, with the offending text quoted (cut, and control bytes escaped). */
static void chargelog_report(struct chargelog_parser *p, const struct chargelog_handler *h, void *userdata,
                             enum chargelog_problem what, const char *line, size_t len) {
        char text[96];
        size_t o = 0;

        p->skipped++;
        if (!h->problem)
                return;
        o += snprintf(text, sizeof(text), "%s: '", chargelog_problem_to_string(what));
        for (size_t i = 0; i < len && o < sizeof(text) - 6; i++) {
                unsigned char c = (unsigned char) line[i];
                if (c < 0x20 || c == 0x7f || c >= 0x80)
                        o += snprintf(text + o, sizeof(text) - o, "\\x%02x", c);
                else
                        text[o++] = (char) c;
        }
        if (o > sizeof(text) - 2)
                o = sizeof(text) - 2;
        text[o++] = '\'';
        text[o] = '\0';
        h->problem(userdata, p->line, what, text);
}

/* Parses every whole line in buf. Sets *ret_consumed to the bytes up to the last '\n';
 * the rest is a partial line for the caller to carry over (or, at end of file, a torn line). */
int chargelog_parse(struct chargelog_parser *p, const char *buf, size_t len,
                    const struct chargelog_handler *h, void *userdata, size_t *ret_consumed) {
        const char *pos = buf, *end = buf + len;
        int r = 0;

        for (;;) {
                const char *nl = memchr(pos, '\n', end - pos);
                size_t l;
                struct hpevent e;

                if (!nl)
                        break;
                l = nl - pos;
                p->line++;

                if (l == 0 || (l == 1 && pos[0] == '\r'))
                        ;       /* blank line: nothing to say */
                else if (pos[0] == '#')
                        chargelog_parse_comment(pos, l, h, userdata);
                else if ((l == sizeof(CHARGELOG_HEADER) - 1 || (l == sizeof(CHARGELOG_HEADER) && pos[l - 1] == '\r')) &&
                         memcmp(pos, CHARGELOG_HEADER, sizeof(CHARGELOG_HEADER) - 1) == 0)
                        p->header_seen = true;  /* also a repeated header, e.g. two logs concatenated */
                else {
                        if (!p->header_seen) {
                                chargelog_report(p, h, userdata, CHARGELOG_MISSING_HEADER, pos, l);
                                p->skipped--;   /* the line itself is still read below */
                                p->header_seen = true;
                        }
                        r = l > CHARGELOG_LINE_MAX ? -EINVAL : chargelog_parse_line(pos, l, &e);
                        if (r == 0) {
                                p->events++;
                                if (h->event) {
                                        r = h->event(userdata, &e);
                                        if (r < 0) {
                                                pos = nl + 1;
                                                break;
                                        }
                                }
                        } else
                                chargelog_report(p, h, userdata,
                                                 r == -ENOMSG ? CHARGELOG_UNKNOWN_EVENT :
                                                 r == -ERANGE ? CHARGELOG_BAD_VALUE : CHARGELOG_BAD_LINE,
                                                 pos, l);
                        r = 0;
                }
                pos = nl + 1;
        }
        *ret_consumed = pos - buf;
        return r;
}

/* Formats one event as its log line, '\n' included; returns the length (0 if it does not fit). */
size_t chargelog_format_event(char *buf, size_t size, const struct hpevent *e) {
        const char *name = event_kind_to_string(e->kind);
        int64_t t = e->time_ms < 0 ? 0 : e->time_ms;
        int n;

        if (!name)
                return 0;
        n = snprintf(buf, size, "%" PRId64 ".%03" PRId64 ",%s,%d\n", t / 1000, t % 1000, name, e->value);
        if (n < 0 || (size_t) n >= size)
                return 0;
        return (size_t) n;
}

#define CHARGELOG_READ_CHUNK (1u << 20)

/* Reads a whole log from fd, in chunks, through the parser. A last line without '\n' is torn:
 * it is ignored and reported in ret->torn. A line longer than the chunk is skipped as malformed
 * once its '\n' is seen (if none comes, it was torn, like any other last line). */
int chargelog_read_fd(int fd, const struct chargelog_handler *h, void *userdata, struct chargelog_stats *ret) {
        struct chargelog_parser p = {};
        size_t have = 0, cap = CHARGELOG_READ_CHUNK;
        off_t offset = 0, discarded = 0;        /* discarded: bytes of an over-long line so far */
        bool discarding = false;
        char head[32];                          /* its start, to quote when it is reported */
        char *buf;
        int r = 0;

        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                ssize_t n = read(fd, buf + have, cap - have);
                size_t consumed;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto out;
                }
                if (n == 0)
                        break;
                have += (size_t) n;

                if (discarding) {
                        /* inside an over-long line: drop bytes up to its end */
                        char *nl = memchr(buf, '\n', have);
                        if (!nl) {
                                discarded += have;
                                have = 0;
                                continue;
                        }
                        consumed = nl + 1 - buf;
                        offset += discarded + consumed;
                        memmove(buf, buf + consumed, have - consumed);
                        have -= consumed;
                        discarding = false;
                        p.line++;
                        chargelog_report(&p, h, userdata, CHARGELOG_BAD_LINE, head, sizeof(head));
                }

                r = chargelog_parse(&p, buf, have, h, userdata, &consumed);
                offset += consumed;
                memmove(buf, buf + consumed, have - consumed);
                have -= consumed;
                if (r < 0)
                        goto out;
                if (have == cap) {
                        memcpy(head, buf, sizeof(head));
                        discarded = have;
                        have = 0;
                        discarding = true;
                }
        }

        if (ret)
                *ret = (struct chargelog_stats) {
                        .events = p.events,
                        .skipped = p.skipped,
                        .lines = p.line,
                        .torn = have > 0 || discarding,
                        .good_size = offset,
                };
out:
        free(buf);
        return r;
}

/* Opens and reads a log file by path (see chargelog_read_fd()). */
int chargelog_read_file(const char *path, const struct chargelog_handler *h, void *userdata, struct chargelog_stats *ret) {
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        r = chargelog_read_fd(fd, h, userdata, ret);
        close(fd);
        return r;
}

/* The file name of a device's log: "AA_BB_CC_DD_EE_FF.csv". */
int chargelog_filename(const char address[static ADDRESS_STRING_MAX], char *buf, size_t size) {
        char u[ADDRESS_STRING_MAX];

        address_to_underscores(address, u);
        if ((size_t) snprintf(buf, size, "%s.csv", u) >= size)
                return -ENAMETOOLONG;
        return 0;
}

/* Decodes one UTF-8 sequence at s; returns its length and the code point, or 0 if the
 * bytes there are not a valid, shortest-form sequence of a scalar value. */
static size_t chargelog_utf8_decode(const unsigned char *s, uint32_t *ret) {
        uint32_t cp;
        size_t len;

        if (s[0] < 0x80) {
                *ret = s[0];
                return 1;
        }
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret = cp;
        return len;
}

/* Copies a device name into a form every reader takes: valid UTF-8 (a byte that is not
 * becomes '?'), no control characters (C0, DEL, C1 become spaces), no noncharacters
 * (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF become '?': libdbus passes them, sd-bus refuses a
 * message holding one), at most CHARGELOG_NAME_MAX bytes, never cut inside a character. */
void chargelog_clean_name(const char *name, char *buf, size_t size) {
        const unsigned char *p = (const unsigned char *) (name ? name : "");
        size_t n = 0, max = size - 1 < CHARGELOG_NAME_MAX ? size - 1 : CHARGELOG_NAME_MAX;

        while (*p) {
                uint32_t cp;
                size_t len = chargelog_utf8_decode(p, &cp);

                if (len == 0 || (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe) {
                        if (n + 1 > max)
                                break;
                        buf[n++] = '?';
                        p += len ? len : 1;
                } else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
                        if (n + 1 > max)
                                break;
                        buf[n++] = ' ';
                        p += len;
                } else {
                        if (n + len > max)
                                break;
                        memcpy(buf + n, p, len);
                        n += len;
                        p += len;
                }
        }
        buf[n] = '\0';
}

#define CHARGELOG_HEAD_MAX (CHARGELOG_NAME_MAX + 128)

/* Formats the comments and header that open every log; returns the length. */
static int chargelog_format_head(char buf[static CHARGELOG_HEAD_MAX], const char *address, const char *name) {
        char clean[CHARGELOG_NAME_MAX + 1];

        chargelog_clean_name(name, clean, sizeof(clean));
        return snprintf(buf, CHARGELOG_HEAD_MAX, CHARGELOG_MAGIC "\n# address=%s\n# name=%s\n" CHARGELOG_HEADER "\n",
                        address, clean);
}

/* Appends bytes with one write(), then makes them durable. A short or failed write or sync
 * is cut back off the file, so a line is either whole on disk or not there at all. */
static int chargelog_write_line(struct chargelog *log, const char *buf, size_t len) {
        ssize_t n;
        int r;

        n = write(log->fd, buf, len);
        if (n == (ssize_t) len && fdatasync(log->fd) == 0) {
                log->size += (off_t) len;
                return 0;
        }
        r = n < 0 || n == (ssize_t) len ? -errno : -ENOSPC;
        if (r == 0)
                r = -EIO;
        if (n > 0)
                (void) ftruncate(log->fd, log->size);
        return r;
}

/* Writes a new log with its header under a temporary name and renames it into place,
 * so a crash leaves either no log or a log with a whole header. */
static int chargelog_create(int dir_fd, const char *fn, const char address[static ADDRESS_STRING_MAX], const char *name) {
        char tmp[64], head[CHARGELOG_HEAD_MAX];
        int fd, n, r = 0;
        ssize_t w;

        n = chargelog_format_head(head, address, name);
        snprintf(tmp, sizeof(tmp), ".%s.tmp", fn);

        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0)
                return -errno;
        w = write(fd, head, n);
        if (w != n)
                r = w < 0 ? -errno : -ENOSPC;   /* a short write: no room */
        else if (fsync(fd) < 0)
                r = -errno;
        close(fd);
        if (r == 0 && renameat(dir_fd, tmp, dir_fd, fn) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        if (fsync(dir_fd) < 0)
                return -errno;
        return 0;
}

/* Writes all of a buffer, however many write() calls it takes; a short write is no room. */
static int chargelog_write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t w = write(fd, p, n);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return w < 0 ? -errno : -ENOSPC;
                p += w;
                n -= (size_t) w;
        }
        return 0;
}

/* Rewrites a log (retention): its opening comments with `name`, then `meta` (whole
 * comment lines, e.g. a checkpoint), the header, then `tail` (whole event lines), into a
 * temporary file renamed over the log — never in place, so a crash leaves the old log or
 * the new one. Returns the new log, open for appending, in *ret: it was opened before the
 * rename, so appends can never go to the replaced file. Returns 1 (not 0) when the
 * directory could not be synced after the rename: a power cut could then undo it. */
int chargelog_rewrite(int dir_fd, const char address[static ADDRESS_STRING_MAX], const char *name, const char *meta,
                      size_t meta_len, const char *tail, size_t tail_len, struct chargelog **ret) {
        char fn[ADDRESS_STRING_MAX + 8], tmp[64], head[CHARGELOG_HEAD_MAX];
        struct chargelog *log;
        size_t head_len, header_len = sizeof(CHARGELOG_HEADER);  /* with its '\n' */
        int fd, r;

        if (tail_len > 0 && tail[tail_len - 1] != '\n')
                return -EINVAL;
        r = chargelog_filename(address, fn, sizeof(fn));
        if (r < 0)
                return r;
        log = calloc(1, sizeof(*log));
        if (!log)
                return -ENOMEM;
        head_len = (size_t) chargelog_format_head(head, address, name);
        snprintf(tmp, sizeof(tmp), ".%s.tmp", fn);

        fd = openat(dir_fd, tmp, O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
        if (fd < 0) {
                free(log);
                return -errno;
        }
        r = chargelog_write_all(fd, head, head_len - header_len);
        if (r >= 0)
                r = chargelog_write_all(fd, meta, meta_len);
        if (r >= 0)
                r = chargelog_write_all(fd, head + head_len - header_len, header_len);
        if (r >= 0)
                r = chargelog_write_all(fd, tail, tail_len);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(dir_fd, tmp, dir_fd, fn) < 0)
                r = -errno;
        if (r < 0) {
                close(fd);
                (void) unlinkat(dir_fd, tmp, 0);
                free(log);
                return r;
        }
        /* the rename is done: the new log is the log, durable once the directory is */
        log->fd = fd;
        log->size = (off_t) (head_len + meta_len + tail_len);
        memcpy(log->address, address, ADDRESS_STRING_MAX);
        *ret = log;
        return fsync(dir_fd) < 0 ? 1 : 0;
}

/* Cuts a torn last line (one without '\n') off an open log; returns the bytes removed. */
static int chargelog_cut_torn(int fd, off_t *size, off_t *ret_removed) {
        char buf[4096];
        off_t end = *size, pos = end;

        *ret_removed = 0;
        while (pos > 0) {
                size_t want = pos > (off_t) sizeof(buf) ? sizeof(buf) : (size_t) pos;
                ssize_t n = pread(fd, buf, want, pos - (off_t) want);
                if (n != (ssize_t) want)
                        return n < 0 ? -errno : -EIO;
                for (size_t i = want; i > 0; i--)
                        if (buf[i - 1] == '\n') {
                                off_t keep = pos - (off_t) want + (off_t) i;
                                if (keep == end)
                                        return 0;
                                if (ftruncate(fd, keep) < 0 || fdatasync(fd) < 0)
                                        return -errno;
                                *ret_removed = end - keep;
                                *size = keep;
                                return 0;
                        }
                pos -= (off_t) want;
        }
        /* no '\n' at all: nothing whole to keep */
        if (end > 0) {
                if (ftruncate(fd, 0) < 0 || fdatasync(fd) < 0)
                        return -errno;
                *ret_removed = end;
                *size = 0;
        }
        return 0;
}

#define CHARGELOG_HEADER_SCAN 65536

/* Whether the header line "time,event,value" is among the first 64 KiB of a log. The
 * buffer is the heap's, sized to the file: on the stack it dirtied up to 64 KiB of it for
 * good at start-up (a stack never shrinks), for a check made once per log (issue 7). */
static bool chargelog_has_header(int fd, off_t size) {
        size_t want = size < CHARGELOG_HEADER_SCAN ? (size_t) size : CHARGELOG_HEADER_SCAN;
        char *buf = malloc(want + 1);
        ssize_t n;
        bool found;

        if (!buf)
                return true;    /* cannot tell: leave the file alone */
        n = pread(fd, buf, want, 0);
        if (n <= 0) {
                free(buf);
                return true;
        }
        buf[n] = '\0';
        found = strncmp(buf, CHARGELOG_HEADER "\n", sizeof(CHARGELOG_HEADER)) == 0 ||
                strstr(buf, "\n" CHARGELOG_HEADER "\n") != NULL ||
                strstr(buf, "\n" CHARGELOG_HEADER "\r\n") != NULL;
        free(buf);
        return found;
}

/* Opens a device's log in dir_fd for appending, creating it with its header if missing
 * and cutting a torn last line away. The address must be canonical (address_normalize()). */
int chargelog_open(int dir_fd, const char address[static ADDRESS_STRING_MAX], const char *name,
                   struct chargelog **ret, bool *ret_created, off_t *ret_truncated) {
        char fn[ADDRESS_STRING_MAX + 8];
        struct chargelog *log;
        struct stat st;
        bool created = false;
        off_t removed = 0;
        int fd, r;

        r = chargelog_filename(address, fn, sizeof(fn));
        if (r < 0)
                return r;

        fd = openat(dir_fd, fn, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0 && errno == ENOENT) {
                r = chargelog_create(dir_fd, fn, address, name);
                if (r < 0)
                        return r;
                created = true;
                fd = openat(dir_fd, fn, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        }
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                close(fd);
                return -EBADF;
        }

        log = calloc(1, sizeof(*log));
        if (!log) {
                close(fd);
                return -ENOMEM;
        }
        log->fd = fd;
        log->size = st.st_size;
        memcpy(log->address, address, ADDRESS_STRING_MAX);

        r = chargelog_cut_torn(fd, &log->size, &removed);
        if (r < 0) {
                chargelog_close(log);
                return r;
        }
        if (log->size > 0 && !chargelog_has_header(fd, log->size)) {
                /* cut in the middle of its header (or never had one): add the header line,
                 * so what is appended next is read as v1 events */
                r = chargelog_write_line(log, CHARGELOG_HEADER "\n", sizeof(CHARGELOG_HEADER));
                if (r < 0) {
                        chargelog_close(log);
                        return r;
                }
        }
        if (log->size == 0) {
                /* emptied (or found empty): give it its header again */
                char head[CHARGELOG_HEAD_MAX];

                r = chargelog_write_line(log, head, (size_t) chargelog_format_head(head, address, name));
                if (r < 0) {
                        chargelog_close(log);
                        return r;
                }
        }

        *ret = log;
        if (ret_created)
                *ret_created = created;
        if (ret_truncated)
                *ret_truncated = removed;
        return 0;
}

/* Appends one event line: one write(), one fdatasync(). */
int chargelog_append(struct chargelog *log, const struct hpevent *e) {
        char buf[96];
        size_t n;

        n = chargelog_format_event(buf, sizeof(buf), e);
        if (n == 0)
                return -EINVAL;
        return chargelog_write_line(log, buf, n);
}

/* Appends a "# key=value" comment (a renamed device, say); the value is sanitised like a name. */
int chargelog_append_meta(struct chargelog *log, const char *key, const char *value) {
        char clean[CHARGELOG_NAME_MAX + 1], buf[CHARGELOG_NAME_MAX + 64];
        int n;

        chargelog_clean_name(value, clean, sizeof(clean));
        n = snprintf(buf, sizeof(buf), "# %s=%s\n", key, clean);
        if (n < 0 || (size_t) n >= sizeof(buf))
                return -EINVAL;
        return chargelog_write_line(log, buf, (size_t) n);
}

/* The canonical address the log belongs to. */
const char *chargelog_address(const struct chargelog *log) {
        return log->address;
}

/* Closes a log; accepts NULL and returns NULL. */
struct chargelog *chargelog_close(struct chargelog *log) {
        if (!log)
                return NULL;
        if (log->fd >= 0)
                close(log->fd);
        free(log);
        return NULL;
}
