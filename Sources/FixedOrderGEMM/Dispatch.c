// Path selection by CPU features, and the entry point.
#include "FixedOrderGEMM.h"
#include "Blocked.h"

int pb_gemm_path_supported(pb_gemm_path path) {
    switch (path) {
    case PB_GEMM_REFERENCE: return 1;
    case PB_GEMM_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case PB_GEMM_AVX512: return __builtin_cpu_supports("avx512f");
    }
    return 0;
}

pb_gemm_path pb_gemm_best_path(void) {
    if (pb_gemm_path_supported(PB_GEMM_AVX512)) return PB_GEMM_AVX512;
    if (pb_gemm_path_supported(PB_GEMM_AVX2)) return PB_GEMM_AVX2;
    return PB_GEMM_REFERENCE;
}

const char *pb_gemm_path_name(pb_gemm_path path) {
    switch (path) {
    case PB_GEMM_REFERENCE: return "reference";
    case PB_GEMM_AVX2: return "avx2-fma";
    case PB_GEMM_AVX512: return "avx512f";
    }
    return "unknown";
}

static void sgemm(pb_gemm_path path, int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                  float alpha, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                  float beta, const float *rowInit, float *c, ptrdiff_t ldc) {
    switch (path) {
    case PB_GEMM_AVX512:
        pb_sgemm_blocked(&pb_blocking_avx512, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, rowInit, c, ldc);
        return;
    case PB_GEMM_AVX2:
        pb_sgemm_blocked(&pb_blocking_avx2, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, rowInit, c, ldc);
        return;
    case PB_GEMM_REFERENCE:
        if (rowInit) {
            if (m > 0 && n > 0) pb_fill_rows(rowInit, m, n, c, ldc);
            beta = 1.0f;
        }
        pb_sgemm_reference(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
}

void pb_sgemm(pb_gemm_path path, int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
              float alpha, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
              float beta, float *c, ptrdiff_t ldc) {
    sgemm(path, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, NULL, c, ldc);
}

void pb_sgemm_from_rows(pb_gemm_path path, int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                        float alpha, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                        const float *rowInit, float *c, ptrdiff_t ldc) {
    sgemm(path, transA, transB, m, n, k, alpha, a, lda, b, ldb, 1.0f, rowInit, c, ldc);
}
