/* hpmon — growing arrays (see array.h). Doubling keeps appends cheap: a hundred devices
 * reported at a sync cost seven reallocs, not a hundred. */
#include <stdint.h>
#include <stdlib.h>

#include "array.h"

/* Makes room for at least `need` elements of `size` bytes in an array that has room for
 * *cap: the capacity doubles (from `first` when there is none) until they fit. Returns the
 * array, moved or not, with *cap updated; NULL when memory is out or the size would
 * overflow, the array and *cap then left as they were. `size` and `need` must be at least 1
 * (with none needed, an array never allocated would come back NULL). */
void *array_grow(void *array, size_t size, size_t need, size_t first, size_t *cap) {
        size_t n;
        void *grown;

        if (need <= *cap)
                return array;
        n = *cap > 0 ? *cap : first > 0 ? first : 1;
        while (n < need) {
                if (n > SIZE_MAX / 2)
                        return NULL;
                n *= 2;
        }
        if (n > SIZE_MAX / size)
                return NULL;
        grown = realloc(array, n * size);
        if (!grown)
                return NULL;
        *cap = n;
        return grown;
}
