// Packing and the cache-blocked loops shared by the vector paths (see Blocked.h).
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>
#include "Blocked.h"

#pragma STDC FP_CONTRACT OFF

/// op(A)[i0 ..< i0+mc][p0 ..< p0+kc] into MR-row panels, p-major inside a panel, alpha applied;
/// rows past mc are zero. Element by element: for a path without vector packing (packA) or a row
/// stride too long for its gather.
static void pack_a(int mr, int transA, const float *a, ptrdiff_t lda, ptrdiff_t i0, ptrdiff_t mc, ptrdiff_t p0,
                   ptrdiff_t kc, float alpha, float *out) {
    for (ptrdiff_t ir = 0; ir < mc; ir += mr) {
        const ptrdiff_t rows = mc - ir < mr ? mc - ir : mr;
        float *panel = out + ir * kc;
        if (transA) {
            // op(A)[i][p] = a[p][i]: each p reads `rows` contiguous values.
            for (ptrdiff_t p = 0; p < kc; p++) {
                const float *src = a + (p0 + p) * lda + i0 + ir;
                float *dst = panel + p * mr;
                for (ptrdiff_t r = 0; r < rows; r++) dst[r] = src[r];
                for (ptrdiff_t r = rows; r < mr; r++) dst[r] = 0.0f;
            }
        } else {
            for (ptrdiff_t r = 0; r < rows; r++) {
                const float *src = a + (i0 + ir + r) * lda + p0;
                for (ptrdiff_t p = 0; p < kc; p++) panel[p * mr + r] = src[p];
            }
            for (ptrdiff_t r = rows; r < mr; r++)
                for (ptrdiff_t p = 0; p < kc; p++) panel[p * mr + r] = 0.0f;
        }
        if (alpha != 1.0f)
            for (ptrdiff_t q = 0; q < kc * mr; q++) panel[q] = alpha * panel[q];
    }
}

/// op(B)[p0 ..< p0+kc][j0 ..< j0+nc] into NR-column panels, p-major inside a panel; columns
/// past nc are zero. Element by element, as pack_a.
static void pack_b(int nr, int transB, const float *b, ptrdiff_t ldb, ptrdiff_t p0, ptrdiff_t kc, ptrdiff_t j0,
                   ptrdiff_t nc, float *out) {
    for (ptrdiff_t jr = 0; jr < nc; jr += nr) {
        const ptrdiff_t cols = nc - jr < nr ? nc - jr : nr;
        float *panel = out + jr * kc;
        if (transB) {
            // op(B)[p][j] = b[j][p]: each column reads kc contiguous values.
            for (ptrdiff_t col = 0; col < cols; col++) {
                const float *src = b + (j0 + jr + col) * ldb + p0;
                for (ptrdiff_t p = 0; p < kc; p++) panel[p * nr + col] = src[p];
            }
            for (ptrdiff_t col = cols; col < nr; col++)
                for (ptrdiff_t p = 0; p < kc; p++) panel[p * nr + col] = 0.0f;
        } else {
            for (ptrdiff_t p = 0; p < kc; p++) {
                const float *src = b + (p0 + p) * ldb + j0 + jr;
                float *dst = panel + p * nr;
                for (ptrdiff_t col = 0; col < cols; col++) dst[col] = src[col];
                for (ptrdiff_t col = cols; col < nr; col++) dst[col] = 0.0f;
            }
        }
    }
}

/// Packing space of the calling thread, grown on demand and kept (callers are a few long-lived
/// worker threads).
static _Thread_local float *scratch;
static _Thread_local size_t scratchCount;

static float *scratch_floats(size_t count) {
    if (count > scratchCount) {
        free(scratch);
        const size_t bytes = (count * sizeof(float) + 63) & ~(size_t)63;
        scratch = aligned_alloc(64, bytes);
        if (!scratch) abort();
        scratchCount = bytes / sizeof(float);
    }
    return scratch;
}

/// A gather's lane offsets are 32-bit element counts: 16 rows `ld` apart stay in range up to
/// ld = 2²⁶ (15·2²⁶ < 2³¹).
static int gather_offsets_fit(ptrdiff_t ld) { return ld <= ((ptrdiff_t)1 << 26); }

static ptrdiff_t round_up(ptrdiff_t x, ptrdiff_t to) { return (x + to - 1) / to * to; }
static ptrdiff_t min_d(ptrdiff_t x, ptrdiff_t y) { return x < y ? x : y; }

void pb_fill_rows(const float *rowInit, ptrdiff_t m, ptrdiff_t n, float *c, ptrdiff_t ldc) {
    for (ptrdiff_t i = 0; i < m; i++) memcpy(c + i * ldc, rowInit, (size_t)n * sizeof(float));
}

