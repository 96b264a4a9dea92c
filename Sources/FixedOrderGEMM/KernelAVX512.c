// AVX-512F micro-kernels: a 14×32 tile in 28 zmm accumulators (two vectors per row), and a
// 14×16 one for a last strip of ≤ 16 columns. Every lane runs one element's fma chain over p.
// A comes packed (p-major panels, alpha applied) or, for alpha == 1 and full 14-row tiles,
// straight from its rows (op(A) = A) or columns (op(A) = Aᵀ): packing A costs as much as a
// third of the product when N is as small as the ViT's width.
#include <immintrin.h>
#include "Blocked.h"

#define PB_MR 14
#define PB_NR 32

/// Lanes below `count` set (count clamped to 0…16).
__attribute__((target("avx512f")))
static inline __mmask16 lanes(int count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1u);
}

// One tile; A(r) is row r's value at the current p, NEXT_A moves A to the next p. NV vectors
// of 16 columns per row (2, or 1 for the narrow strip); B steps by bstride.
#define PB_TILE(NV, A, NEXT_A)                                                                   \
    const __mmask16 mask[2] = {lanes(nr), lanes(nr - 16)};                                       \
    __m512 acc[PB_MR][NV];                                                                       \
    _Pragma("clang loop unroll(full)")                                                           \
    for (int r = 0; r < PB_MR; r++)                                                              \
        _Pragma("clang loop unroll(full)")                                                       \
        for (int v = 0; v < NV; v++)                                                             \
            acc[r][v] = (zeroInit || r >= mr) ? _mm512_setzero_ps()                              \
                                              : _mm512_maskz_loadu_ps(mask[v], c + r * ldc + 16 * v); \
    for (ptrdiff_t p = 0; p < kc; p++) {                                                         \
        __m512 bv[NV];                                                                           \
        _Pragma("clang loop unroll(full)")                                                       \
        for (int v = 0; v < NV; v++) bv[v] = _mm512_loadu_ps(bp + 16 * v);                        \
        _Pragma("clang loop unroll(full)")                                                       \
        for (int r = 0; r < PB_MR; r++) {                                                        \
            const __m512 av = _mm512_set1_ps(A(r));                                              \
            _Pragma("clang loop unroll(full)")                                                   \
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);      \
        }                                                                                        \
        NEXT_A;                                                                                  \
        bp += bstride;                                                                           \
    }                                                                                            \
    _Pragma("clang loop unroll(full)")                                                           \
    for (int r = 0; r < PB_MR; r++)                                                              \
        if (r < mr)                                                                              \
            _Pragma("clang loop unroll(full)")                                                   \
            for (int v = 0; v < NV; v++) _mm512_mask_storeu_ps(c + r * ldc + 16 * v, mask[v], acc[r][v]);

#define PACKED_A(r) ap[r]
#define PACKED_NEXT ap += PB_MR
#define ROWS_A(r) ap[(r) * lda]
#define ROWS_NEXT ap += 1
#define COLUMNS_A(r) ap[r]
#define COLUMNS_NEXT ap += lda

__attribute__((target("avx512f")))
static void packed_14x32(ptrdiff_t kc, const float *ap, const float *bp, ptrdiff_t bstride, float *c,
                         ptrdiff_t ldc, int mr, int nr, int zeroInit) {
    PB_TILE(2, PACKED_A, PACKED_NEXT)
}

__attribute__((target("avx512f")))
static void packed_14x16(ptrdiff_t kc, const float *ap, const float *bp, ptrdiff_t bstride, float *c,
                         ptrdiff_t ldc, int mr, int nr, int zeroInit) {
    PB_TILE(1, PACKED_A, PACKED_NEXT)
}

__attribute__((target("avx512f")))
static void rows_14x32(ptrdiff_t kc, const float *ap, ptrdiff_t lda, const float *bp, ptrdiff_t bstride, float *c,
                       ptrdiff_t ldc, int nr, int zeroInit) {
    const int mr = PB_MR;
    PB_TILE(2, ROWS_A, ROWS_NEXT)
}

__attribute__((target("avx512f")))
static void rows_14x16(ptrdiff_t kc, const float *ap, ptrdiff_t lda, const float *bp, ptrdiff_t bstride, float *c,
                       ptrdiff_t ldc, int nr, int zeroInit) {
    const int mr = PB_MR;
    PB_TILE(1, ROWS_A, ROWS_NEXT)
}

__attribute__((target("avx512f")))
static void columns_14x32(ptrdiff_t kc, const float *ap, ptrdiff_t lda, const float *bp, ptrdiff_t bstride, float *c,
                          ptrdiff_t ldc, int nr, int zeroInit) {
    const int mr = PB_MR;
    PB_TILE(2, COLUMNS_A, COLUMNS_NEXT)
}

__attribute__((target("avx512f")))
static void columns_14x16(ptrdiff_t kc, const float *ap, ptrdiff_t lda, const float *bp, ptrdiff_t bstride, float *c,
                          ptrdiff_t ldc, int nr, int zeroInit) {
    const int mr = PB_MR;
    PB_TILE(1, COLUMNS_A, COLUMNS_NEXT)
}

// kc·NR·4 B panel (24 KiB) stays in the 48 KiB L1 with A beside it; the mc×kc A block
// (252 KiB) in the 1 MiB L2 (Zen 4/5; Intel's server cores have the same or more).
const pb_blocking pb_blocking_avx512 = {
    .mr = PB_MR, .nr = PB_NR, .kc = 192, .mc = 14 * 24, .nc = 4096,
    .kernel = packed_14x32, .narrow = packed_14x16,
    .rowsKernel = rows_14x32, .rowsNarrow = rows_14x16,
    .columnsKernel = columns_14x32, .columnsNarrow = columns_14x16,
    .directB = 1,
};
