/* accuracy.h — comparing outputs against reference outputs: the numbers `check`, accuracy
 * mode and reports print, and the PASS/FAIL rule with precision-dependent tolerances. */
#ifndef ZN_ACCURACY_H
#define ZN_ACCURACY_H

#include "engine/zenith.h"

typedef struct zn_tolerance {
    double atol, rtol;     /* element passes when |got - ref| <= atol + rtol * |ref| */
    double min_cosine;     /* and the whole tensor's cosine similarity >= this */
} zn_tolerance;

/* fp32: atol 1e-4, rtol 1e-3, cosine 0.9999; fp16/bf16: atol 1e-2, rtol 1e-2, cosine 0.999. */
zn_tolerance zn_tolerance_for(zn_precision p);

typedef struct zn_accuracy {
    int64_t count;             /* elements compared */
    double max_abs_err;
    double max_rel_err;        /* |got-ref| / max(|ref|, 1e-6) */
    double cosine;             /* 1 for identical; computed in double */
    int64_t mismatches;        /* elements outside atol + rtol*|ref| */
    int64_t worst_index;       /* flat index of the largest violation (or abs error) */
    int64_t nan_mismatch;      /* NaN in one and not the other */
    bool has_top1;             /* classifier-like output: rank >= 2, last dim >= 2, float */
    int64_t top1_rows, top1_agree;
    bool pass;
} zn_accuracy;

/* Compares got against ref (same shape; any numeric dtype, compared as double). Returns
 * ZN_ERR_SHAPE when the shapes or element counts differ. */
zn_status zn_accuracy_compare(const zn_view *got, const zn_view *ref, const zn_tolerance *tol,
                              zn_accuracy *out);

#endif
