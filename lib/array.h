/* hpmon — arrays that grow by doubling: the device tables, a device's queue of events
 * waiting for the disk, the checkpoint's buffers. Pure: libc only. */
#pragma once

#include <stddef.h>

void *array_grow(void *array, size_t size, size_t need, size_t first, size_t *cap);
