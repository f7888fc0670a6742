/* Fuzz target: decoding BlueZ's property dictionaries (daemon/bluez-decode.c).
 *
 * The decoder reads messages sd-bus has already validated, so raw bytes would only test
 * sd-bus. Instead the input is a program that builds a real message, as a hostile or
 * buggy bluetoothd could send it: a PropertiesChanged body "s a{sv} as" whose dictionary
 * holds the keys hpmond reads and others, each with a variant of any type (basic types,
 * arrays, dictionaries, structs, variants in variants), strings from huge to empty to
 * almost-addresses. While building, a model notes what the decoder must conclude (the
 * last valid value of each property wins; each wrong type or bad value is one problem);
 * the decoder's answer is checked against it, then merged (bluez_decode_merge()) over a
 * device's known values. Input bytes, in order:
 *
 *   interface (Device1, Battery1, another), body shape (mostly a{sv}; else not a dict),
 *   then per entry: a key choice, a variant type, and the bytes of its value.
 *
 * The bus is started over a socketpair and never connects to anything: enough for sd-bus
 * to build, seal and read messages (tests/unit/test-bluez-decode.c does the same). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bluez-decode.h"
#include "busdef.h"
#include "fuzz.h"

#define FUZZ_BLUEZ_DEPTH_MAX 24         /* variants in variants, arrays in arrays */
#define FUZZ_BLUEZ_ENTRIES_MAX 64
#define FUZZ_BLUEZ_STRING_MAX 70000

/* The input, read a byte at a time; past its end every read is 0. */
struct fuzz_bluez_input {
        const uint8_t *data;
        size_t size, pos;
};

/* What the decoder must conclude, noted while the message is built. */
struct fuzz_bluez_model {
        unsigned present, problems;
        bool connected;
        int percentage;
        char address[ADDRESS_STRING_MAX];
        char name[CHARGELOG_NAME_MAX + 1], alias[CHARGELOG_NAME_MAX + 1];
};

/* The next input byte, or 0 at the end. */
static uint8_t fuzz_bluez_byte(struct fuzz_bluez_input *in) {
        return in->pos < in->size ? in->data[in->pos++] : 0;
}

/* The next n input bytes as a little-endian number. */
static uint64_t fuzz_bluez_bytes(struct fuzz_bluez_input *in, unsigned n) {
        uint64_t v = 0;

        for (unsigned i = 0; i < n; i++)
                v |= (uint64_t) fuzz_bluez_byte(in) << (8 * i);
        return v;
}

/* Length of the UTF-8 sequence at s that sd-bus accepts (valid, no surrogate, no noncharacter), 0 if none. */
static size_t fuzz_bluez_utf8_char(const unsigned char *s, size_t n) {
        uint32_t c;
        size_t len;

        if (s[0] < 0x80)
                return s[0] ? 1 : 0;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, c = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, c = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, c = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = c << 6 | (s[i] & 0x3f);
        }
        if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)))
                return 0;       /* overlong, or beyond Unicode */
        if ((c >= 0xd800 && c <= 0xdfff) || (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe)
                return 0;
        return len;
}

/* Whether a NUL-terminated string is UTF-8 that sd-bus would accept. */
static bool fuzz_bluez_utf8_valid(const char *s) {
        size_t n = strlen(s);

        for (size_t i = 0; i < n;) {
                size_t l = fuzz_bluez_utf8_char((const unsigned char *) s + i, n - i);
                if (l == 0)
                        return false;
                i += l;
        }
        return true;
}

/* Makes raw bytes a string sd-bus accepts: NUL becomes \x01 (a control character the decoder
 * must clean), bytes that begin no valid sequence become '?'. */
static void fuzz_bluez_utf8_fix(char *s, size_t n) {
        for (size_t i = 0; i < n;) {
                size_t l;

                if (s[i] == '\0')
                        s[i] = '\x01';
                l = fuzz_bluez_utf8_char((unsigned char *) s + i, n - i);
                if (l == 0) {
                        s[i] = '?';
                        l = 1;
                }
                i += l;
        }
}

