/* Unit tests of daemon/bluez-decode.c: every value from BlueZ is checked. Messages are
 * built by sd-bus itself on a bus over a socketpair (no daemon needed to build one). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "bluez-decode.h"
#include "test-bus.h"

/* A new signal message, ready to append a body to. */
static sd_bus_message *new_message(void **state) {
        sd_bus_message *m = NULL;

        assert_int_equal(sd_bus_message_new_signal(*state, &m, "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF",
                                                   "org.freedesktop.DBus.Properties", "PropertiesChanged"), 0);
        return m;
}

/* Good Device1 properties are all read; what hpmond does not use is skipped, however nested. */
static void test_device_good(void **state) {
        sd_bus_message *m = new_message(state);
        struct bluez_props p;

        assert_true(sd_bus_message_append(m, "a{sv}", 6,
                                          "Address", "s", "aa:bb:cc:dd:ee:ff",
                                          "UUIDs", "as", 2, "0000110b-0000-1000-8000-00805f9b34fb", "x",
                                          "Name", "s", "WH-1000XM4",
                                          "Alias", "s", "My headphones",
                                          "RSSI", "n", -60,
                                          "Connected", "b", 1) >= 0);
        seal_message(m);
        assert_int_equal(bluez_decode_props(m, "org.bluez.Device1", &p), 1);
        assert_int_equal(p.present, BLUEZ_PROP_ADDRESS | BLUEZ_PROP_NAME | BLUEZ_PROP_ALIAS | BLUEZ_PROP_CONNECTED);
        assert_string_equal(p.address, "AA:BB:CC:DD:EE:FF");
        assert_string_equal(p.name, "WH-1000XM4");
        assert_string_equal(p.alias, "My headphones");
        assert_true(p.connected);
        assert_int_equal(p.n_problems, 0);
        sd_bus_message_unref(m);
}

struct battery_case {
        const char *name;
        const char *sig;        /* variant signature of Percentage */
        int value;
        bool valid;
};

static const struct battery_case battery_cases[] = {
        { "byte 80", "y", 80, true },
        { "byte 0", "y", 0, true },
        { "byte 100", "y", 100, true },
        { "byte 101", "y", 101, false },
        { "byte 255", "y", 255, false },
        { "int32 80", "i", 80, false },
        { "uint32 80", "u", 80, false },
        { "string", "s", 0, false },
};

/* Battery1.Percentage must be a byte within 0..100; anything else is a problem, never a value. */
static void test_battery(void **state) {
        for (size_t i = 0; i < sizeof(battery_cases) / sizeof(battery_cases[0]); i++) {
                const struct battery_case *c = &battery_cases[i];
                sd_bus_message *m = new_message(state);
                struct bluez_props p;
                int r;

                if (c->sig[0] == 's')
                        r = sd_bus_message_append(m, "a{sv}", 1, "Percentage", "s", "eighty");
                else if (c->sig[0] == 'y')
                        r = sd_bus_message_append(m, "a{sv}", 1, "Percentage", "y", (uint8_t) c->value);
                else
                        r = sd_bus_message_append(m, "a{sv}", 1, "Percentage", c->sig, (int32_t) c->value);
                assert_true(r >= 0);
                seal_message(m);
                assert_int_equal(bluez_decode_props(m, "org.bluez.Battery1", &p), 1);
                if (c->valid) {
                        if (!(p.present & BLUEZ_PROP_PERCENTAGE) || p.percentage != c->value)
                                fail_msg("%s: not read", c->name);
                        assert_int_equal(p.n_problems, 0);
                } else {
                        if (p.present & BLUEZ_PROP_PERCENTAGE)
                                fail_msg("%s: accepted", c->name);
                        assert_int_equal(p.n_problems, 1);
                        assert_non_null(strstr(p.problems[0], "Percentage"));
                }
                sd_bus_message_unref(m);
        }
}

/* Wrong types and bad addresses on Device1 are problems; the good properties still count. */
static void test_device_bad(void **state) {
        sd_bus_message *m = new_message(state);
        struct bluez_props p;

        assert_true(sd_bus_message_append(m, "a{sv}", 5,
                                          "Connected", "s", "yes",
                                          "Address", "s", "not-an-address",
                                          "Name", "u", 7,
                                          "Alias", "s", "ok",
                                          "Percentage", "y", 50 /* not a Device1 property */) >= 0);
        seal_message(m);
        assert_int_equal(bluez_decode_props(m, "org.bluez.Device1", &p), 1);
        assert_int_equal(p.present, BLUEZ_PROP_ALIAS);
        assert_int_equal(p.n_problems, 3);
        assert_non_null(strstr(p.problems[0], "Connected"));
        assert_non_null(strstr(p.problems[1], "not a Bluetooth address"));
        sd_bus_message_unref(m);
}

/* A huge name is cut to 248 bytes on a UTF-8 boundary; control characters become spaces. */
static void test_names(void **state) {
        sd_bus_message *m = new_message(state);
        struct bluez_props p;
        char huge[10000];

        /* "é" is two bytes: after one 'x', byte 248 falls inside one */
        size_t o = 0;

        huge[o++] = 'x';
        while (o + 2 < sizeof(huge))
                memcpy(huge + o, "\xc3\xa9", 2), o += 2;
        huge[o] = '\0';
        assert_true(sd_bus_message_append(m, "a{sv}", 2, "Alias", "s", huge, "Name", "s", "a\nb\tc") >= 0);
        seal_message(m);
        assert_int_equal(bluez_decode_props(m, "org.bluez.Device1", &p), 1);
        assert_true(strlen(p.alias) <= CHARGELOG_NAME_MAX);
        assert_int_equal(strlen(p.alias) % 2, 1);      /* 'x' plus whole two-byte characters */
        assert_string_equal(p.name, "a b c");
        sd_bus_message_unref(m);
}

