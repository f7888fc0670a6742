/* Fuzz target: the config file parser (lib/config.c, over inih).
 *
 * The input is a config file. config_load_file() (on a memfd, through /proc/self/fd) and,
 * when the input has no NUL byte, config_load_string() must agree. A refused file leaves
 * the caller's config untouched and says "name:line: why" with a line the file has, and a
 * line longer than inih's buffer is always refused (inih would read its tail as a line of
 * its own). An accepted file passes analyzer_config_check(), and each of its values, written
 * back the way the config file spells it (config_format_value()), is accepted again — the
 * same value for whole numbers and durations. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "fuzz.h"

/* A config the parser must not touch when it refuses a file. */
static void fuzz_config_poison(struct analyzer_config *c) {
        memset(c, 0xa5, sizeof(*c));
}

/* Whether c is still the poison of fuzz_config_poison(). */
static bool fuzz_config_poisoned(const struct analyzer_config *c) {
        struct analyzer_config p;

        fuzz_config_poison(&p);
        return memcmp(c, &p, sizeof(p)) == 0;
}

/* A refused file's error names the file and, when it has one, a line the file has. */
static void fuzz_config_check_error(const struct config_error *e, const char *name, unsigned lines) {
        char prefix[64];

        FUZZ_CHECK(strnlen(e->message, sizeof(e->message)) < sizeof(e->message));
        FUZZ_CHECK(strncmp(e->message, name, strlen(name)) == 0);
        FUZZ_CHECK(e->line <= lines);
        if (e->line > 0) {
                snprintf(prefix, sizeof(prefix), "%s:%u: ", name, e->line);
                FUZZ_CHECK(strncmp(e->message, prefix, strlen(prefix)) == 0);
        }
}

/* Whether two configs hold the same value for every key. */
static bool fuzz_config_same(const struct analyzer_config *x, const struct analyzer_config *y) {
        size_t n;
        const struct config_key *keys = config_keys(&n);

        for (size_t i = 0; i < n; i++) {
                const char *a = (const char *) x + keys[i].offset, *b = (const char *) y + keys[i].offset;
                size_t width = keys[i].type == CONFIG_BOOL ? sizeof(bool) :
                               keys[i].type == CONFIG_PERCENT ? sizeof(int) :
                               keys[i].type == CONFIG_COUNT ? sizeof(unsigned) :
                               keys[i].type == CONFIG_NUMBER ? sizeof(double) : sizeof(int64_t);

                if (memcmp(a, b, width) != 0)
                        return false;
        }
        return true;
}

/* Every value of an accepted config formats to text that config_set() takes back. */
static void fuzz_config_check_values(const struct analyzer_config *c) {
        const struct config_key *keys;
        size_t n;

        FUZZ_CHECK(analyzer_config_check(c, NULL) == 0);
        keys = config_keys(&n);
        for (size_t i = 0; i < n; i++) {
                const struct config_key *k = &keys[i];
                struct analyzer_config again = *c;
                char text[64], err[256];
                const char *a = (const char *) c + k->offset, *b = (const char *) &again + k->offset;

                FUZZ_CHECK(config_format_value(c, k, text, sizeof(text)) == 0);
                if (config_set(&again, k->section, k->name, text, err, sizeof(err)) != 0) {
                        fprintf(stderr, "[%s] %s = %s: %s\n", k->section, k->name, text, err);
                        FUZZ_CHECK(!"a value the parser accepted is refused once written back");
                }
                switch (k->type) {
                case CONFIG_BOOL:
                        FUZZ_CHECK(*(const bool *) a == *(const bool *) b);
                        break;
                case CONFIG_PERCENT:
                        FUZZ_CHECK(*(const int *) a == *(const int *) b);
                        FUZZ_CHECK(*(const int *) a >= k->min && *(const int *) a <= k->max);
                        break;
                case CONFIG_COUNT:
                        FUZZ_CHECK(*(const unsigned *) a == *(const unsigned *) b);
                        FUZZ_CHECK(*(const unsigned *) a >= k->min && *(const unsigned *) a <= k->max);
                        break;
                case CONFIG_DURATION:
                        FUZZ_CHECK(*(const int64_t *) a == *(const int64_t *) b);
                        FUZZ_CHECK(*(const int64_t *) a >= llround(k->min) && *(const int64_t *) a <= llround(k->max));
                        break;
                case CONFIG_NUMBER:
                        FUZZ_CHECK(isfinite(*(const double *) a) && *(const double *) a >= k->min &&
                                   *(const double *) a <= k->max);
                        break;
                }
        }
}

/* Loads the text as a file, from a memfd. */
static int fuzz_config_load_memfd(const char *text, size_t len, struct analyzer_config *ret, struct config_error *reterr) {
        char path[64];
        int fd = memfd_create("fuzz-config", MFD_CLOEXEC), r;

        FUZZ_CHECK(fd >= 0);
        for (size_t off = 0; off < len;) {
                ssize_t n = write(fd, text + off, len - off);
                FUZZ_CHECK(n > 0);
                off += (size_t) n;
        }
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        r = config_load_file(path, ret, reterr);
        close(fd);
        return r;
}

/* Whether some line of text is longer than inih's line buffer holds (its '\n' aside). */
static bool fuzz_config_has_long_line(const char *text, size_t len) {
        size_t start = 0;

        for (size_t i = 0; i <= len; i++)
                if (i == len || text[i] == '\n') {
                        if (i - start > INI_MAX_LINE - 1)
                                return true;
                        start = i + 1;
                }
        return false;
}

/* Loads the input both ways and checks what each says. An input with a NUL byte is loaded
 * only as a file (a string ends at its NUL). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        bool has_nul = memchr(data, '\0', size) != NULL;
        struct analyzer_config from_string, from_file;
        struct config_error es = {}, ef = {};
        unsigned lines = 1;
        char *text;
        int rs = 0, rf;

        text = malloc(size + 1);
        FUZZ_CHECK(text);
        memcpy(text, data, size);
        text[size] = '\0';
        for (size_t i = 0; i < size; i++)
                lines += text[i] == '\n';

        fuzz_config_poison(&from_string);
        fuzz_config_poison(&from_file);
        rf = fuzz_config_load_memfd(text, size, &from_file, &ef);
        FUZZ_CHECK(rf == 0 || rf == -EINVAL);
        if (!has_nul) {
                rs = config_load_string(text, "fuzz.conf", &from_string, &es);
                FUZZ_CHECK(rf == rs);
        }
#if !INI_ALLOW_REALLOC
        /* inih reads at most INI_MAX_LINE - 1 bytes of a line: a longer one is refused, never cut */
        if (fuzz_config_has_long_line(text, size))
                FUZZ_CHECK(rf == -EINVAL);
#endif
        if (rf == 0) {
                fuzz_config_check_values(&from_file);
                if (!has_nul)
                        FUZZ_CHECK(fuzz_config_same(&from_string, &from_file));
        } else {
                FUZZ_CHECK(fuzz_config_poisoned(&from_file));
                FUZZ_CHECK(ef.line <= lines);
                if (!has_nul) {
                        FUZZ_CHECK(fuzz_config_poisoned(&from_string));
                        fuzz_config_check_error(&es, "fuzz.conf", lines);
                        FUZZ_CHECK(es.line == ef.line);
                        /* the same message but for the name */
                        FUZZ_CHECK(strcmp(es.message + strlen("fuzz.conf"), ef.message + strcspn(ef.message, ":")) == 0);
                }
        }
        free(text);
        return 0;
}
