/* hpmon — charge log v1 (DESIGN.md): one append-only CSV file per device.
 *
 * The parser works on a buffer and never fails as a whole: every line that does not
 * parse is reported through the handler with its line number and skipped. The file
 * functions add only what a file needs: reading it in chunks, a torn last line, and
 * appending with one write() and one fdatasync() per line. Nothing here logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "address.h"
#include "event.h"

#define CHARGELOG_HEADER "time,event,value"
#define CHARGELOG_MAGIC "# hpmon charge log v1"
/* Longest line a writer produces or a reader accepts (names are capped below it). */
#define CHARGELOG_LINE_MAX 1024
/* A device name is cut to this many bytes (Bluetooth names are at most 248). */
#define CHARGELOG_NAME_MAX 248

/* What the parser found on one line that it skipped. */
enum chargelog_problem {
        CHARGELOG_BAD_LINE,          /* does not parse: skipped */
        CHARGELOG_BAD_VALUE,         /* parses, value out of range for its event: skipped */
        CHARGELOG_UNKNOWN_EVENT,     /* a later version's event: skipped */
        CHARGELOG_MISSING_HEADER,    /* first non-comment line is not the header */
};

/* Callbacks of the parser. `event` may return a negative errno to stop parsing. */
struct chargelog_handler {
        int (*event)(void *userdata, const struct hpevent *e);
        /* a "# key=value" comment; neither string is NUL-terminated */
        void (*meta)(void *userdata, const char *key, size_t key_len, const char *value, size_t value_len);
        /* a skipped line; `text` is a short description, NUL-terminated */
        void (*problem)(void *userdata, unsigned line, enum chargelog_problem p, const char *text);
};

/* Parser state carried from one buffer to the next. */
struct chargelog_parser {
        unsigned line;          /* number of the last line handed to the parser */
        bool header_seen;
        uint64_t events;        /* events delivered */
        uint64_t skipped;       /* lines skipped (bad, out of range, unknown, stray header) */
};

/* What reading a whole file found. */
struct chargelog_stats {
        uint64_t events;
        uint64_t skipped;
        unsigned lines;
        bool torn;              /* the last line had no '\n' and was ignored */
        off_t good_size;        /* bytes up to and including the last '\n' */
};

const char *chargelog_problem_to_string(enum chargelog_problem p);
int chargelog_parse_line(const char *line, size_t len, struct hpevent *ret);
int chargelog_parse(struct chargelog_parser *p, const char *buf, size_t len,
                    const struct chargelog_handler *h, void *userdata, size_t *ret_consumed);
size_t chargelog_format_event(char *buf, size_t size, const struct hpevent *e);
int chargelog_read_fd(int fd, const struct chargelog_handler *h, void *userdata, struct chargelog_stats *ret);
int chargelog_read_file(const char *path, const struct chargelog_handler *h, void *userdata, struct chargelog_stats *ret);
void chargelog_clean_name(const char *name, char *buf, size_t size);
int chargelog_filename(const char address[static ADDRESS_STRING_MAX], char *buf, size_t size);

/* An open log, ready to append to. */
struct chargelog;

int chargelog_open(int dir_fd, const char address[static ADDRESS_STRING_MAX], const char *name,
                   struct chargelog **ret, bool *ret_created, off_t *ret_truncated);
int chargelog_append(struct chargelog *log, const struct hpevent *e);
int chargelog_rewrite(int dir_fd, const char address[static ADDRESS_STRING_MAX], const char *name, const char *meta,
                      size_t meta_len, const char *tail, size_t tail_len, struct chargelog **ret);
int chargelog_append_meta(struct chargelog *log, const char *key, const char *value);
const char *chargelog_address(const struct chargelog *log);
struct chargelog *chargelog_close(struct chargelog *log);
