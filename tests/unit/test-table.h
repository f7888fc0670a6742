/* Unit tests' case tables: one cmocka test per row, the row handed to the test as its state
 * and its `name` the test's name. Shared by the table-driven tests; include after <cmocka.h>. */
#pragma once

#include <stddef.h>

/* The number of rows of a table (an array, not a pointer). */
#define TEST_TABLE_ROWS(table) (sizeof(table) / sizeof((table)[0]))

/* Appends to tests[] at index n (advanced) one test per row of `table`, each running `func`. */
#define TEST_TABLE_ADD(tests, n, table, func)                                                         \
        for (size_t test_table_row_ = 0; test_table_row_ < TEST_TABLE_ROWS(table); test_table_row_++) \
        (tests)[(n)++] = (struct CMUnitTest) {                                                        \
                .name = (table)[test_table_row_].name,                                                \
                .test_func = (func),                                                                  \
                .initial_state = (void *) &(table)[test_table_row_],                                  \
        }
