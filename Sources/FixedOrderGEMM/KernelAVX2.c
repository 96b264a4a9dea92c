// AVX2 + FMA micro-kernels: a 6×16 tile in 12 ymm accumulators (two vectors per row), and a
// 6×8 one for a last strip of ≤ 8 columns (Tile.h). A comes packed (alpha applied) or, for
// alpha == 1 and full 6-row tiles, straight from its rows (op(A) = A); op(A) = Aᵀ is packed,
// because a 6-value column step uses a third of each cache line it touches (measured slower
// than packing). Edge columns use masked loads and stores.
#include <immintrin.h>
#include <stdint.h>
#include "Blocked.h"

#define PB_MR 6
#define PB_NR 16
#define PB_LANES 8
#define PB_VEC __m256
#define PB_MASK __m256i
#define PB_ZERO() _mm256_setzero_ps()
#define PB_LOAD(p) _mm256_loadu_ps(p)
#define PB_MASKLOAD(p, m) _mm256_maskload_ps(p, m)
#define PB_MASKSTORE(p, m, v) _mm256_maskstore_ps(p, m, v)
#define PB_BROADCAST(p) _mm256_broadcast_ss(p)
#define PB_FMA(a, b, acc) _mm256_fmadd_ps(a, b, acc)
/// Lanes below `count` set, as AVX2's maskload/maskstore want them (count clamped to 0…8).
#define PB_MASK_OF(count) _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define PB_INDEX __m256i
#define PB_INDEX_OF(stride) _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)(stride)))
#define PB_GATHER(base, index, mask) \
    _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, index, _mm256_castsi256_ps(mask), 4)
#include "Tile.h"

PB_PACKED_KERNEL(packed_6x16, 2, "avx2,fma")
PB_PACKED_KERNEL(packed_6x8, 1, "avx2,fma")
PB_DIRECT_KERNEL(rows_6x16, 2, "avx2,fma", PB_ROWS_A, PB_ROWS_NEXT)
PB_DIRECT_KERNEL(rows_6x8, 1, "avx2,fma", PB_ROWS_A, PB_ROWS_NEXT)
PB_SMALL_KERNEL(small_8, "avx2,fma")

// kc·NR·4 B panel (16 KiB) in a 32 KiB L1; the mc×kc A block (144 KiB) in a 512 KiB L2 (Zen 1–3).
const pb_blocking pb_blocking_avx2 = {
    .mr = PB_MR, .nr = PB_NR, .kc = 256, .mc = 6 * 24, .nc = 4096,
    // Element-by-element packing: AMD's masked stores and gathers before Zen 3 are slow, and on
    // an Intel core the vector packing measured no better on this path.
    .packA = 0, .packB = 0,
    .kernel = packed_6x16, .narrow = packed_6x8,
    .rowsKernel = rows_6x16, .rowsNarrow = rows_6x8,
    .columnsKernel = 0, .columnsNarrow = 0,
    .directB = 1, .directBMaxRows = PTRDIFF_MAX,
    .packWideTransposedA = 0,
    // 6-row tiles waste less on a few rows than 14-row ones: only the gather, which replaces
    // packing a transposed B, pays here.
    .small = small_8, .smallRows = 0, .smallRowsTransposedB = PB_SMALL_ROWS,
};
