/* histogram.c — the log-linear latency histogram (see histogram.h for the geometry and its
 * error bound). Not thread-safe by design: one per thread, merged. */
#include "histogram.h"

#include <math.h>
#include <string.h>

#include "engine/alloc.h"
#include "engine/error.h"

void zn_hist_init(zn_hist *h) {
    memset(h, 0, sizeof *h);
    h->min = INT64_MAX;
}

void zn_hist_reset(zn_hist *h) { zn_hist_init(h); }

int zn_hist_bucket_index(int64_t v) {
    if (v < ZN_HIST_SUB) return v < 0 ? 0 : (int)v;
    if (v >= ZN_HIST_MAX_VALUE) return ZN_HIST_BUCKETS - 1;
    int e = 63 - __builtin_clzll((unsigned long long)v);  // v in [2^e, 2^(e+1)), e >= 7
    int shift = e - ZN_HIST_SUB_BITS;
    int sub = (int)(v >> shift) - ZN_HIST_SUB;           // 0..127
    return (shift + 1) * ZN_HIST_SUB + sub;
}

void zn_hist_bucket_bounds(int index, int64_t *lo, int64_t *hi) {
    if (index < 0) index = 0;
    if (index >= ZN_HIST_BUCKETS) index = ZN_HIST_BUCKETS - 1;
    if (index < ZN_HIST_SUB) {
        *lo = index;
        *hi = index + 1;
        return;
    }
    int shift = index / ZN_HIST_SUB - 1;
    int sub = index % ZN_HIST_SUB;
    *lo = (int64_t)(ZN_HIST_SUB + sub) << shift;
    *hi = *lo + ((int64_t)1 << shift);
}

void zn_hist_record_n(zn_hist *h, int64_t ns, uint64_t n) {
    if (n == 0) return;
    if (ns < 0) ns = 0;
    h->buckets[zn_hist_bucket_index(ns)] += n;
    h->count += n;
    if (ns < h->min) h->min = ns;
    if (ns > h->max) h->max = ns;
    unsigned __int128 v = (unsigned __int128)(uint64_t)ns;
    h->sum += v * n;
    h->sum_sq += v * v * n;
}

void zn_hist_record(zn_hist *h, int64_t ns) {
    if (ns < 0) ns = 0;
    h->buckets[zn_hist_bucket_index(ns)]++;
    h->count++;
    if (ns < h->min) h->min = ns;
    if (ns > h->max) h->max = ns;
    unsigned __int128 v = (unsigned __int128)(uint64_t)ns;
    h->sum += v;
    h->sum_sq += v * v;
}

void zn_hist_merge(zn_hist *dst, const zn_hist *src) {
    if (src->count == 0) return;
    for (int i = 0; i < ZN_HIST_BUCKETS; i++) dst->buckets[i] += src->buckets[i];
    dst->count += src->count;
    if (src->min < dst->min) dst->min = src->min;
    if (src->max > dst->max) dst->max = src->max;
    dst->sum += src->sum;
    dst->sum_sq += src->sum_sq;
}

uint64_t zn_hist_count(const zn_hist *h) { return h->count; }
int64_t zn_hist_min(const zn_hist *h) { return h->count ? h->min : 0; }
int64_t zn_hist_max(const zn_hist *h) { return h->count ? h->max : 0; }
double zn_hist_sum(const zn_hist *h) { return (double)h->sum; }

double zn_hist_mean(const zn_hist *h) {
    if (!h->count) return 0;
    return (double)((long double)h->sum / (long double)h->count);
}

double zn_hist_stddev(const zn_hist *h) {
    if (!h->count) return 0;
    long double n = (long double)h->count;
    long double mean = (long double)h->sum / n;
    long double var = (long double)h->sum_sq / n - mean * mean;
    return var > 0 ? (double)sqrtl(var) : 0.0;
}

double zn_hist_cv(const zn_hist *h) {
    double m = zn_hist_mean(h);
    return m > 0 ? zn_hist_stddev(h) / m : 0.0;
}

int64_t zn_hist_value_at_rank(const zn_hist *h, uint64_t rank) {
    if (!h->count) return 0;
    if (rank >= h->count - 1) return h->max;  // the largest value is known exactly
    if (rank == 0) return h->min;
    uint64_t cum = 0;
    for (int i = 0; i < ZN_HIST_BUCKETS; i++) {
        cum += h->buckets[i];
        if (cum > rank) {
            int64_t lo, hi;
            zn_hist_bucket_bounds(i, &lo, &hi);
            int64_t mid = lo + (hi - lo) / 2;  // within half a bucket of the exact value
            if (mid < h->min) mid = h->min;
            if (mid > h->max) mid = h->max;
            return mid;
        }
    }
    return h->max;
}

