// The reference path: the accumulation order of FixedOrderGEMM.h written as plain loops.
// Portable C (no target attributes); fmaf is correctly rounded everywhere, so this path gives
// the same bits as the vector paths on any CPU. Slow: for tests and CPUs without AVX2.
#include <math.h>
#include "Blocked.h"

#pragma STDC FP_CONTRACT OFF

void pb_sgemm_reference(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                        const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta,
                        float *c, ptrdiff_t ldc) {
    for (ptrdiff_t i = 0; i < m; i++) {
        float *row = c + i * ldc;
        // acc₀ per element: 0, C, or beta·C.
        if (beta == 0.0f) {
            for (ptrdiff_t j = 0; j < n; j++) row[j] = 0.0f;
        } else if (beta != 1.0f) {
            for (ptrdiff_t j = 0; j < n; j++) row[j] = beta * row[j];
        }
        if (alpha == 0.0f) continue;
        // p ascending; each row[j] carries its own fma chain.
        for (ptrdiff_t p = 0; p < k; p++) {
            float ap = transA ? a[p * lda + i] : a[i * lda + p];
            if (alpha != 1.0f) ap = alpha * ap;
            for (ptrdiff_t j = 0; j < n; j++) {
                const float bp = transB ? b[j * ldb + p] : b[p * ldb + j];
                row[j] = fmaf(ap, bp, row[j]);
            }
        }
    }
}
