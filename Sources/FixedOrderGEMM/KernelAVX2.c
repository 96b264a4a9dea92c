// AVX2 + FMA micro-kernels: a 6×16 tile in 12 ymm accumulators (two vectors per row), and a
// 6×8 one for a last strip of ≤ 8 columns. Every lane runs one element's fma chain over p.
// A comes packed (alpha applied) or, for alpha == 1 and full 6-row tiles, straight from its
// rows (op(A) = A); op(A) = Aᵀ is packed, because a 6-value column step uses a third of each
// cache line it touches (measured slower than packing). Edge columns use masked loads/stores.
#include <immintrin.h>
#include "Blocked.h"

#define PB_MR 6
#define PB_NR 16

/// Lanes below `count` set, as AVX2's maskload/maskstore want them (count clamped to 0…8).
__attribute__((target("avx2,fma")))
static inline __m256i lanes(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// One tile; A(r) is row r's value at the current p, NEXT_A moves A to the next p. NV vectors
// of 8 columns per row (2, or 1 for the narrow strip); B steps by bstride.
#define PB_TILE(NV, A, NEXT_A)                                                                   \
    const __m256i mask[2] = {lanes(nr), lanes(nr - 8)};                                          \
    __m256 acc[PB_MR][NV];                                                                       \
    _Pragma("clang loop unroll(full)")                                                           \
    for (int r = 0; r < PB_MR; r++)                                                              \
        _Pragma("clang loop unroll(full)")                                                       \
        for (int v = 0; v < NV; v++)                                                             \
            acc[r][v] = (zeroInit || r >= mr) ? _mm256_setzero_ps()                              \
                                              : _mm256_maskload_ps(c + r * ldc + 8 * v, mask[v]); \
    for (ptrdiff_t p = 0; p < kc; p++) {                                                         \
        __m256 bv[NV];                                                                           \
        _Pragma("clang loop unroll(full)")                                                       \
        for (int v = 0; v < NV; v++) bv[v] = _mm256_loadu_ps(bp + 8 * v);                        \
        _Pragma("clang loop unroll(full)")                                                       \
        for (int r = 0; r < PB_MR; r++) {                                                        \
            const __m256 av = _mm256_broadcast_ss(&A(r));                                       \
            _Pragma("clang loop unroll(full)")                                                   \
            for (int v = 0; v < NV; v++) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);      \
        }                                                                                        \
        NEXT_A;                                                                                  \
        bp += bstride;                                                                           \
    }                                                                                            \
    _Pragma("clang loop unroll(full)")                                                           \
    for (int r = 0; r < PB_MR; r++)                                                              \
        if (r < mr)                                                                              \
            _Pragma("clang loop unroll(full)")                                                   \
            for (int v = 0; v < NV; v++) _mm256_maskstore_ps(c + r * ldc + 8 * v, mask[v], acc[r][v]);

#define PACKED_A(r) ap[r]
#define PACKED_NEXT ap += PB_MR
#define ROWS_A(r) ap[(r) * lda]
#define ROWS_NEXT ap += 1

__attribute__((target("avx2,fma")))
static void packed_6x16(ptrdiff_t kc, const float *ap, const float *bp, ptrdiff_t bstride, float *c,
                        ptrdiff_t ldc, int mr, int nr, int zeroInit) {
    PB_TILE(2, PACKED_A, PACKED_NEXT)
}

__attribute__((target("avx2,fma")))
static void packed_6x8(ptrdiff_t kc, const float *ap, const float *bp, ptrdiff_t bstride, float *c,
                       ptrdiff_t ldc, int mr, int nr, int zeroInit) {
    PB_TILE(1, PACKED_A, PACKED_NEXT)
}

__attribute__((target("avx2,fma")))
static void rows_6x16(ptrdiff_t kc, const float *ap, ptrdiff_t lda, const float *bp, ptrdiff_t bstride, float *c,
                      ptrdiff_t ldc, int nr, int zeroInit) {
    const int mr = PB_MR;
    PB_TILE(2, ROWS_A, ROWS_NEXT)
}

__attribute__((target("avx2,fma")))
static void rows_6x8(ptrdiff_t kc, const float *ap, ptrdiff_t lda, const float *bp, ptrdiff_t bstride, float *c,
                     ptrdiff_t ldc, int nr, int zeroInit) {
    const int mr = PB_MR;
    PB_TILE(1, ROWS_A, ROWS_NEXT)
}

// kc·NR·4 B panel (16 KiB) in a 32 KiB L1; the mc×kc A block (144 KiB) in a 512 KiB L2 (Zen 1–3).
const pb_blocking pb_blocking_avx2 = {
    .mr = PB_MR, .nr = PB_NR, .kc = 256, .mc = 6 * 24, .nc = 4096,
    .kernel = packed_6x16, .narrow = packed_6x8,
    .rowsKernel = rows_6x16, .rowsNarrow = rows_6x8,
    .columnsKernel = 0, .columnsNarrow = 0,
    .directB = 1,
};
