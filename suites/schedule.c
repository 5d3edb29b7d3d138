/* schedule.c — seeded randomness for loadgen: the xoshiro256** generator, the server's Poisson
 * arrival schedule, and the performance sample set. Pure functions of the seeds (no clocks,
 * no threads), so the same seeds give the same queries and inputs on every machine. */
#include "loadgen.h"

#include <math.h>

#include "engine/alloc.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void zn_rng_seed(zn_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t zn_rng_next(zn_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

int64_t zn_rng_below(zn_rng *r, int64_t n) {
    if (n <= 1) return 0;
    // Lemire's multiply-shift; the bias (n / 2^64) is far below anything measurable here.
    return (int64_t)(((unsigned __int128)zn_rng_next(r) * (uint64_t)n) >> 64);
}

double zn_rng_open01(zn_rng *r) {
    return (double)((zn_rng_next(r) >> 11) + 1) * (1.0 / 9007199254740992.0);  // (0, 1]
}

void zn_schedule_init(zn_schedule *sch, double qps, uint64_t seed) {
    zn_rng_seed(&sch->rng, seed ^ 0x5C4EDu);
    sch->qps = qps > 0 ? qps : 1;
    sch->t_ns = 0;
}

int64_t zn_schedule_next(zn_schedule *sch) {
    // Exponential gap by inversion: -ln(U) / rate, U in (0, 1] so the log is finite.
    sch->t_ns += -log(zn_rng_open01(&sch->rng)) * (1e9 / sch->qps);
    return (int64_t)llround(sch->t_ns);
}

void zn_server_schedule(double qps, uint64_t seed, int64_t n, int64_t *arrival_ns) {
    zn_schedule sch;
    zn_schedule_init(&sch, qps, seed);
    for (int64_t i = 0; i < n; i++) arrival_ns[i] = zn_schedule_next(&sch);
}

/* The slot of key k in an open-addressing table of cap (a power of two) entries, -1 = empty. */
static int64_t slot(const int64_t *keys, int64_t cap, int64_t k) {
    int64_t h = (int64_t)(((uint64_t)k * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
    while (keys[h] != -1 && keys[h] != k) h = (h + 1) & (cap - 1);
    return h;
}

static int64_t perf_count(const zn_test_settings *s) {
    int64_t total = s->total_sample_count > 0 ? s->total_sample_count : 1;
    int64_t n = s->performance_sample_count > 0 ? s->performance_sample_count
                                                : (total < 1024 ? total : 1024);
    return n < total ? n : total;
}

int64_t zn_loadgen_performance_set(const zn_test_settings *s, int64_t *out, int64_t cap) {
    int64_t total = s->total_sample_count > 0 ? s->total_sample_count : 1;
    int64_t n = perf_count(s);
    if (n > cap) n = cap;
    if (n <= 0) return 0;
    zn_rng r;
    zn_rng_seed(&r, s->sample_seed ^ 0x9E75E7u);
    if (n == total) {  // the whole set, in order: nothing to choose
        for (int64_t i = 0; i < n; i++) out[i] = i;
        return n;
    }
    // A partial Fisher-Yates shuffle of [0, total): the first n positions are a uniform
    // sample. Sparse: only touched positions are stored, in a small open-addressing map, so a
    // large data set costs O(n) memory, not O(total).
    int64_t cap2 = 1;
    while (cap2 < 4 * n) cap2 <<= 1;
    int64_t *keys = zn_malloc((size_t)cap2 * sizeof *keys);
    int64_t *vals = zn_malloc((size_t)cap2 * sizeof *vals);
    if (!keys || !vals) {
        // Out of memory for the map: fall back to a strided choice (still deterministic).
        zn_free(keys);
        zn_free(vals);
        for (int64_t i = 0; i < n; i++) out[i] = (int64_t)((__int128)i * total / n);
        return n;
    }
    for (int64_t i = 0; i < cap2; i++) keys[i] = -1;
    for (int64_t i = 0; i < n; i++) {
        int64_t j = i + zn_rng_below(&r, total - i);
        int64_t si = slot(keys, cap2, i), sj = slot(keys, cap2, j);
        int64_t vi = keys[si] == i ? vals[si] : i;
        int64_t vj = keys[sj] == j ? vals[sj] : j;
        keys[si] = i;
        vals[si] = vj;
        sj = slot(keys, cap2, j);  // (i's insert may have taken j's probe slot)
        keys[sj] = j;
        vals[sj] = vi;
        out[i] = vj;
    }
    zn_free(keys);
    zn_free(vals);
    return n;
}

int64_t zn_loadgen_offline_sample_count(const zn_test_settings *s, double qps) {
    int64_t n = s->min_query_count > 0 ? s->min_query_count : 1;
    if (qps > 0) {
        double want = ceil(1.1 * qps * (double)s->min_duration_ms / 1000.0);
        if (want > (double)n) n = want > 1e15 ? (int64_t)1e15 : (int64_t)want;
    }
    if (s->max_query_count > 0 && n > s->max_query_count) n = s->max_query_count;
    return n;
}
