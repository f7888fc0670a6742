/* Unit tests of lib/address.c and lib/busdef.c: addresses, file names, object paths, errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "busdef.h"
#include "chargelog.h"

/* Valid addresses come back in BlueZ's canonical upper case; anything else is refused. */
static void test_normalize(void **state) {
        static const char *const bad[] = {
                "", "AA:BB:CC:DD:EE", "AA:BB:CC:DD:EE:FF:00", "AA-BB-CC-DD-EE-FF", "GG:BB:CC:DD:EE:FF",
                "AA:BB:CC:DD:EE:F", " AA:BB:CC:DD:EE:F", "AABBCCDDEEFF", "AA:BB:CC:DD:EE:FFX",
        };
        char out[ADDRESS_STRING_MAX];

        assert_int_equal(address_normalize("aa:bb:cc:dd:ee:0f", out), 0);
        assert_string_equal(out, "AA:BB:CC:DD:EE:0F");
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (address_normalize(bad[i], out) != -EINVAL)
                        fail_msg("'%s' accepted", bad[i]);
        assert_int_equal(address_normalize(NULL, out), -EINVAL);
}

/* File names and object path elements round-trip. */
static void test_underscores(void **state) {
        char u[ADDRESS_STRING_MAX], back[ADDRESS_STRING_MAX], fn[32];

        address_to_underscores("AA:BB:CC:DD:EE:0F", u);
        assert_string_equal(u, "AA_BB_CC_DD_EE_0F");
        assert_int_equal(address_from_underscores(u, back), 0);
        assert_string_equal(back, "AA:BB:CC:DD:EE:0F");
        assert_int_equal(address_from_underscores("aa_bb_cc_dd_ee_0f", back), 0);
        assert_string_equal(back, "AA:BB:CC:DD:EE:0F");
        assert_int_equal(address_from_underscores("AA:BB:CC:DD:EE:0F", back), -EINVAL);
        assert_int_equal(address_from_underscores("AA_BB_CC_DD_EE_0", back), -EINVAL);
        assert_int_equal(chargelog_filename("AA:BB:CC:DD:EE:0F", fn, sizeof(fn)), 0);
        assert_string_equal(fn, "AA_BB_CC_DD_EE_0F.csv");
        assert_int_equal(chargelog_filename("AA:BB:CC:DD:EE:0F", fn, 8), -ENAMETOOLONG);
}

/* Device object paths round-trip, and only they parse. */
static void test_paths(void **state) {
        char path[BUSDEF_DEVICE_PATH_MAX], back[ADDRESS_STRING_MAX];

        busdef_device_path("AA:BB:CC:DD:EE:0F", path);
        assert_string_equal(path, "/org/hpmon/Monitor1/devices/dev_AA_BB_CC_DD_EE_0F");
        assert_int_equal(busdef_device_address(path, back), 0);
        assert_string_equal(back, "AA:BB:CC:DD:EE:0F");
        assert_int_equal(busdef_device_address("/org/hpmon/Monitor1", back), -EINVAL);
        assert_int_equal(busdef_device_address("/org/hpmon/Monitor1/devices/dev_AA_BB", back), -EINVAL);
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_normalize),
                cmocka_unit_test(test_underscores),
                cmocka_unit_test(test_paths),
                cmocka_unit_test(test_errors),
        };
        return cmocka_run_group_tests_name("/address", tests, NULL, NULL);
}
