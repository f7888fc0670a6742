/* Fuzz target: the config file parser (lib/config.c, over inih).
 *
 * The input is a config file. config_load_file() (on a memfd, through /proc/self/fd) and,
 * when the input has no NUL byte, config_load_string() must agree. A refused file leaves
 * the caller's config untouched and says "name:line: why" with a line the file has, and a
 * line longer than inih's buffer is always refused (inih would read its tail as a line of
 * its own). An accepted file passes analyzer_config_check(), and each of its values, written
 * back the way the config file spells it (config_format_value()), is accepted again — the
 * same value for whole numbers and durations.
 *
 * config_load_string_for() loads the input again for one headset, so that [device ...]
 * sections are applied, not only checked. The address is the first one a "[device "
 * section of the input names, else one made from a hash of the input (which then no
 * section names). Its first pass is the global load's: where that was refused at a line,
 * so is this, the same way. Otherwise only the headset's values are added, and where they
 * make an inconsistent whole the refusal names no line. With no section for the address,
 * both loads agree. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ini.h>

#include "address.h"
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

/* The address to load the input for: the first that a "[device " section names (true), else
 * one made from a hash of the input (false). A superset of the sections inih finds, so with
 * false no section the parser accepts names the address. */
static bool fuzz_config_address(const char *text, size_t len, char ret[static ADDRESS_STRING_MAX]) {
        static const char prefix[] = "[" CONFIG_DEVICE_SECTION;
        uint64_t h = 14695981039346656037u;     /* FNV-1a */

        for (const char *p = text; (p = strstr(p, prefix)); p++) {
                char candidate[64];
                size_t n = strcspn(p + strlen(prefix), "]\n");

                if (n >= sizeof(candidate))
                        continue;
                memcpy(candidate, p + strlen(prefix), n);
                candidate[n] = '\0';
                if (address_normalize(candidate, ret) >= 0)
                        return true;
        }
        for (size_t i = 0; i < len; i++)
                h = (h ^ (uint8_t) text[i]) * 1099511628211u;
        snprintf(ret, ADDRESS_STRING_MAX, "%02X:%02X:%02X:%02X:%02X:%02X", (unsigned) (h >> 40) & 0xff,
                 (unsigned) (h >> 32) & 0xff, (unsigned) (h >> 24) & 0xff, (unsigned) (h >> 16) & 0xff,
                 (unsigned) (h >> 8) & 0xff, (unsigned) h & 0xff);
        return false;
}

/* Loads the text for one headset and checks it against the global load (rs, es, from_string). */
static void fuzz_config_check_device(const char *text, size_t len, unsigned lines, int rs, const struct config_error *es,
                                     const struct analyzer_config *from_string) {
        char address[ADDRESS_STRING_MAX];
        bool named = fuzz_config_address(text, len, address);
        struct analyzer_config from_device;
        struct config_error ed = {};
        int rd;

        fuzz_config_poison(&from_device);
        rd = config_load_string_for(text, "fuzz.conf", address, &from_device, &ed);
        FUZZ_CHECK(rd == 0 || rd == -EINVAL);
        if (rs != 0 && es->line > 0) {
                /* refused in the first pass, which is the global load's */
                FUZZ_CHECK(rd == rs);
                FUZZ_CHECK(ed.line == es->line);
                FUZZ_CHECK(strcmp(ed.message, es->message) == 0);
        }
        if (rd == 0)
                fuzz_config_check_values(&from_device);
        else {
                FUZZ_CHECK(fuzz_config_poisoned(&from_device));
                fuzz_config_check_error(&ed, "fuzz.conf", lines);
                if (es->line == 0)
                        FUZZ_CHECK(ed.line == 0);
        }
        if (!named && rs == 0) {
                FUZZ_CHECK(rd == 0);
                FUZZ_CHECK(fuzz_config_same(&from_device, from_string));
        }
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
                fuzz_config_check_device(text, size, lines, rs, &es, &from_string);
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