void pb_sgemm_blocked(const pb_blocking *blk, int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                      float alpha, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                      float beta, const float *rowInit, float *c, ptrdiff_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (rowInit) beta = 1.0f;  // C's rows are rowInit, written just before the first K block reads them
    // acc₀ = beta·C is formed here once, so every K block below starts from 0 or from C.
    if (beta != 0.0f && beta != 1.0f)
        for (ptrdiff_t i = 0; i < m; i++)
            for (ptrdiff_t j = 0; j < n; j++) c[i * ldc + j] = beta * c[i * ldc + j];
    if (k <= 0 || alpha == 0.0f) {
        if (rowInit) pb_fill_rows(rowInit, m, n, c, ldc);
        else if (beta == 0.0f)
            for (ptrdiff_t i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    // A few rows of C: a padded 14- (6-) row tile would mostly compute padding, and packing a
    // transposed B would cost more than the product (SelfPatch's one-query aggregation is 1×64·64×5).
    // (It gathers a transposed B's columns.)
    if (blk->small && (m <= blk->smallRows || (transB && m <= blk->smallRowsTransposedB)) &&
        (!transB || gather_offsets_fit(ldb))) {
        if (rowInit) pb_fill_rows(rowInit, m, n, c, ldc);
        blk->small(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta == 0.0f, c, ldc);
        return;
    }
    const int mr = blk->mr, nr = blk->nr;
    const ptrdiff_t kcMax = min_d(blk->kc, k);
    const ptrdiff_t mcMax = min_d(blk->mc, round_up(m, mr));
    const ptrdiff_t ncMax = min_d(blk->nc, round_up(n, nr));
    float *packedB = scratch_floats((size_t)(kcMax * ncMax + kcMax * mcMax));
    float *packedA = packedB + kcMax * ncMax;
    // A is read in place when alpha needs no folding and its row stride is not a multiple of
    // 4 KiB (rows that far apart collide in the cache's sets: packed then, as B below). A wide
    // op(A) = Aᵀ (a weight gradient, K = tokens) is packed where the path says so: each packed
    // block then serves more than two column strips of C, and its columns are 14 scattered
    // values per p in place.
    const int wideTransposedA = transA && blk->packWideTransposedA && m > blk->mc && n > 2 * blk->nr;
    const int direct = alpha == 1.0f && lda % 1024 != 0 && !wideTransposedA &&
                       (transA ? blk->columnsKernel != 0 : blk->rowsKernel != 0);
    // B in place saves its packing, but its strip's rows, ldb apart, share few cache sets and
    // every row tile of C re-reads the strip: past a few tiles the packed panel is faster.
    const int directB = blk->directB && !transB && m <= blk->directBMaxRows;
    // The path's vector packing, where it has one and its gathers reach every row.
    const int vectorPackA = blk->packA && (transA || gather_offsets_fit(lda));
    const int vectorPackB = blk->packB && (!transB || gather_offsets_fit(ldb));
    for (ptrdiff_t j0 = 0; j0 < n; j0 += blk->nc) {
        const ptrdiff_t nc = min_d(blk->nc, n - j0);
        for (ptrdiff_t p0 = 0; p0 < k; p0 += blk->kc) {
            const ptrdiff_t kc = min_d(blk->kc, k - p0);
            const int zeroInit = p0 == 0 && beta == 0.0f;
            // Full strips of op(B) = B are read in place (a 4 KiB-multiple row stride would make
            // a strip's rows collide in the cache: packed then); the rest is packed.
            const ptrdiff_t inPlace = (directB && ldb % 1024 != 0) ? nc / nr * nr : 0;
            if (inPlace < nc) {
                if (vectorPackB) blk->packB(transB, b, ldb, p0, kc, j0 + inPlace, nc - inPlace, packedB + inPlace * kc);
                else pack_b(nr, transB, b, ldb, p0, kc, j0 + inPlace, nc - inPlace, packedB + inPlace * kc);
            }
            for (ptrdiff_t i0 = 0; i0 < m; i0 += blk->mc) {
                const ptrdiff_t mc = min_d(blk->mc, m - i0);
                // Full tiles read A in place when they can; the rest is packed.
                const ptrdiff_t unpacked = direct ? mc / mr * mr : 0;
                if (unpacked < mc) {
                    if (vectorPackA) blk->packA(transA, a, lda, i0 + unpacked, mc - unpacked, p0, kc, alpha,
                                                packedA + unpacked * kc);
                    else pack_a(mr, transA, a, lda, i0 + unpacked, mc - unpacked, p0, kc, alpha, packedA + unpacked * kc);
                }
                for (ptrdiff_t jr = 0; jr < nc; jr += nr) {
                    const int cols = (int)min_d(nr, nc - jr);
                    const float *bPanel = jr < inPlace ? b + p0 * ldb + j0 + jr : packedB + jr * kc;
                    const ptrdiff_t bStride = jr < inPlace ? ldb : nr;
                    const int narrow = blk->narrow && cols <= nr / 2;
                    const pb_micro_kernel kernel = narrow ? blk->narrow : blk->kernel;
                    const pb_direct_kernel directKernel = transA ? (narrow ? blk->columnsNarrow : blk->columnsKernel)
                                                                 : (narrow ? blk->rowsNarrow : blk->rowsKernel);
                    for (ptrdiff_t ir = 0; ir < mc; ir += mr) {
                        const int rows = (int)min_d(mr, mc - ir);
                        // The next tile's C rows are far apart (a stride the hardware prefetcher
                        // does not follow): fetch them while this tile computes.
                        if (ir + mr < mc) {
                            const int next = (int)min_d(mr, mc - ir - mr);
                            const float *row = c + (i0 + ir + mr) * ldc + j0 + jr;
                            for (int r = 0; r < next; r++) {
                                _mm_prefetch((const char *)(row + r * ldc), _MM_HINT_T0);
                                _mm_prefetch((const char *)(row + r * ldc + cols - 1), _MM_HINT_T0);
                            }
                        }
                        float *tile = c + (i0 + ir) * ldc + j0 + jr;
                        // The tile's start, written while it is about to be read (from L1), not in
                        // a pass over the whole of C beforehand.
                        if (rowInit && p0 == 0)
                            for (int r = 0; r < rows; r++)
                                memcpy(tile + r * ldc, rowInit + j0 + jr, (size_t)cols * sizeof(float));
                        if (ir < unpacked) {
                            const float *at = transA ? a + p0 * lda + i0 + ir : a + (i0 + ir) * lda + p0;
                            directKernel(kc, at, lda, bPanel, bStride, tile, ldc, cols, zeroInit);
                        } else {
                            kernel(kc, packedA + ir * kc, bPanel, bStride, tile, ldc, rows, cols, zeroInit);
                        }
                    }
                }
            }
        }
    }
}
