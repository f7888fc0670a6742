/* Unit tests of lib/busdef.c: hpmond's device paths, BlueZ's adapter and device paths, the
 * errno ↔ D-Bus error table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test-table.h"

#include "busdef.h"

/* An adapter element longer than any BlueZ writes: D-Bus sets no limit on one. */
#define LONG_ADAPTER "/org/bluez/" \
        "hci_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct busdef_bluez_case {
        const char *name;
        const char *path;
        int ret;                /* of busdef_bluez_device_parse() */
        const char *adapter;    /* on success: the adapter's path, and */
        const char *address;    /* the address, canonical */
};

static const struct busdef_bluez_case cases[] = {
        /* as bluetoothd writes them (src/adapter.c, src/device.c): upper-case hex */
        { "/busdef/bluez/ok/upper", "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_0F", 0, "/org/bluez/hci0", "AA:BB:CC:DD:EE:0F" },
        { "/busdef/bluez/ok/hci12", "/org/bluez/hci12/dev_00_1B_66_0A_0B_0C", 0, "/org/bluez/hci12", "00:1B:66:0A:0B:0C" },
        /* lower or mixed case names the same address, given back canonical */
        { "/busdef/bluez/ok/lower", "/org/bluez/hci0/dev_aa_bb_cc_dd_ee_0f", 0, "/org/bluez/hci0", "AA:BB:CC:DD:EE:0F" },
        { "/busdef/bluez/ok/mixed", "/org/bluez/hci0/dev_aA_Bb_cc_DD_ee_0F", 0, "/org/bluez/hci0", "AA:BB:CC:DD:EE:0F" },
        /* an adapter element of any length and path characters */
        { "/busdef/bluez/ok/long-adapter", LONG_ADAPTER "/dev_AA_BB_CC_DD_EE_0F", 0, LONG_ADAPTER, "AA:BB:CC:DD:EE:0F" },
        { "/busdef/bluez/ok/odd-adapter", "/org/bluez/_/dev_AA_BB_CC_DD_EE_0F", 0, "/org/bluez/_", "AA:BB:CC:DD:EE:0F" },
        /* too long: more address, or an object below the device (a GATT service) */
        { "/busdef/bluez/too-long/address", "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_0F0", -EINVAL, NULL, NULL },
        { "/busdef/bluez/too-long/seven-bytes", "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_0F_11", -EINVAL, NULL, NULL },
        { "/busdef/bluez/too-long/below-device", "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_0F/service0001", -EINVAL, NULL, NULL },
        { "/busdef/bluez/too-long/trailing-slash", "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_0F/", -EINVAL, NULL, NULL },
        { "/busdef/bluez/too-long/two-adapters", "/org/bluez/hci0/hci1/dev_AA_BB_CC_DD_EE_0F", -EINVAL, NULL, NULL },
        /* missing parts */
        { "/busdef/bluez/missing/empty", "", -EINVAL, NULL, NULL },
        { "/busdef/bluez/missing/root", "/", -EINVAL, NULL, NULL },
        { "/busdef/bluez/missing/namespace-only", "/org/bluez", -EINVAL, NULL, NULL },
        { "/busdef/bluez/missing/adapter-only", "/org/bluez/hci0", -EINVAL, NULL, NULL },
        { "/busdef/bluez/missing/adapter", "/org/bluez/dev_AA_BB_CC_DD_EE_0F", -EINVAL, NULL, NULL },
        { "/busdef/bluez/missing/adapter-empty", "/org/bluez//dev_AA_BB_CC_DD_EE_0F", -EINVAL, NULL, NULL },
        { "/busdef/bluez/missing/address", "/org/bluez/hci0/dev_", -EINVAL, NULL, NULL },
        { "/busdef/bluez/missing/one-byte", "/org/bluez/hci0/dev_AA_BB_CC_DD_EE", -EINVAL, NULL, NULL },
        { "/busdef/bluez/missing/one-digit", "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_0", -EINVAL, NULL, NULL },
        /* wrong prefix: outside BlueZ's namespace, or not a device's element */
        { "/busdef/bluez/prefix/hpmon", "/org/hpmon/Monitor1/devices/dev_AA_BB_CC_DD_EE_0F", -EINVAL, NULL, NULL },
        { "/busdef/bluez/prefix/longer-namespace", "/org/bluezz/hci0/dev_AA_BB_CC_DD_EE_0F", -EINVAL, NULL, NULL },
        { "/busdef/bluez/prefix/above-namespace", "/org/hci0/dev_AA_BB_CC_DD_EE_0F", -EINVAL, NULL, NULL },
        { "/busdef/bluez/prefix/relative", "org/bluez/hci0/dev_AA_BB_CC_DD_EE_0F", -EINVAL, NULL, NULL },
        { "/busdef/bluez/prefix/upper-dev", "/org/bluez/hci0/DEV_AA_BB_CC_DD_EE_0F", -EINVAL, NULL, NULL },
        { "/busdef/bluez/prefix/no-underscore", "/org/bluez/hci0/devAA_BB_CC_DD_EE_0F", -EINVAL, NULL, NULL },
        { "/busdef/bluez/prefix/player", "/org/bluez/hci0/player0", -EINVAL, NULL, NULL },
        { "/busdef/bluez/prefix/adapter-dash", "/org/bluez/hci-0/dev_AA_BB_CC_DD_EE_0F", -EINVAL, NULL, NULL },
        /* an address spelt some other way */
        { "/busdef/bluez/address/colons", "/org/bluez/hci0/dev_AA:BB:CC:DD:EE:0F", -EINVAL, NULL, NULL },
        { "/busdef/bluez/address/not-hex", "/org/bluez/hci0/dev_GG_BB_CC_DD_EE_0F", -EINVAL, NULL, NULL },
        { "/busdef/bluez/address/no-separators", "/org/bluez/hci0/dev_AABBCCDDEE0F", -EINVAL, NULL, NULL },
};

