// AVX-512F micro-kernels: a 14×32 tile in 28 zmm accumulators (two vectors per row), and a
// 14×16 one for a last strip of ≤ 16 columns (Tile.h). A comes packed (p-major panels, alpha
// applied) or, for alpha == 1 and full 14-row tiles, straight from its rows (op(A) = A) or
// columns (op(A) = Aᵀ): packing A costs as much as a third of the product when N is as small
// as the ViT's width.
#include <immintrin.h>
#include "Blocked.h"

#define PB_MR 14
#define PB_NR 32
#define PB_LANES 16
#define PB_VEC __m512
#define PB_MASK __mmask16
#define PB_ZERO() _mm512_setzero_ps()
#define PB_LOAD(p) _mm512_loadu_ps(p)
#define PB_MASKLOAD(p, m) _mm512_maskz_loadu_ps(m, p)
#define PB_MASKSTORE(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define PB_BROADCAST(p) _mm512_set1_ps(*(p))
#define PB_FMA(a, b, acc) _mm512_fmadd_ps(a, b, acc)
/// Lanes below `count` set (count clamped to 0…16).
#define PB_MASK_OF(count) \
    ((count) >= 16 ? (__mmask16)0xFFFF : (count) <= 0 ? (__mmask16)0 : (__mmask16)((1u << (count)) - 1u))
#define PB_INDEX __m512i
#define PB_INDEX_OF(stride) _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), \
                                               _mm512_set1_epi32((int)(stride)))
#define PB_GATHER(base, index, mask) _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, index, base, 4)
#include "Tile.h"

PB_PACKED_KERNEL(packed_14x32, 2, "avx512f")
PB_PACKED_KERNEL(packed_14x16, 1, "avx512f")
PB_DIRECT_KERNEL(rows_14x32, 2, "avx512f", PB_ROWS_A, PB_ROWS_NEXT)
PB_DIRECT_KERNEL(rows_14x16, 1, "avx512f", PB_ROWS_A, PB_ROWS_NEXT)
PB_DIRECT_KERNEL(columns_14x32, 2, "avx512f", PB_COLUMNS_A, PB_COLUMNS_NEXT)
PB_DIRECT_KERNEL(columns_14x16, 1, "avx512f", PB_COLUMNS_A, PB_COLUMNS_NEXT)
PB_PACKERS(pack_a_14, pack_b_32, "avx512f")
PB_SMALL_KERNEL(small_16, "avx512f")

// kc·NR·4 B panel (24 KiB) stays in the 48 KiB L1 with A beside it; the mc×kc A block
// (252 KiB) in the 1 MiB L2 (Zen 4/5; Intel's server cores have the same or more).
const pb_blocking pb_blocking_avx512 = {
    .mr = PB_MR, .nr = PB_NR, .kc = 192, .mc = 14 * 24, .nc = 4096,
    .packA = pack_a_14, .packB = pack_b_32,
    .kernel = packed_14x32, .narrow = packed_14x16,
    .rowsKernel = rows_14x32, .rowsNarrow = rows_14x16,
    .columnsKernel = columns_14x32, .columnsNarrow = columns_14x16,
    .directB = 1, .directBMaxRows = 6 * PB_MR,
    .packWideTransposedA = 1,
    .small = small_16, .smallRows = PB_SMALL_ROWS, .smallRowsTransposedB = PB_SMALL_ROWS,
};