/* A string value: canned (addresses right and nearly right, names), raw bytes, a huge
 * repetition, or an address with one character changed. Returns malloc'ed text. */
static char *fuzz_bluez_string(struct fuzz_bluez_input *in) {
        static const char *const canned[] = {
                "AA:BB:CC:DD:EE:FF", "aa:bb:cc:dd:ee:ff", "00:00:00:00:00:00", "AA:BB:CC:DD:EE:F",
                "AA:BB:CC:DD:EE:FF:", "AA-BB-CC-DD-EE-FF", "AA_BB_CC_DD_EE_FF", "GG:BB:CC:DD:EE:FF",
                "", "WH-1000XM4", "Jabra Elite 85t", "caf\xc3\xa9 \xe2\x98\x95", "a\nb\tc\177d",
                "\xf0\x9f\x8e\xa7 headphones",
        };
        uint8_t mode = fuzz_bluez_byte(in) % 4;
        size_t n;
        char *s;

        switch (mode) {
        case 0:
                return strdup(canned[fuzz_bluez_byte(in) % (sizeof(canned) / sizeof(canned[0]))]);
        case 1:
                n = fuzz_bluez_byte(in);
                s = malloc(n + 1);
                FUZZ_CHECK(s);
                for (size_t i = 0; i < n; i++)
                        s[i] = (char) fuzz_bluez_byte(in);
                s[n] = '\0';
                fuzz_bluez_utf8_fix(s, n);
                return s;
        case 2: {
                char unit[4];
                size_t u = fuzz_bluez_byte(in) % 4 + 1;

                for (size_t i = 0; i < u; i++)
                        unit[i] = (char) fuzz_bluez_byte(in);
                n = (size_t) fuzz_bluez_bytes(in, 2) * u;
                if (n > FUZZ_BLUEZ_STRING_MAX)
                        n = FUZZ_BLUEZ_STRING_MAX / u * u;
                s = malloc(n + 1);
                FUZZ_CHECK(s);
                for (size_t i = 0; i < n; i++)
                        s[i] = unit[i % u];
                s[n] = '\0';
                fuzz_bluez_utf8_fix(s, n);
                return s;
        }
        default:
                s = strdup(canned[fuzz_bluez_byte(in) % 8]);
                FUZZ_CHECK(s);
                n = strlen(s);
                if (n > 0) {
                        s[fuzz_bluez_byte(in) % n] = (char) fuzz_bluez_byte(in);
                        fuzz_bluez_utf8_fix(s, n);
                }
                return s;
        }
}

/* Length of the single complete type at the start of sig. */
static size_t fuzz_bluez_type_len(const char *sig) {
        size_t n, depth = 0;

        if (sig[0] == 'a')
                return 1 + fuzz_bluez_type_len(sig + 1);
        if (sig[0] != '(' && sig[0] != '{')
                return 1;
        for (n = 0; sig[n]; n++) {
                if (sig[n] == '(' || sig[n] == '{')
                        depth++;
                else if ((sig[n] == ')' || sig[n] == '}') && --depth == 0)
                        return n + 1;
        }
        return n;
}