/* One path: parsed as the table says, set the out-parameters only on success, and known as
 * its device's path (and no other's) on any adapter. */
static void test_bluez_case(void **state) {
        const struct busdef_bluez_case *c = *state;
        char address[ADDRESS_STRING_MAX] = "untouched";
        size_t len = 12345;
        int r;

        r = busdef_bluez_device_parse(c->path, &len, address);
        assert_int_equal(r, c->ret);
        if (r < 0) {
                assert_int_equal(len, 12345);
                assert_string_equal(address, "untouched");
                assert_false(busdef_bluez_device_is(c->path, "AA:BB:CC:DD:EE:0F"));
                return;
        }
        assert_int_equal(len, strlen(c->adapter));
        assert_memory_equal(c->path, c->adapter, len);
        assert_true(busdef_bluez_adapter_valid(c->adapter));
        assert_string_equal(address, c->address);
        assert_true(busdef_bluez_device_is(c->path, c->address));
        assert_false(busdef_bluez_device_is(c->path, "AA:BB:CC:DD:EE:10"));
}

/* Adapters are one element below /org/bluez, of any length; nothing else is one. */
static void test_bluez_adapter(void **state) {
        static const char *const good[] = { "/org/bluez/hci0", "/org/bluez/hci12", "/org/bluez/x", "/org/bluez/HCI0_b",
                                            LONG_ADAPTER };
        static const char *const bad[] = {
                "", "/", "/org/bluez", "/org/bluez/", "/org/bluez/hci0/", "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_0F",
                "/org/bluezhci0", "/org/hci0", "org/bluez/hci0", "/org/bluez//hci0", "/org/bluez/hci-0",
                "/org/hpmon/Monitor1",
        };

        for (size_t i = 0; i < TEST_TABLE_ROWS(good); i++)
                if (!busdef_bluez_adapter_valid(good[i]))
                        fail_msg("'%s' refused", good[i]);
        for (size_t i = 0; i < TEST_TABLE_ROWS(bad); i++)
                if (busdef_bluez_adapter_valid(bad[i]))
                        fail_msg("'%s' accepted", bad[i]);
        assert_false(busdef_bluez_adapter_valid(NULL));
}

