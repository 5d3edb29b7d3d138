/* histogram.h — a bounded-memory, log-linear latency histogram (HdrHistogram style).
 *
 * Values are non-negative integers, by convention nanoseconds. Values below 128 each have their
 * own bucket (exact); above, every power-of-two range [2^e, 2^(e+1)) is split linearly into 128
 * sub-buckets, so a bucket is at most 1/128 of its lower bound wide. A percentile is reported
 * as the middle of the bucket holding the exact order statistic (clamped to [min, max]), so it
 * is within 0.4% of the exact value. Values at or above ZN_HIST_MAX_VALUE (2^45 ns, 9.8 hours)
 * go into the last bucket; count, min, max, sum and the sum of squares stay exact for every
 * value (128-bit sums). Counts are 64-bit, so any run length fits.
 *
 * It is a plain value type (about 40 KB, no pointers): copy it with `=`, keep it inline in
 * results. It is NOT thread-safe: keep one per thread and zn_hist_merge() them; whoever shares
 * one across threads (the live snapshot) guards it with its own lock.
 *
 * What it is not: a time series (see the per-query ring in loadgen.h) or a general statistics
 * package. */
#ifndef ZN_HISTOGRAM_H
#define ZN_HISTOGRAM_H

#include <stdint.h>

#include "engine/types.h"

#define ZN_HIST_SUB_BITS 7
#define ZN_HIST_SUB (1 << ZN_HIST_SUB_BITS)  /* 128 sub-buckets per power of two */
#define ZN_HIST_MAX_EXP 45                   /* last tracked range is [2^44, 2^45) */
#define ZN_HIST_MAX_VALUE (INT64_C(1) << ZN_HIST_MAX_EXP)
/* Buckets: 128 exact ones for 0..127, then 128 for each of [2^7,2^8) ... [2^44,2^45). */
#define ZN_HIST_BUCKETS (ZN_HIST_SUB * (ZN_HIST_MAX_EXP - ZN_HIST_SUB_BITS + 1))

typedef struct zn_hist {
    uint64_t count;
    int64_t min, max;          /* exact; min = INT64_MAX and max = 0 while empty */
    unsigned __int128 sum;     /* exact sum of values */
    unsigned __int128 sum_sq;  /* exact sum of squared values */
    uint64_t buckets[ZN_HIST_BUCKETS];
} zn_hist;

/* One non-empty bucket: values v with lo <= v < hi (hi = lo + 1 for the exact buckets). */
typedef struct zn_hist_bucket {
    int index;
    int64_t lo, hi;
    uint64_t count;
} zn_hist_bucket;

void zn_hist_init(zn_hist *h);
void zn_hist_reset(zn_hist *h);        /* same as init */
/* Negative values are recorded as 0. */
void zn_hist_record(zn_hist *h, int64_t ns);
void zn_hist_record_n(zn_hist *h, int64_t ns, uint64_t n);  /* n times the same value */
void zn_hist_merge(zn_hist *dst, const zn_hist *src);

uint64_t zn_hist_count(const zn_hist *h);
int64_t zn_hist_min(const zn_hist *h);     /* 0 when empty */
int64_t zn_hist_max(const zn_hist *h);     /* 0 when empty */
double zn_hist_mean(const zn_hist *h);     /* 0 when empty */
double zn_hist_stddev(const zn_hist *h);   /* population standard deviation; 0 when empty */
double zn_hist_sum(const zn_hist *h);      /* as a double (exact below 2^53) */
/* stddev / mean, 0 when empty or mean 0. */
double zn_hist_cv(const zn_hist *h);

/* The p-th percentile, p in [0, 100], with LoadGen's definition: the value at 0-based rank
 * min(count-1, floor(count * p / 100)) of the sorted values. p = 0 gives min, p = 100 max.
 * 0 when empty; p outside [0,100] is clamped. */
int64_t zn_hist_percentile(const zn_hist *h, double p);
/* The value at a 0-based rank of the sorted values (clamped to [0, count-1]); 0 when empty. */
int64_t zn_hist_value_at_rank(const zn_hist *h, uint64_t rank);
/* How many recorded values are > v, to bucket precision: exact when v+1 is a bucket boundary
 * or v < 128, otherwise the bucket holding v counts as not above. */
uint64_t zn_hist_count_above(const zn_hist *h, int64_t v);

/* Bucket geometry: the bucket a value falls in, and a bucket's bounds [lo, hi). */
int zn_hist_bucket_index(int64_t v);
void zn_hist_bucket_bounds(int index, int64_t *lo, int64_t *hi);

/* Iterates the non-empty buckets in increasing order. Start with *cursor = 0; returns 1 and
 * fills *out while there is one more, 0 at the end:
 *     int cur = 0; zn_hist_bucket b;
 *     while (zn_hist_next(h, &cur, &b)) plot(b.lo, b.hi, b.count); */
int zn_hist_next(const zn_hist *h, int *cursor, zn_hist_bucket *out);

/* ---- compact form for the run record -------------------------------------------------------
 * The non-empty buckets as parallel arrays (bucket index, count) plus the exact summary. Sums
 * travel as doubles (what JSON holds). zn_hist_export allocates the arrays (zn_malloc);
 * zn_hist_compact_free releases them. zn_hist_import rebuilds a histogram: buckets, count, min
 * and max come back exactly, sums to double precision. */
typedef struct zn_hist_compact {
    int n;              /* non-empty buckets */
    int32_t *index;     /* [n] bucket indices, increasing */
    uint64_t *counts;   /* [n] their counts */
    uint64_t count;
    int64_t min, max;
    double sum, sum_sq;
    int sub_bits;       /* ZN_HIST_SUB_BITS, so a reader can refuse another geometry */
} zn_hist_compact;

zn_status zn_hist_export(const zn_hist *h, zn_hist_compact *out);
zn_status zn_hist_import(zn_hist *h, const zn_hist_compact *in);
void zn_hist_compact_free(zn_hist_compact *c);

#endif
