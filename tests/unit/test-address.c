/* Unit tests of lib/address.c: addresses, and their spelling in file names (lib/busdef.c's
 * object paths are tests/unit/test-busdef.c's). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "address.h"
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_normalize),
                cmocka_unit_test(test_underscores),
        };
        return cmocka_run_group_tests_name("/address", tests, NULL, NULL);
}