/* Appends one complete type chosen by the input to sig (of size sig_size); false if it would not fit. */
static bool fuzz_bluez_gen_type(struct fuzz_bluez_input *in, unsigned depth, char *sig, size_t sig_size) {
        static const char basic[] = "ybnqiuxtdsog";
        size_t len = strlen(sig);
        uint8_t t = fuzz_bluez_byte(in) % 17;

        if (len + 8 >= sig_size)
                return false;
        if (depth >= 4 && t >= 12)
                t = 0;          /* deep enough: a basic type ends the recursion */
        if (t < 12) {
                sig[len] = basic[t];
                sig[len + 1] = '\0';
                return true;
        }
        switch (t) {
        case 12:        /* an array */
                strcpy(sig + len, "a");
                return fuzz_bluez_gen_type(in, depth + 1, sig, sig_size);
        case 13:        /* a dictionary with a basic key */
                sig[len] = 'a', sig[len + 1] = '{', sig[len + 2] = basic[fuzz_bluez_byte(in) % 12], sig[len + 3] = '\0';
                if (!fuzz_bluez_gen_type(in, depth + 1, sig, sig_size))
                        return false;
                len = strlen(sig);
                if (len + 2 >= sig_size)
                        return false;
                strcpy(sig + len, "}");
                return true;
        case 14:        /* a struct of one to three members */
                strcpy(sig + len, "(");
                for (unsigned i = 0, n = fuzz_bluez_byte(in) % 3 + 1; i < n; i++)
                        if (!fuzz_bluez_gen_type(in, depth + 1, sig, sig_size))
                                return false;
                len = strlen(sig);
                if (len + 2 >= sig_size)
                        return false;
                strcpy(sig + len, ")");
                return true;
        case 15:
                strcpy(sig + len, "a{sv}");
                return true;
        default:
                strcpy(sig + len, "v");
                return true;
        }
}

static int fuzz_bluez_write(sd_bus_message *m, struct fuzz_bluez_input *in, const char *sig, unsigned depth);

/* Appends a basic value of type t from the input; a string's text goes to *ret_string if asked. */
static int fuzz_bluez_write_basic(sd_bus_message *m, struct fuzz_bluez_input *in, char t, char **ret_string) {
        static const char *const paths[] = { "/", "/org/bluez/hci0", "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF" };
        static const char *const sigs[] = { "", "s", "a{sv}", "yyy", "v" };
        union {
                uint8_t y;
                int b;
                uint16_t q;
                uint32_t u;
                uint64_t t;
                double d;
        } v = {};
        char *s;
        int r;

        switch (t) {
        case 'y':
                v.y = fuzz_bluez_byte(in);
                return sd_bus_message_append_basic(m, t, &v);
        case 'b':
                v.b = fuzz_bluez_byte(in) % 3;  /* 2 must read back as true */
                return sd_bus_message_append_basic(m, t, &v);
        case 'n':
        case 'q':
                v.q = (uint16_t) fuzz_bluez_bytes(in, 2);
                return sd_bus_message_append_basic(m, t, &v);
        case 'i':
        case 'u':
                v.u = (uint32_t) fuzz_bluez_bytes(in, 4);
                return sd_bus_message_append_basic(m, t, &v);
        case 'x':
        case 't':
        case 'd':
                v.t = fuzz_bluez_bytes(in, 8);
                return sd_bus_message_append_basic(m, t, &v);
        case 'o':
                return sd_bus_message_append_basic(m, t, paths[fuzz_bluez_byte(in) % 3]);
        case 'g':
                return sd_bus_message_append_basic(m, t, sigs[fuzz_bluez_byte(in) % 5]);
        default:
                s = fuzz_bluez_string(in);
                FUZZ_CHECK(s);
                r = sd_bus_message_append_basic(m, 's', s);
                if (ret_string && r >= 0)
                        *ret_string = s;
                else
                        free(s);
                return r;
        }
}

/* Appends a container's members: n elements of an array, or each member of a struct or entry. */
static int fuzz_bluez_write_container(sd_bus_message *m, struct fuzz_bluez_input *in, char kind, const char *contents,
                                      unsigned depth) {
        int r;

        r = sd_bus_message_open_container(m, kind, contents);
        if (r < 0)
                return r;
        if (kind == 'a') {
                for (unsigned i = 0, n = fuzz_bluez_byte(in) % 5; i < n; i++) {
                        r = fuzz_bluez_write(m, in, contents, depth + 1);
                        if (r < 0)
                                return r;
                }
        } else
                for (const char *p = contents; *p; p += fuzz_bluez_type_len(p)) {
                        r = fuzz_bluez_write(m, in, p, depth + 1);
                        if (r < 0)
                                return r;
                }
        return sd_bus_message_close_container(m);
}

