/* Unit tests of lib/array.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "array.h"

/* An empty array gets `first`; an array with room is returned as it is. */
static void test_first_and_room(void **state) {
        size_t cap = 0;
        int *a = array_grow(NULL, sizeof(*a), 1, 8, &cap), *same;

        assert_non_null(a);
        assert_int_equal(cap, 8);
        same = array_grow(a, sizeof(*a), 8, 8, &cap);
        assert_ptr_equal(same, a);
        assert_int_equal(cap, 8);
        free(a);
}

/* Full, it doubles (as often as it takes to fit) and keeps what it held. */
static void test_doubles(void **state) {
        size_t cap = 0;
        int *a = NULL, *grown;

        for (int i = 0; i < 1000; i++) {
                grown = array_grow(a, sizeof(*a), (size_t) i + 1, 16, &cap);
                assert_non_null(grown);
                a = grown;
                a[i] = i;
        }
        assert_int_equal(cap, 1024);
        for (int i = 0; i < 1000; i++)
                assert_int_equal(a[i], i);
        grown = array_grow(a, sizeof(*a), 5000, 16, &cap);
        assert_non_null(grown);
        assert_int_equal(cap, 8192);
        free(grown);

        cap = 0;
        grown = array_grow(NULL, 1, 10000, 4096, &cap);
        assert_non_null(grown);
        assert_int_equal(cap, 16384);
        free(grown);
}

/* A capacity or a size in bytes past SIZE_MAX fails and leaves the array as it was. */
static void test_overflow(void **state) {
        size_t cap = 0;
        char *a = array_grow(NULL, 1, 8, 8, &cap);

        assert_non_null(a);
        a[7] = 'x';
        assert_null(array_grow(a, 1, SIZE_MAX, 8, &cap));
        assert_int_equal(cap, 8);
        /* 16 elements of this size wrap around to 16 bytes: only the size check refuses it */
        assert_null(array_grow(a, SIZE_MAX / 16 + 2, 9, 8, &cap));
        assert_int_equal(cap, 8);
        assert_int_equal(a[7], 'x');
        free(a);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_first_and_room),
                cmocka_unit_test(test_doubles),
                cmocka_unit_test(test_overflow),
        };
        return cmocka_run_group_tests_name("/array", tests, NULL, NULL);
}
