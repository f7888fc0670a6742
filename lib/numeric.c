/* hpmon — round(), llround() and floor() without libm (see numeric.h).
 *
 * Every double of magnitude 2^52 or more is an integer, so it is its own rounding (NaN
 * and infinities fail the comparison and come back as they are). Below that, truncating
 * through int64_t is exact, and so is x − trunc(x), the fraction: its bits are a subset
 * of x's. So the decision is taken on the exact fraction — unlike floor(x + 0.5), which
 * rounds 0.49999999999999994 up. copysign() keeps the sign of a zero result (round(-0.4)
 * is -0.0). __builtin_fabs and __builtin_copysign are single instructions, never calls. */
#include "numeric.h"

#define NUMERIC_EXACT 0x1p52

/* x rounded to the nearest integer, halves away from zero (round()). */
double numeric_round(double x) {
        double t;

        if (!(__builtin_fabs(x) < NUMERIC_EXACT))
                return x;
        t = (double) (int64_t) x;
        if (__builtin_fabs(x - t) >= 0.5)
                t += x > 0 ? 1.0 : -1.0;
        return __builtin_copysign(t, x);
}

/* The same as an integer (llround()); x must be within int64_t's range, as for llround(). */
int64_t numeric_llround(double x) {
        return (int64_t) numeric_round(x);
}

/* The greatest integer not above x (floor()). */
double numeric_floor(double x) {
        double t;

        if (!(__builtin_fabs(x) < NUMERIC_EXACT))
                return x;
        t = (double) (int64_t) x;
        if (t > x)
                t -= 1.0;
        return __builtin_copysign(t, x);
}
