// The FMA peak of a vector path: 12 independent fma chains per vector register lane group,
// enough to cover the FMA latency on current x86-64 cores. For "% of peak" in benchmarks.
#include <immintrin.h>
#include "FixedOrderGEMM.h"

__attribute__((target("avx512f")))
static double peak_avx512(long iterations) {
    __m512 acc[12];
    const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iterations; it++)
#pragma clang loop unroll(full)
        for (int i = 0; i < 12; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    float sink = 0;
    for (int i = 0; i < 12; i++) sink += _mm512_reduce_add_ps(acc[i]);
    return 2.0 * 16 * 12 * (double)iterations + (sink == 12345.0f ? 1 : 0);
}

__attribute__((target("avx2,fma")))
static double peak_avx2(long iterations) {
    __m256 acc[12];
    const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iterations; it++)
#pragma clang loop unroll(full)
        for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
    float lanes[8], sink = 0;
    for (int i = 0; i < 12; i++) {
        _mm256_storeu_ps(lanes, acc[i]);
        for (int j = 0; j < 8; j++) sink += lanes[j];
    }
    return 2.0 * 8 * 12 * (double)iterations + (sink == 12345.0f ? 1 : 0);
}

double pb_fma_peak_flops(pb_gemm_path path, long iterations) {
    switch (path) {
    case PB_GEMM_AVX512: return peak_avx512(iterations);
    case PB_GEMM_AVX2: return peak_avx2(iterations);
    case PB_GEMM_REFERENCE: return 0;
    }
    return 0;
}
