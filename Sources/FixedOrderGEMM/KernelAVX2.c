// AVX2 + FMA micro-kernel: a 6×16 tile in 12 ymm accumulators (two vectors per row). Edge
// tiles run on a local 6×16 copy of C's valid part. Every lane runs one element's fma chain.
#include <immintrin.h>
#include "Blocked.h"

#define PB_MR 6
#define PB_NR 16

__attribute__((target("avx2,fma")))
static void kernel_6x16_full(ptrdiff_t kc, const float *ap, const float *bp, ptrdiff_t bstride, float *c, ptrdiff_t ldc,
                             int zeroInit) {
    __m256 acc[PB_MR][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < PB_MR; r++) {
        if (zeroInit) {
            acc[r][0] = _mm256_setzero_ps();
            acc[r][1] = _mm256_setzero_ps();
        } else {
            acc[r][0] = _mm256_loadu_ps(c + r * ldc);
            acc[r][1] = _mm256_loadu_ps(c + r * ldc + 8);
        }
    }
    for (ptrdiff_t p = 0; p < kc; p++) {
        const __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
#pragma clang loop unroll(full)
        for (int r = 0; r < PB_MR; r++) {
            const __m256 av = _mm256_broadcast_ss(ap + r);
            acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
        }
        ap += PB_MR;
        bp += bstride;
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < PB_MR; r++) {
        _mm256_storeu_ps(c + r * ldc, acc[r][0]);
        _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
    }
}

__attribute__((target("avx2,fma")))
static void kernel_6x16(ptrdiff_t kc, const float *ap, const float *bp, ptrdiff_t bstride, float *c, ptrdiff_t ldc,
                        int mr, int nr, int zeroInit) {
    if (mr == PB_MR && nr == PB_NR) {
        kernel_6x16_full(kc, ap, bp, bstride, c, ldc, zeroInit);
        return;
    }
    float tile[PB_MR * PB_NR] __attribute__((aligned(32)));
    for (int r = 0; r < PB_MR; r++)
        for (int j = 0; j < PB_NR; j++) tile[r * PB_NR + j] = (r < mr && j < nr && !zeroInit) ? c[r * ldc + j] : 0.0f;
    kernel_6x16_full(kc, ap, bp, bstride, tile, PB_NR, zeroInit);
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) c[r * ldc + j] = tile[r * PB_NR + j];
}

// kc·NR·4 B panel (16 KiB) in a 32 KiB L1; the mc×kc A block (144 KiB) in a 512 KiB L2 (Zen 1–3).
const pb_blocking pb_blocking_avx2 = {
    .mr = PB_MR, .nr = PB_NR, .kc = 256, .mc = 6 * 24, .nc = 4096,
    .kernel = kernel_6x16, .narrow = 0, .directB = 0,
};