/* Appends a variant whose contents type comes from the input. */
static int fuzz_bluez_write_variant(sd_bus_message *m, struct fuzz_bluez_input *in, unsigned depth) {
        char sig[64] = "";
        int r;

        if (depth >= FUZZ_BLUEZ_DEPTH_MAX || !fuzz_bluez_gen_type(in, 0, sig, sizeof(sig)))
                strcpy(sig, "y");
        r = sd_bus_message_open_container(m, 'v', sig);
        if (r < 0)
                return r;
        r = fuzz_bluez_write(m, in, sig, depth + 1);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

/* Appends one value of the complete type at the start of sig. */
static int fuzz_bluez_write(sd_bus_message *m, struct fuzz_bluez_input *in, const char *sig, unsigned depth) {
        char contents[64];
        size_t n = fuzz_bluez_type_len(sig);

        if (depth >= FUZZ_BLUEZ_DEPTH_MAX)
                return -ELOOP;
        switch (sig[0]) {
        case 'v':
                return fuzz_bluez_write_variant(m, in, depth);
        case 'a':
                if (n - 1 >= sizeof(contents))
                        return -E2BIG;
                memcpy(contents, sig + 1, n - 1);
                contents[n - 1] = '\0';
                return fuzz_bluez_write_container(m, in, 'a', contents, depth);
        case '(':
        case '{':
                if (n - 2 >= sizeof(contents))
                        return -E2BIG;
                memcpy(contents, sig + 1, n - 2);
                contents[n - 2] = '\0';
                return fuzz_bluez_write_container(m, in, sig[0] == '(' ? 'r' : 'e', contents, depth);
        default:
                return fuzz_bluez_write_basic(m, in, sig[0], NULL);
        }
}

/* Appends one dictionary entry and notes in the model what the decoder must make of it. */
static int fuzz_bluez_write_entry(sd_bus_message *m, struct fuzz_bluez_input *in, const char *interface,
                                  struct fuzz_bluez_model *model) {
        static const char *const keys[] = { "Percentage", "Connected", "Address", "Name", "Alias", NULL, "UUIDs", "" };
        bool is_device = strcmp(interface, BLUEZ_DEVICE_IFACE) == 0;
        bool is_battery = strcmp(interface, BLUEZ_BATTERY_IFACE) == 0;
        const char *key = keys[fuzz_bluez_byte(in) % 8];
        char *own_key = NULL, *text = NULL, sig[64] = "";
        uint8_t likely = fuzz_bluez_byte(in);
        int r;

        if (!key)
                key = own_key = fuzz_bluez_string(in);
        /* mostly the type the key should have, so that values get past the type check */
        if (likely % 4 != 0)
                strcpy(sig, (const char *[]) { "y", "b", "s", "s", "s", "s", "as", "s" }[likely / 4 % 8]);
        else if (!fuzz_bluez_gen_type(in, 0, sig, sizeof(sig)))
                strcpy(sig, "y");

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append_basic(m, 's', key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', sig);
        if (r < 0)
                goto out;

        if (is_battery && strcmp(key, "Percentage") == 0) {
                if (strcmp(sig, "y") == 0) {
                        uint8_t v = fuzz_bluez_byte(in);

                        r = sd_bus_message_append_basic(m, 'y', &v);
                        if (v <= 100) {
                                model->present |= BLUEZ_PROP_PERCENTAGE;
                                model->percentage = v;
                        } else
                                model->problems++;
                        goto close;
                }
                model->problems++;
        } else if (is_device && strcmp(key, "Connected") == 0) {
                if (strcmp(sig, "b") == 0) {
                        int v = fuzz_bluez_byte(in) % 3;

                        r = sd_bus_message_append_basic(m, 'b', &v);
                        model->present |= BLUEZ_PROP_CONNECTED;
                        model->connected = v != 0;
                        goto close;
                }
                model->problems++;
        } else if (is_device && (strcmp(key, "Address") == 0 || strcmp(key, "Name") == 0 || strcmp(key, "Alias") == 0)) {
                if (strcmp(sig, "s") == 0) {
                        r = fuzz_bluez_write_basic(m, in, 's', &text);
                        if (r < 0)
                                goto out;
                        if (key[1] == 'd') {
                                if (address_normalize(text, model->address) == 0)
                                        model->present |= BLUEZ_PROP_ADDRESS;
                                else
                                        model->problems++;
                        } else if (key[0] == 'N') {
                                chargelog_clean_name(text, model->name, sizeof(model->name));
                                model->present |= BLUEZ_PROP_NAME;
                        } else {
                                chargelog_clean_name(text, model->alias, sizeof(model->alias));
                                model->present |= BLUEZ_PROP_ALIAS;
                        }
                        goto close;
                }
                model->problems++;
        }
        r = fuzz_bluez_write(m, in, sig, 1);
close:
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
out:
        free(own_key);
        free(text);
        return r;
}

/* The bus messages are built on: started over a socketpair, made once. */
static sd_bus *fuzz_bluez_bus(void) {
        static sd_bus *bus;
        int fds[2];

        if (bus)
                return bus;
        FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
        FUZZ_CHECK(sd_bus_new(&bus) >= 0);
        FUZZ_CHECK(sd_bus_set_fd(bus, fds[0], fds[0]) >= 0);
        FUZZ_CHECK(sd_bus_start(bus) >= 0);
        close(fds[1]);
        return bus;
}

/* What the decoder says of a value it kept: in range, canonical, clean. */
static void fuzz_bluez_check_props(const struct bluez_props *p) {
        if (p->present & BLUEZ_PROP_PERCENTAGE)
                FUZZ_CHECK(p->percentage >= 0 && p->percentage <= 100);
        else
                FUZZ_CHECK(p->percentage == -1);
        if (p->present & BLUEZ_PROP_ADDRESS) {
                char again[ADDRESS_STRING_MAX];

                FUZZ_CHECK(address_normalize(p->address, again) == 0 && strcmp(again, p->address) == 0);
        }
        for (int i = 0; i < 2; i++) {
                const char *s = i ? p->alias : p->name;

                if (!(p->present & (i ? BLUEZ_PROP_ALIAS : BLUEZ_PROP_NAME)))
                        continue;
                FUZZ_CHECK(strnlen(s, CHARGELOG_NAME_MAX + 1) <= CHARGELOG_NAME_MAX);
                for (const char *q = s; *q; q++)
                        FUZZ_CHECK((unsigned char) *q >= 0x20 && *q != 0x7f);
                FUZZ_CHECK(fuzz_bluez_utf8_valid(s));
        }
        for (unsigned i = 0; i < p->n_problems && i < BLUEZ_PROBLEMS_MAX; i++)
                FUZZ_CHECK(strnlen(p->problems[i], sizeof(p->problems[i])) < sizeof(p->problems[i]) &&
                           p->problems[i][0] != '\0');
}

/* Merging the decoded properties over a device's known ones takes exactly what they have. */
static void fuzz_bluez_check_merge(const struct bluez_props *p) {
        struct bluez_props known = {
                .present = BLUEZ_PROP_ADDRESS | BLUEZ_PROP_NAME | BLUEZ_PROP_CONNECTED | BLUEZ_PROP_PERCENTAGE,
                .address = "00:11:22:33:44:55", .name = "old", .alias = "", .connected = true, .percentage = 42,
        }, before = known;

        bluez_decode_merge(&known, p);
        FUZZ_CHECK(known.present == (before.present | p->present));
        FUZZ_CHECK(strcmp(known.address, p->present & BLUEZ_PROP_ADDRESS ? p->address : before.address) == 0);
        FUZZ_CHECK(strcmp(known.name, p->present & BLUEZ_PROP_NAME ? p->name : before.name) == 0);
        FUZZ_CHECK(strcmp(known.alias, p->present & BLUEZ_PROP_ALIAS ? p->alias : before.alias) == 0);
        FUZZ_CHECK(known.connected == (p->present & BLUEZ_PROP_CONNECTED ? p->connected : before.connected));
        FUZZ_CHECK(known.percentage == (p->present & BLUEZ_PROP_PERCENTAGE ? p->percentage : before.percentage));
}

/* Builds a message from the input, decodes it, and checks the decoder against the model. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const interfaces[] = { BLUEZ_DEVICE_IFACE, BLUEZ_BATTERY_IFACE, "org.bluez.MediaControl1" };
        struct fuzz_bluez_input in = { .data = data, .size = size };
        struct fuzz_bluez_model model = { .percentage = -1 };
        const char *interface = interfaces[fuzz_bluez_byte(&in) % 3], *read_interface;
        uint8_t shape = fuzz_bluez_byte(&in) % 8;
        sd_bus_message *m = NULL;
        struct bluez_props p;
        static uint64_t cookie;
        int r;

        FUZZ_CHECK(sd_bus_message_new_signal(fuzz_bluez_bus(), &m, "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF",
                                             "org.freedesktop.DBus.Properties", "PropertiesChanged") >= 0);
        r = sd_bus_message_append_basic(m, 's', interface);
        if (r < 0)
                goto out;
        if (shape < 7) {
                r = sd_bus_message_open_container(m, 'a', "{sv}");
                for (unsigned i = 0; r >= 0 && i < FUZZ_BLUEZ_ENTRIES_MAX && in.pos < in.size; i++)
                        r = fuzz_bluez_write_entry(m, &in, interface, &model);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        } else
                r = fuzz_bluez_write_variant(m, &in, 0) >= 0 ? 0 : -1; /* not a dictionary: a lone variant */
        if (r >= 0)
                r = sd_bus_message_append(m, "as", 1, "Percentage");
        if (r < 0)
                goto out;       /* sd-bus refused what we built (say, a string it finds invalid): nothing to test */
        FUZZ_CHECK(sd_bus_message_seal(m, ++cookie, 0) >= 0);
        FUZZ_CHECK(sd_bus_message_rewind(m, true) >= 0);

        FUZZ_CHECK(sd_bus_message_read(m, "s", &read_interface) > 0);
        r = bluez_decode_props(m, interface, &p);
        if (shape == 7) {
                FUZZ_CHECK(r < 0);
                goto out;
        }
        FUZZ_CHECK(r > 0);
        fuzz_bluez_check_props(&p);
        FUZZ_CHECK(p.present == model.present);
        FUZZ_CHECK(p.n_problems == model.problems);
        if (model.present & BLUEZ_PROP_PERCENTAGE)
                FUZZ_CHECK(p.percentage == model.percentage);
        if (model.present & BLUEZ_PROP_CONNECTED)
                FUZZ_CHECK(p.connected == model.connected);
        if (model.present & BLUEZ_PROP_ADDRESS)
                FUZZ_CHECK(strcmp(p.address, model.address) == 0);
        if (model.present & BLUEZ_PROP_NAME)
                FUZZ_CHECK(strcmp(p.name, model.name) == 0);
        if (model.present & BLUEZ_PROP_ALIAS)
                FUZZ_CHECK(strcmp(p.alias, model.alias) == 0);
        /* the decoder read exactly the dictionary: the invalidated list comes next */
        FUZZ_CHECK(sd_bus_message_enter_container(m, 'a', "s") > 0);
        fuzz_bluez_check_merge(&p);
out:
        sd_bus_message_unref(m);
        return 0;
}
