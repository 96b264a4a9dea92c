// The cache-blocked driver shared by the vector paths (internal to FixedOrderGEMM).
//
// Loops, outermost first (Goto/BLIS): column blocks of NC, K blocks of KC (op(B) packed into
// NR-column panels), row blocks of MC (op(A) packed into MR-row panels, alpha applied), then
// the micro-tiles. Each micro-kernel call continues every element's fma chain of its tile over
// one K block: it starts from 0 (first block, beta == 0) or from C, and stores the partial sum
// back into C. The chain's order is therefore p ascending whatever the blocking.
#ifndef PATCHBENCH_FIXED_ORDER_GEMM_BLOCKED_H
#define PATCHBENCH_FIXED_ORDER_GEMM_BLOCKED_H

#include <stddef.h>

/// One MR×NR tile over kc steps: ap holds kc groups of MR values (A panel); B's row p of the
/// tile starts at bp + p·bstride (bstride = NR for a packed panel, ldb for op(B) = B read in
/// place); c is the tile's top-left element. Rows ≥ mr and columns ≥ nr of the tile are
/// computed on zero padding and never read or written in C.
typedef void (*pb_micro_kernel)(ptrdiff_t kc, const float *ap, const float *bp, ptrdiff_t bstride, float *c,
                                ptrdiff_t ldc, int mr, int nr, int zeroInit);

/// The same tile reading A unpacked: op(A)[r][p] at ap[r·lda + p] (rows) or ap[p·lda + r]
/// (columns); full mr rows only, alpha == 1 only. NULL where a path packs instead.
typedef void (*pb_direct_kernel)(ptrdiff_t kc, const float *ap, ptrdiff_t lda, const float *bp, ptrdiff_t bstride,
                                 float *c, ptrdiff_t ldc, int nr, int zeroInit);

/// C = alpha·op(A)·op(B) (+ C unless zeroInit) with nothing packed: for products too small
/// for the register tile to pay (see pb_sgemm_blocked).
typedef void (*pb_small_kernel)(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                                const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, int zeroInit,
                                float *c, ptrdiff_t ldc);

/// op(A)[i0 ..< i0+mc][p0 ..< p0+kc] into MR-row panels (p-major inside a panel, alpha applied,
/// rows past mc zero) at out, mc·kc values rounded up to whole panels.
typedef void (*pb_pack_a)(int transA, const float *a, ptrdiff_t lda, ptrdiff_t i0, ptrdiff_t mc, ptrdiff_t p0,
                          ptrdiff_t kc, float alpha, float *out);

/// op(B)[p0 ..< p0+kc][j0 ..< j0+nc] into NR-column panels (p-major inside a panel, columns past
/// nc zero) at out.
typedef void (*pb_pack_b)(int transB, const float *b, ptrdiff_t ldb, ptrdiff_t p0, ptrdiff_t kc, ptrdiff_t j0,
                          ptrdiff_t nc, float *out);

typedef struct {
    int mr, nr;                   ///< register tile
    ptrdiff_t kc, mc, nc;         ///< cache blocks (mc a multiple of mr, nc of nr)
    pb_pack_a packA;              ///< op(A) into mr-row panels with vectors (NULL: element by element)
    pb_pack_b packB;              ///< op(B) into nr-column panels with vectors (NULL: element by element)
    pb_micro_kernel kernel;       ///< full-width tile (nr columns)
    pb_micro_kernel narrow;       ///< tile for a last strip of at most nr/2 columns, or NULL
    pb_direct_kernel rowsKernel, rowsNarrow;        ///< unpacked A, op(A) = A (NULL: always pack)
    pb_direct_kernel columnsKernel, columnsNarrow;  ///< unpacked A, op(A) = Aᵀ (NULL: always pack)
    int directB;                  ///< full NR-column strips of op(B) = B may be read in place…
    ptrdiff_t directBMaxRows;     ///< …when M is at most this (more tiles re-read a strip: packed)
    int packWideTransposedA;      ///< op(A) = Aᵀ is packed when M > MC and N > 2·NR (else in place)
    pb_small_kernel small;        ///< unpacked kernel for products of a few rows of C…
    ptrdiff_t smallRows;          ///< …M at most this (0: never)…
    ptrdiff_t smallRowsTransposedB; ///< …or, for op(B) = Bᵀ, M at most this
} pb_blocking;

/// rowInit: NULL, or N values that every row of C starts from (beta is then 1 and C is not read
/// before it is written; see pb_sgemm_from_rows).
void pb_sgemm_blocked(const pb_blocking *blocking, int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                      float alpha, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                      float beta, const float *rowInit, float *c, ptrdiff_t ldc);

/// Every row of C [m, n] set to rowInit [n].
void pb_fill_rows(const float *rowInit, ptrdiff_t m, ptrdiff_t n, float *c, ptrdiff_t ldc);

void pb_sgemm_reference(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                        const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta,
                        float *c, ptrdiff_t ldc);

extern const pb_blocking pb_blocking_avx2;
extern const pb_blocking pb_blocking_avx512;

#endif