/* A device's leaf, the same for hpmond's paths and BlueZ's; BlueZ's path parses back. */
static void test_leaf(void **state) {
        char leaf[BUSDEF_LEAF_MAX], path[sizeof("/org/bluez/hci0") - 1 + BUSDEF_LEAF_MAX], back[ADDRESS_STRING_MAX];
        size_t len;

        busdef_device_leaf("AA:BB:CC:DD:EE:0F", leaf);
        assert_string_equal(leaf, "/dev_AA_BB_CC_DD_EE_0F");
        assert_int_equal(strlen(leaf) + 1, BUSDEF_LEAF_MAX);
        strcpy(path, "/org/bluez/hci0");
        strcat(path, leaf);
        assert_int_equal(busdef_bluez_device_parse(path, &len, back), 0);
        assert_string_equal(back, "AA:BB:CC:DD:EE:0F");
        assert_int_equal(len, strlen("/org/bluez/hci0"));
}

/* A device's path on an adapter of any length parses back; no path is made on an adapter
 * where bluetoothd puts none. */
static void test_bluez_device_path(void **state) {
        static const char *const adapters[] = { "/org/bluez/hci0", LONG_ADAPTER };
        static const char *const bad[] = { "/org/bluez", "/org/bluez/hci0/", "/org/hci0", "" };
        char back[ADDRESS_STRING_MAX], *path, *untouched = (char *) "untouched";
        size_t len;

        for (size_t i = 0; i < TEST_TABLE_ROWS(adapters); i++) {
                path = NULL;
                assert_int_equal(busdef_bluez_device_path(adapters[i], "AA:BB:CC:DD:EE:0F", &path), 0);
                assert_int_equal(strlen(path), strlen(adapters[i]) + strlen("/dev_AA_BB_CC_DD_EE_0F"));
                assert_int_equal(busdef_bluez_device_parse(path, &len, back), 0);
                assert_int_equal(len, strlen(adapters[i]));
                assert_memory_equal(path, adapters[i], len);
                assert_string_equal(back, "AA:BB:CC:DD:EE:0F");
                assert_string_equal(path + len, "/dev_AA_BB_CC_DD_EE_0F");
                free(path);
        }
        for (size_t i = 0; i < TEST_TABLE_ROWS(bad); i++) {
                path = untouched;
                assert_int_equal(busdef_bluez_device_path(bad[i], "AA:BB:CC:DD:EE:0F", &path), -EINVAL);
                assert_ptr_equal(path, untouched);
        }
}

/* hpmond's own device paths round-trip, and only they parse. */
static void test_paths(void **state) {
        char path[BUSDEF_DEVICE_PATH_MAX], back[ADDRESS_STRING_MAX];

        busdef_device_path("AA:BB:CC:DD:EE:0F", path);
        assert_string_equal(path, "/org/hpmon/Monitor1/devices/dev_AA_BB_CC_DD_EE_0F");
        assert_int_equal(busdef_device_address(path, back), 0);
        assert_string_equal(back, "AA:BB:CC:DD:EE:0F");
        assert_int_equal(busdef_device_address("/org/hpmon/Monitor1", back), -EINVAL);
        assert_int_equal(busdef_device_address("/org/hpmon/Monitor1/devices/dev_AA_BB", back), -EINVAL);
        assert_int_equal(busdef_device_address("/org/bluez/hci0/dev_AA_BB_CC_DD_EE_0F", back), -EINVAL);
        assert_int_equal(busdef_device_address(NULL, back), -EINVAL);
}

/* Every errno has one error name; unnamed ones are .Failed. */
static void test_errors(void **state) {
        assert_string_equal(busdef_error_name(-ENODEV), HPMON_ERROR_NO_SUCH_DEVICE);
        assert_string_equal(busdef_error_name(-EINVAL), HPMON_ERROR_INVALID_ARGS);
        assert_string_equal(busdef_error_name(-ENOSPC), HPMON_ERROR_FAILED);
        for (const struct busdef_error *e = busdef_errors; e->name; e++)
                assert_string_equal(busdef_error_name(-e->errnum), e->name);
}

