/* accuracy.c — output comparison metrics and the PASS/FAIL rule. */
#include "accuracy.h"

#include <math.h>
#include <string.h>

zn_tolerance zn_tolerance_for(zn_precision p) {
    zn_tolerance t;
    if (p == ZN_PRECISION_F32) {
        t.atol = 1e-4;
        t.rtol = 1e-3;
        t.min_cosine = 0.9999;
    } else {
        t.atol = 1e-2;
        t.rtol = 1e-2;
        t.min_cosine = 0.999;
    }
    return t;
}

static double elem(const zn_view *v, int64_t i) {
    switch (v->dtype) {
    case ZN_F32: return ((const float *)v->data)[i];
    case ZN_F16: return zn_f16_to_f32(((const uint16_t *)v->data)[i]);
    case ZN_BF16: return zn_bf16_to_f32(((const uint16_t *)v->data)[i]);
    case ZN_I64: return (double)((const int64_t *)v->data)[i];
    case ZN_I32: return ((const int32_t *)v->data)[i];
    case ZN_BOOL: return ((const uint8_t *)v->data)[i] != 0;
    default: return NAN;
    }
}

zn_status zn_accuracy_compare(const zn_view *got, const zn_view *ref, const zn_tolerance *tol,
                              zn_accuracy *a) {
    memset(a, 0, sizeof *a);
    bool same = got->rank == ref->rank;
    for (int d = 0; same && d < got->rank; d++) same = got->dims[d] == ref->dims[d];
    if (!same && zn_view_numel(got) != zn_view_numel(ref))
        return zn_error_set(ZN_ERR_SHAPE, "output has %lld elements, the reference %lld",
                            (long long)zn_view_numel(got), (long long)zn_view_numel(ref));
    int64_t n = zn_view_numel(ref);
    double dot = 0, ng = 0, nr = 0, worst = -1;
    for (int64_t i = 0; i < n; i++) {
        double x = elem(got, i), y = elem(ref, i);
        if (isnan(x) || isnan(y)) {
            if (isnan(x) != isnan(y)) {
                a->nan_mismatch++;
                a->mismatches++;
            }
            continue;
        }
        double e = fabs(x - y);
        double r = e / fmax(fabs(y), 1e-6);
        if (e > a->max_abs_err) a->max_abs_err = e;
        if (r > a->max_rel_err) a->max_rel_err = r;
        double excess = e - (tol->atol + tol->rtol * fabs(y));
        if (excess > 0) a->mismatches++;
        if (excess > worst) {
            worst = excess;
            a->worst_index = i;
        }
        dot += x * y;
        ng += x * x;
        nr += y * y;
    }
    a->count = n;
    a->cosine = (ng == 0 && nr == 0) ? 1.0 : (ng == 0 || nr == 0) ? 0.0 : dot / (sqrt(ng) * sqrt(nr));
    if (ref->rank >= 2 && ref->dims[ref->rank - 1] >= 2 && zn_dtype_is_float(ref->dtype)) {
        int64_t c = ref->dims[ref->rank - 1];
        a->has_top1 = true;
        a->top1_rows = n / c;
        for (int64_t row = 0; row < a->top1_rows; row++) {
            int64_t bg = 0, br = 0;
            for (int64_t k = 1; k < c; k++) {
                if (elem(got, row * c + k) > elem(got, row * c + bg)) bg = k;
                if (elem(ref, row * c + k) > elem(ref, row * c + br)) br = k;
            }
            a->top1_agree += bg == br;
        }
    }
    a->pass = a->mismatches == 0 && a->cosine >= tol->min_cosine;
    return ZN_OK;
}