int64_t zn_hist_percentile(const zn_hist *h, double p) {
    if (!h->count) return 0;
    if (!(p > 0)) p = 0;  // also NaN
    if (p > 100) p = 100;
    long double r = floorl((long double)h->count * (long double)p / 100.0L);
    uint64_t rank = r >= (long double)(h->count - 1) ? h->count - 1 : (uint64_t)r;
    return zn_hist_value_at_rank(h, rank);
}

uint64_t zn_hist_count_above(const zn_hist *h, int64_t v) {
    if (!h->count || v >= h->max) return 0;
    if (v < h->min) return h->count;
    uint64_t n = 0;
    for (int i = zn_hist_bucket_index(v) + 1; i < ZN_HIST_BUCKETS; i++) n += h->buckets[i];
    return n;
}

int zn_hist_next(const zn_hist *h, int *cursor, zn_hist_bucket *out) {
    for (int i = *cursor < 0 ? 0 : *cursor; i < ZN_HIST_BUCKETS; i++) {
        if (h->buckets[i]) {
            out->index = i;
            zn_hist_bucket_bounds(i, &out->lo, &out->hi);
            out->count = h->buckets[i];
            *cursor = i + 1;
            return 1;
        }
    }
    *cursor = ZN_HIST_BUCKETS;
    return 0;
}

zn_status zn_hist_export(const zn_hist *h, zn_hist_compact *out) {
    memset(out, 0, sizeof *out);
    int n = 0;
    for (int i = 0; i < ZN_HIST_BUCKETS; i++) n += h->buckets[i] != 0;
    if (n) {
        out->index = zn_malloc((size_t)n * sizeof *out->index);
        out->counts = zn_malloc((size_t)n * sizeof *out->counts);
        if (!out->index || !out->counts) {
            zn_hist_compact_free(out);
            return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "histogram export: no memory for %d buckets", n);
        }
    }
    int k = 0;
    for (int i = 0; i < ZN_HIST_BUCKETS; i++) {
        if (h->buckets[i]) {
            out->index[k] = i;
            out->counts[k] = h->buckets[i];
            k++;
        }
    }
    out->n = n;
    out->count = h->count;
    out->min = zn_hist_min(h);
    out->max = zn_hist_max(h);
    out->sum = (double)h->sum;
    out->sum_sq = (double)h->sum_sq;
    out->sub_bits = ZN_HIST_SUB_BITS;
    return ZN_OK;
}

zn_status zn_hist_import(zn_hist *h, const zn_hist_compact *in) {
    zn_hist_init(h);
    if (in->sub_bits != ZN_HIST_SUB_BITS)
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT,
                            "histogram import: %d sub-bucket bits, this build uses %d; "
                            "re-record the run with this version",
                            in->sub_bits, ZN_HIST_SUB_BITS);
    uint64_t total = 0;
    for (int k = 0; k < in->n; k++) {
        if (in->index[k] < 0 || in->index[k] >= ZN_HIST_BUCKETS)
            return zn_error_set(ZN_ERR_INVALID_ARGUMENT,
                                "histogram import: bucket index %d out of range [0, %d)",
                                (int)in->index[k], ZN_HIST_BUCKETS);
        h->buckets[in->index[k]] += in->counts[k];
        total += in->counts[k];
    }
    if (total != in->count) {
        zn_hist_init(h);
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT,
                            "histogram import: bucket counts sum to %llu but count is %llu; "
                            "the run record is damaged",
                            (unsigned long long)total, (unsigned long long)in->count);
    }
    h->count = in->count;
    if (h->count) {
        h->min = in->min;
        h->max = in->max;
    }
    h->sum = in->sum > 0 ? (unsigned __int128)in->sum : 0;
    h->sum_sq = in->sum_sq > 0 ? (unsigned __int128)in->sum_sq : 0;
    return ZN_OK;
}

void zn_hist_compact_free(zn_hist_compact *c) {
    zn_free(c->index);
    zn_free(c->counts);
    c->index = NULL;
    c->counts = NULL;
    c->n = 0;
}