/* A string and whether a yes-or-no question of busdef.c says yes to it. */
struct busdef_yes_no {
        const char *text;
        bool yes;
};

/* Objects below an adapter are its children and deeper, never itself nor a sibling whose
 * name merely begins the same. */
static void test_below(void **state) {
        static const char adapter[] = "/org/bluez/hci1";
        static const struct busdef_yes_no rows[] = {
                { "/org/bluez/hci1/dev_AA_BB_CC_DD_EE_0F", true },
                { "/org/bluez/hci1/dev_AA_BB_CC_DD_EE_0F/sep1", true },
                { "/org/bluez/hci1/anything", true },
                { "/org/bluez/hci1", false },
                { "/org/bluez/hci10/dev_AA_BB_CC_DD_EE_0F", false },
                { "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_0F", false },
                { "/org/bluez", false },
                { "", false },
        };

        for (size_t i = 0; i < TEST_TABLE_ROWS(rows); i++)
                assert_int_equal(busdef_path_is_below(rows[i].text, adapter, strlen(adapter)), rows[i].yes);
        /* the parent is the first parent_len bytes of its string */
        assert_true(busdef_path_is_below("/org/bluez/hci1/dev_X", "/org/bluez/hci1/dev_X", strlen(adapter)));
        assert_false(busdef_path_is_below("/org/bluez/hci1", "", 0));
}

/* Only names that say "no such thing" say something is absent; a timeout, a refusal or a
 * name that merely contains the words does not. */
static void test_error_absent(void **state) {
        static const struct busdef_yes_no rows[] = {
                { "org.freedesktop.DBus.Error.UnknownObject", true },
                { "org.freedesktop.DBus.Error.UnknownInterface", true },
                { "org.freedesktop.DBus.Error.UnknownProperty", true },
                { "org.freedesktop.DBus.Error.UnknownMethod", true },
                { "org.freedesktop.DBus.Error.InvalidArgs", true },
                { "org.bluez.Device1.UnknownInterface", true },
                { "org.bluez.Error.DoesNotExist", false },
                { "org.freedesktop.DBus.Error.NoReply", false },
                { "org.freedesktop.DBus.Error.Timeout", false },
                { "org.freedesktop.DBus.Error.AccessDenied", false },
                { "org.freedesktop.DBus.Error.LimitsExceeded", false },
                { "org.example.UnknownObjectX", false },
                { ".UnknownObject", false },
                { "", false },
        };

        for (size_t i = 0; i < TEST_TABLE_ROWS(rows); i++)
                assert_int_equal(busdef_error_says_absent(rows[i].text), rows[i].yes);
        assert_false(busdef_error_says_absent(NULL));
}

/* Runs the table and the other cases. */
int main(void) {
        struct CMUnitTest tests[TEST_TABLE_ROWS(cases) + 7];
        size_t n = 0;

        TEST_TABLE_ADD(tests, n, cases, test_bluez_case);
        tests[n++] = (struct CMUnitTest) { .name = "/busdef/bluez/adapter", .test_func = test_bluez_adapter };
        tests[n++] = (struct CMUnitTest) { .name = "/busdef/bluez/device-path", .test_func = test_bluez_device_path };
        tests[n++] = (struct CMUnitTest) { .name = "/busdef/leaf", .test_func = test_leaf };
        tests[n++] = (struct CMUnitTest) { .name = "/busdef/paths", .test_func = test_paths };
        tests[n++] = (struct CMUnitTest) { .name = "/busdef/errors", .test_func = test_errors };
        tests[n++] = (struct CMUnitTest) { .name = "/busdef/bluez/below", .test_func = test_below };
        tests[n++] = (struct CMUnitTest) { .name = "/busdef/bluez/error-absent", .test_func = test_error_absent };
        return _cmocka_run_group_tests("busdef", tests, n, NULL, NULL);
}
