/* hpmon — the analyzer's history rings: records by age, and the medians and sums asked of them.
 *
 * Records never change once pushed, and a ring changes only when a rise or fall ends, while
 * detectors ask for the same median (charge-stall's falling pace, slow-charge's usual rate,
 * sudden-drop's drain baseline) and the same sums (fast-drain's baseline) at nearly every
 * event. So every push bumps the ring's generation, and the answers are kept in a few
 * slots keyed by (generation, skip, exclude): a query with the same key is answered from
 * the slot, bit for bit what it would compute again. The slots are plain data inside the
 * ring, a pure function of its records: no pointer, nothing to restore but the records
 * (a zeroed cache is always valid). Pure; never logs. */
#include <string.h>

#include "analyzer-internal.h"

/* Below this many values insertion sort beats quickselect's partitioning. */
#define ANALYZER_RING_SORT_MAX 8

/* An empty ring over a caller's buffer of `cap` records. */
void analyzer_ring_init(struct analyzer_ring *ring, struct analyzer_record *buf, unsigned cap) {
        *ring = (struct analyzer_ring) { .r = buf, .cap = cap, .generation = 1 };
}

/* A record's rate (%/h, positive): the same division, so the same bits, every time. */
double analyzer_record_rate(const struct analyzer_record *r) {
        return r->points / r->hours;
}

/* How many records a ring holds. */
unsigned analyzer_ring_size(const struct analyzer_ring *ring) {
        return ring->n;
}

/* A record by age: 0 is the newest. */
const struct analyzer_record *analyzer_ring_get(const struct analyzer_ring *ring, unsigned age) {
        if (age >= ring->n)
                return NULL;
        return &ring->r[(ring->next + ring->cap - 1 - age) % ring->cap];
}

/* Adds a record, dropping the oldest when full; every cached answer is now stale. */
void analyzer_ring_push(struct analyzer_ring *ring, const struct analyzer_record *rec) {
        ring->r[ring->next] = *rec;
        ring->next = (ring->next + 1) % ring->cap;
        if (ring->n < ring->cap)
                ring->n++;
        if (++ring->generation == 0)
                ring->generation = 1;   /* 0 marks an empty slot */
}

/* Insertion sort of v[lo..hi]; for short runs. */
static void analyzer_ring_sort(double *v, unsigned lo, unsigned hi) {
        for (unsigned i = lo + 1; i <= hi; i++) {
                double x = v[i];
                unsigned j = i;

                while (j > lo && v[j - 1] > x) {
                        v[j] = v[j - 1];
                        j--;
                }
                v[j] = x;
        }
}

/* Swaps two values. */
static void analyzer_ring_swap(double *v, unsigned i, unsigned j) {
        double t = v[i];

        v[i] = v[j];
        v[j] = t;
}

/* Reorders v[0..n) so that v[k] is the value a sort would put there, with nothing greater
 * before it and nothing smaller after it (Hoare's selection, median-of-three pivots). */
static void analyzer_ring_select(double *v, unsigned n, unsigned k) {
        unsigned lo = 0, hi = n - 1;

        while (hi - lo + 1 > ANALYZER_RING_SORT_MAX) {
                unsigned mid = lo + (hi - lo) / 2, i, j;
                double pivot;

                /* median of three into v[mid], with v[lo] ≤ v[mid] ≤ v[hi] as sentinels */
                if (v[mid] < v[lo])
                        analyzer_ring_swap(v, mid, lo);
                if (v[hi] < v[lo])
                        analyzer_ring_swap(v, hi, lo);
                if (v[hi] < v[mid])
                        analyzer_ring_swap(v, hi, mid);
                pivot = v[mid];
                i = lo;
                j = hi;
                for (;;) {
                        while (v[++i] < pivot)
                                ;
                        while (v[--j] > pivot)
                                ;
                        if (i >= j)
                                break;
                        analyzer_ring_swap(v, i, j);
                }
                /* now v[lo..j] ≤ pivot ≤ v[j+1..hi] */
                if (k <= j)
                        hi = j;
                else
                        lo = j + 1;
        }
        analyzer_ring_sort(v, lo, hi);
}

/* The median of n values (NAN for none), reordering them. Exactly what sorting and taking
 * the middle (or the mean of the two middle values) gives: the order statistics of a set
 * do not depend on how they are found. A NaN has no place in an order, so with one the
 * values are sorted as before, to keep the old answer. */
