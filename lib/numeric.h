/* hpmon — rounding without libm. hpmond and hpctl round a few figures (figures.c, a
 * config duration, hpctl's "min ago"); libm would map ~324 KiB of pages into each for
 * that alone (issue 7). Each function returns exactly what its C99 namesake does, for
 * every double: halves away from zero, -0.0 kept, NaN and infinities passed through. */
#pragma once

#include <stdint.h>

double numeric_round(double x);
int64_t numeric_llround(double x);
double numeric_floor(double x);
