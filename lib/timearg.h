/* hpmon — time arguments on the command line (--since, --until), with "now" passed in. */
#pragma once

#include <stdint.h>

int timearg_parse(const char *s, int64_t now_ms, int64_t *ret_ms);
