/* hpmon fuzz targets: the libFuzzer entry point, and the checks a target makes on what
 * the code under test returns. Each target is built twice: with clang and libFuzzer for
 * `make fuzz`, and with the project's compiler and fuzz-main.c as a `make check` test that
 * runs every file of its seed corpus and its reproducers once. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the code under test broke: abort, so libFuzzer keeps the input as a crash. */
#define FUZZ_CHECK(cond)                                                                        \
        do {                                                                                    \
                if (!(cond)) {                                                                  \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
                        abort();                                                                \
                }                                                                               \
        } while (0)