double analyzer_ring_median_of(double *v, unsigned n) {
        double lower;

        if (n == 0)
                return NAN;
        for (unsigned i = 0; i < n; i++)
                if (isnan(v[i])) {
                        analyzer_ring_sort(v, 0, n - 1);
                        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
                }
        analyzer_ring_select(v, n, n / 2);
        if (n % 2)
                return v[n / 2];
        /* everything before v[n/2] is ≤ it: the greatest of them is the lower middle */
        lower = v[0];
        for (unsigned i = 1; i < n / 2; i++)
                if (v[i] > lower)
                        lower = v[i];
        return (lower + v[n / 2]) / 2.0;
}

/* Computes a query: the records of age ≥ skip carrying none of `exclude`, their sums
 * (newest first), and with `median` their median rate. */
static void analyzer_ring_compute(const struct analyzer_ring *ring, unsigned skip, unsigned exclude, bool median,
                                  struct analyzer_ring_stats *ret) {
        double v[ANALYZER_RING_RECORDS_MAX], points = 0, hours = 0;
        unsigned n = 0, i;

        if (skip >= ring->n) {
                *ret = (struct analyzer_ring_stats) { .median = NAN, .have_median = true };
                return;
        }
        /* newest is at next - 1; walk back from age `skip` without a division per record */
        i = (ring->next + ring->cap - 1 - skip) % ring->cap;
        for (unsigned age = skip; age < ring->n; age++) {
                const struct analyzer_record *r = &ring->r[i];

                i = i == 0 ? ring->cap - 1 : i - 1;
                if (r->flags & exclude)
                        continue;
                points += r->points;
                hours += r->hours;
                if (median && n < ANALYZER_RING_RECORDS_MAX)
                        v[n] = analyzer_record_rate(r);
                n++;
        }
        if (n > ANALYZER_RING_RECORDS_MAX)
                n = ANALYZER_RING_RECORDS_MAX;
        *ret = (struct analyzer_ring_stats) {
                .n = n,
                .points = points,
                .hours = hours,
                .median = median ? analyzer_ring_median_of(v, n) : NAN,
                .have_median = median,
        };
}

/* The cached answer to a query (see analyzer_ring_stats()), computed first if the ring
 * changed since it was asked. The cache is not state: writing it through a const ring
 * changes no answer, ever. */
static const struct analyzer_ring_stats *analyzer_ring_lookup(const struct analyzer_ring *ring, unsigned skip,
                                                              unsigned exclude, bool median) {
        struct analyzer_ring *w = (struct analyzer_ring *) ring;
        struct analyzer_ring_cached *slot = NULL;

        if (ring->generation == 0) {
                /* a ring never initialised (zeroed): no slot can be trusted to match it, so the
                 * answer goes to a slot left unmarked, computed again at every query */
                analyzer_ring_compute(ring, skip, exclude, median, &w->cache[0].stats);
                return &w->cache[0].stats;
        }
        /* a key wider than a slot's fields never matches one (they compare as integers),
         * and is never stored (below) */
        for (unsigned i = 0; i < ANALYZER_RING_CACHE; i++) {
                struct analyzer_ring_cached *c = &w->cache[i];

                if (c->generation == ring->generation && c->skip == skip && c->exclude == exclude) {
                        if (median && !c->stats.have_median) {
                                slot = c;       /* sums known, median not yet */
                                break;
                        }
                        return &c->stats;
                }
                if (!slot && c->generation != ring->generation)
                        slot = c;       /* stale: reuse it first */
        }
        if (!slot) {
                slot = &w->cache[w->cache_next];
                w->cache_next = (w->cache_next + 1) % ANALYZER_RING_CACHE;
        }
        analyzer_ring_compute(ring, skip, exclude, median, &slot->stats);
        if (skip > UINT8_MAX || exclude > UINT16_MAX) {
                /* truncated, it could answer for another key: the slot is marked stale */
                slot->generation = 0;
                return &slot->stats;
        }
        slot->generation = ring->generation;
        slot->skip = (uint8_t) skip;
        slot->exclude = (uint16_t) exclude;
        return &slot->stats;
}

/* Count, sums and (with `median`) median rate of the records of age ≥ skip that carry
 * none of the `exclude` flags, from the cache when the ring has not changed since they
 * were asked. */
void analyzer_ring_stats(const struct analyzer_ring *ring, unsigned skip, unsigned exclude, bool median,
                         struct analyzer_ring_stats *ret) {
        *ret = *analyzer_ring_lookup(ring, skip, exclude, median);
}

/* Median rate of the records carrying none of `exclude` flags; false if fewer than `min`. */
bool analyzer_ring_median(const struct analyzer_ring *ring, unsigned exclude, unsigned min, double *ret) {
        const struct analyzer_ring_stats *s = analyzer_ring_lookup(ring, 0, exclude, true);

        if (s->n < min || s->n == 0)
                return false;
        *ret = s->median;
        return true;
}