/* A body that is not a{sv} fails as a whole. */
static void test_not_a_dict(void **state) {
        sd_bus_message *m = new_message(state);
        struct bluez_props p;

        assert_true(sd_bus_message_append(m, "s", "nope") >= 0);
        seal_message(m);
        assert_true(bluez_decode_props(m, "org.bluez.Device1", &p) < 0);
        sd_bus_message_unref(m);
}

/* One property as a Properties.Get reply carries it: a lone variant. */
struct value_case {
        const char *name;
        const char *interface, *key;
        char type;              /* 's', 'b' or 'y' */
        const char *s;
        int v;
        unsigned present;       /* what it must set */
        unsigned problems;
};

static const struct value_case value_cases[] = {
        { "address", "org.bluez.Device1", "Address", 's', "aa:bb:cc:dd:ee:01", 0, BLUEZ_PROP_ADDRESS, 0 },
        { "bad address", "org.bluez.Device1", "Address", 's', "aa:bb", 0, 0, 1 },
        { "connected false", "org.bluez.Device1", "Connected", 'b', NULL, 0, BLUEZ_PROP_CONNECTED, 0 },
        { "connected as a string", "org.bluez.Device1", "Connected", 's', "no", 0, 0, 1 },
        { "percentage", "org.bluez.Battery1", "Percentage", 'y', NULL, 42, BLUEZ_PROP_PERCENTAGE, 0 },
        { "percentage 101", "org.bluez.Battery1", "Percentage", 'y', NULL, 101, 0, 1 },
        { "percentage on Device1", "org.bluez.Device1", "Percentage", 'y', NULL, 42, 0, 0 },
        { "alias", "org.bluez.Device1", "Alias", 's', "Buds", 0, BLUEZ_PROP_ALIAS, 0 },
};

/* bluez_decode_value() reads one variant with the same checks as a dictionary entry, and
 * reads it whole (the message is at its end after it). */
static void test_value(void **state) {
        for (size_t i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]); i++) {
                const struct value_case *vc = &value_cases[i];
                sd_bus_message *m = new_message(state);
                struct bluez_props p;

                if (vc->type == 's')
                        assert_true(sd_bus_message_append(m, "v", "s", vc->s) >= 0);
                else if (vc->type == 'b')
                        assert_true(sd_bus_message_append(m, "v", "b", vc->v) >= 0);
                else
                        assert_true(sd_bus_message_append(m, "v", "y", (uint8_t) vc->v) >= 0);
                seal_message(m);
                bluez_decode_init(&p);
                assert_true(bluez_decode_value(m, vc->interface, vc->key, &p) >= 0);
                if (p.present != vc->present || p.n_problems != vc->problems)
                        fail_msg("%s: present %#x, %u problems", vc->name, p.present, p.n_problems);
                assert_true(sd_bus_message_at_end(m, true) > 0);
                if (vc->present & BLUEZ_PROP_ADDRESS)
                        assert_string_equal(p.address, "AA:BB:CC:DD:EE:01");
                if (vc->present & BLUEZ_PROP_CONNECTED)
                        assert_false(p.connected);
                if (vc->present & BLUEZ_PROP_PERCENTAGE)
                        assert_int_equal(p.percentage, vc->v);
                sd_bus_message_unref(m);
        }
}

/* A Properties.Get reply with no variant where the value should be (an empty body, a bare
 * string) is refused as a whole, whatever the property. */
static void test_value_not_a_variant(void **state) {
        static const char *const keys[][2] = {
                { "org.bluez.Device1", "Address" }, { "org.bluez.Device1", "Connected" },
                { "org.bluez.Battery1", "Percentage" }, { "org.bluez.Device1", "Icon" },
        };

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                for (int bare = 0; bare <= 1; bare++) {
                        sd_bus_message *m = new_message(state);
                        struct bluez_props p;

                        if (bare)
                                assert_true(sd_bus_message_append(m, "s", "AA:BB:CC:DD:EE:01") >= 0);
                        seal_message(m);
                        bluez_decode_init(&p);
                        assert_int_equal(bluez_decode_value(m, keys[i][0], keys[i][1], &p), -EBADMSG);
                        assert_int_equal(p.present, 0);
                        sd_bus_message_unref(m);
                }
}

/* Merging keeps old values for what the newer report lacks. */
static void test_merge(void **state) {
        struct bluez_props a = { .present = BLUEZ_PROP_CONNECTED | BLUEZ_PROP_PERCENTAGE, .connected = true, .percentage = 80 };
        struct bluez_props b = { .present = BLUEZ_PROP_PERCENTAGE, .percentage = 70 };

        bluez_decode_merge(&a, &b);
        assert_true(a.connected);
        assert_int_equal(a.percentage, 70);
        assert_int_equal(a.present, BLUEZ_PROP_CONNECTED | BLUEZ_PROP_PERCENTAGE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_device_good, setup_bus, teardown_bus),
                cmocka_unit_test_setup_teardown(test_battery, setup_bus, teardown_bus),
                cmocka_unit_test_setup_teardown(test_device_bad, setup_bus, teardown_bus),
                cmocka_unit_test_setup_teardown(test_names, setup_bus, teardown_bus),
                cmocka_unit_test_setup_teardown(test_not_a_dict, setup_bus, teardown_bus),
                cmocka_unit_test_setup_teardown(test_value, setup_bus, teardown_bus),
                cmocka_unit_test_setup_teardown(test_value_not_a_variant, setup_bus, teardown_bus),
                cmocka_unit_test(test_merge),
        };
        return cmocka_run_group_tests_name("/bluez-decode", tests, NULL, NULL);
}
