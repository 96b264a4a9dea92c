// The register tile both vector paths share (internal to FixedOrderGEMM). A path defines its
// vector type and operations, then includes this header inside its kernel bodies:
//   PB_VEC, PB_LANES (floats per vector), PB_MASK (edge-lane mask type), PB_MASK_OF(count),
//   PB_ZERO(), PB_LOAD(p), PB_MASKLOAD(p, mask), PB_MASKSTORE(p, mask, v), PB_BROADCAST(p),
//   PB_FMA(a, b, acc), PB_MR (tile rows); for the small-product kernel also PB_INDEX (lane
//   offsets), PB_INDEX_OF(stride) (lane l → l·stride) and PB_GATHER(base, index, mask); for
//   the packing also PB_NR.
// PB_TILE(NV, A, NEXT_A) computes one tile of PB_MR rows × NV vectors of columns: every lane
// runs one output element's fma chain over p, in ascending p; A(r) is row r's value of op(A)
// at the current p and NEXT_A moves to the next p; B's row p starts at bp and steps by bstride.
// Rows ≥ mr and columns ≥ nr are computed on padding and never read or written in C.
#ifndef PATCHBENCH_FIXED_ORDER_GEMM_TILE_H
#define PATCHBENCH_FIXED_ORDER_GEMM_TILE_H

#define PB_TILE(NV, A, NEXT_A)                                                                   \
    const PB_MASK mask[2] = {PB_MASK_OF(nr), PB_MASK_OF(nr - PB_LANES)};                         \
    PB_VEC acc[PB_MR][NV];                                                                       \
    _Pragma("clang loop unroll(full)")                                                           \
    for (int r = 0; r < PB_MR; r++)                                                              \
        _Pragma("clang loop unroll(full)")                                                       \
        for (int v = 0; v < NV; v++)                                                             \
            acc[r][v] = (zeroInit || r >= mr) ? PB_ZERO() : PB_MASKLOAD(c + r * ldc + PB_LANES * v, mask[v]); \
    for (ptrdiff_t p = 0; p < kc; p++) {                                                         \
        PB_VEC bv[NV];                                                                           \
        _Pragma("clang loop unroll(full)")                                                       \
        for (int v = 0; v < NV; v++) bv[v] = PB_LOAD(bp + PB_LANES * v);                         \
        _Pragma("clang loop unroll(full)")                                                       \
        for (int r = 0; r < PB_MR; r++) {                                                        \
            const PB_VEC av = PB_BROADCAST(&A(r));                                               \
            _Pragma("clang loop unroll(full)")                                                   \
            for (int v = 0; v < NV; v++) acc[r][v] = PB_FMA(av, bv[v], acc[r][v]);               \
        }                                                                                        \
        NEXT_A;                                                                                  \
        bp += bstride;                                                                           \
    }                                                                                            \
    _Pragma("clang loop unroll(full)")                                                           \
    for (int r = 0; r < PB_MR; r++)                                                              \
        if (r < mr)                                                                              \
            _Pragma("clang loop unroll(full)")                                                   \
            for (int v = 0; v < NV; v++) PB_MASKSTORE(c + r * ldc + PB_LANES * v, mask[v], acc[r][v]);

// Where A comes from: packed MR-value groups, rows of op(A) = A, or columns of op(A) = Aᵀ.
#define PB_PACKED_A(r) ap[r]
#define PB_PACKED_NEXT ap += PB_MR
#define PB_ROWS_A(r) ap[(r) * lda]
#define PB_ROWS_NEXT ap += 1
#define PB_COLUMNS_A(r) ap[r]
#define PB_COLUMNS_NEXT ap += lda

// Kernel definitions: NAME(…) with the signatures of Blocked.h, compiled for TARGET.
#define PB_PACKED_KERNEL(NAME, NV, TARGET)                                                        \
    __attribute__((target(TARGET))) static void NAME(ptrdiff_t kc, const float *ap, const float *bp,       \
                                                     ptrdiff_t bstride, float *c, ptrdiff_t ldc, int mr,   \
                                                     int nr, int zeroInit) {                              \
        PB_TILE(NV, PB_PACKED_A, PB_PACKED_NEXT)                                                  \
    }
#define PB_DIRECT_KERNEL(NAME, NV, TARGET, A, NEXT_A)                                             \
    __attribute__((target(TARGET))) static void NAME(ptrdiff_t kc, const float *ap, ptrdiff_t lda,         \
                                                     const float *bp, ptrdiff_t bstride, float *c,        \
                                                     ptrdiff_t ldc, int nr, int zeroInit) {               \
        const int mr = PB_MR;                                                                     \
        PB_TILE(NV, A, NEXT_A)                                                                    \
    }

// Small products (PB_SMALL_KERNEL): nothing packed, no padded tile. Each group of up to
// PB_SMALL_ROWS rows of C runs one vector of PB_LANES columns at a time, one accumulator per
// row (independent fma chains, so the fma latency overlaps), over ascending p; op(B)'s row p is
// loaded from B (masked) or, for op(B) = Bᵀ, gathered from its columns. a′ = alpha·op(A) is
// formed per element (alpha == 1 leaves every value, NaN and −0 included, unchanged), as the
// packing of A does. zeroInit: the chains start from 0 (beta == 0) or from C.
#define PB_SMALL_ROWS 4
#define PB_SMALL_KERNEL(NAME, TARGET)                                                             \
    __attribute__((target(TARGET))) static void NAME(int transA, int transB, ptrdiff_t m, ptrdiff_t n,      \
                                                     ptrdiff_t k, float alpha, const float *a, ptrdiff_t lda, \
                                                     const float *b, ptrdiff_t ldb, int zeroInit, float *c,  \
                                                     ptrdiff_t ldc) {                                       \
        const ptrdiff_t aRow = transA ? 1 : lda, aStep = transA ? lda : 1;                        \
        const PB_INDEX index = PB_INDEX_OF(transB ? ldb : 0);                                     \
        for (ptrdiff_t j0 = 0; j0 < n; j0 += PB_LANES) {                                          \
            const int cols = (int)(n - j0 < PB_LANES ? n - j0 : PB_LANES);                        \
            const PB_MASK mask = PB_MASK_OF(cols);                                                \
            for (ptrdiff_t i0 = 0; i0 < m; i0 += PB_SMALL_ROWS) {                                 \
                const int rows = (int)(m - i0 < PB_SMALL_ROWS ? m - i0 : PB_SMALL_ROWS);          \
                const float *ar[PB_SMALL_ROWS];                                                   \
                PB_VEC acc[PB_SMALL_ROWS];                                                        \
                _Pragma("clang loop unroll(full)")                                                \
                for (int r = 0; r < PB_SMALL_ROWS; r++) {                                         \
                    /* Rows past m repeat the last row's A and are never stored. */               \
                    ar[r] = a + (i0 + (r < rows ? r : rows - 1)) * aRow;                          \
                    acc[r] = (zeroInit || r >= rows) ? PB_ZERO() : PB_MASKLOAD(c + (i0 + r) * ldc + j0, mask); \
                }                                                                                 \
                for (ptrdiff_t p = 0; p < k; p++) {                                               \
                    const PB_VEC bv = transB ? PB_GATHER(b + j0 * ldb + p, index, mask)           \
                                             : PB_MASKLOAD(b + p * ldb + j0, mask);               \
                    _Pragma("clang loop unroll(full)")                                            \
                    for (int r = 0; r < PB_SMALL_ROWS; r++) {                                     \
                        const float scaled = alpha * ar[r][p * aStep];                            \
                        acc[r] = PB_FMA(PB_BROADCAST(&scaled), bv, acc[r]);                       \
                    }                                                                             \
                }                                                                                 \
                for (int r = 0; r < rows; r++) PB_MASKSTORE(c + (i0 + r) * ldc + j0, mask, acc[r]); \
            }                                                                                     \
        }                                                                                         \
    }

// Packing (PB_PACKERS): op(A) into PB_MR-row panels and op(B) into PB_NR-column panels, p-major
// inside a panel, with the signatures of Blocked.h. Values are only moved, never computed on,
// except for A's alpha (a′ = alpha·a, as the element-wise packing forms it): packing cannot
// change a bit. One K block of an operand becomes panels of WIDTH values per p, zero past
// `extent`, in one of two ways:
// - PB_PACK_ROWS: p's values lie along one row of memory (at src + p·ld): that row is read once,
//   in order, and dealt out WIDTH values to each panel (masked loads).
// - PB_PACK_GATHERED: they lie across rows (value j at src + j·ld + p): each panel's row is a
//   gather, whose 32-bit lane offsets need ld ≤ 2²⁶ (Blocked.c, gather_offsets_fit; element copies otherwise).
#define PB_PACK_VECTORS(COUNT) (((COUNT) + PB_LANES - 1) / PB_LANES)
#define PB_PACK_ROWS(WIDTH, src, ld, kc, extent, out)                                             \
    for (ptrdiff_t p = 0; p < kc; p++)                                                            \
        for (ptrdiff_t j = 0; j < extent; j += WIDTH) {                                           \
            const int have = (int)(extent - j < WIDTH ? extent - j : WIDTH);                      \
            _Pragma("clang loop unroll(full)")                                                    \
            for (int v = 0; v < PB_PACK_VECTORS(WIDTH); v++)                                      \
                PB_MASKSTORE(out + j * kc + p * WIDTH + PB_LANES * v, PB_MASK_OF(WIDTH - PB_LANES * v), \
                             PB_MASKLOAD(src + p * ld + j + PB_LANES * v, PB_MASK_OF(have - PB_LANES * v))); \
        }
#define PB_PACK_GATHERED(WIDTH, src, ld, kc, extent, out)                                         \
    for (ptrdiff_t j = 0; j < extent; j += WIDTH) {                                               \
        const int have = (int)(extent - j < WIDTH ? extent - j : WIDTH);                          \
        const PB_INDEX index = PB_INDEX_OF(ld);                                                   \
        _Pragma("clang loop unroll(full)")                                                        \
        for (int v = 0; v < PB_PACK_VECTORS(WIDTH); v++) {                                        \
            const PB_MASK mask = PB_MASK_OF(have - PB_LANES * v), fill = PB_MASK_OF(WIDTH - PB_LANES * v); \
            for (ptrdiff_t p = 0; p < kc; p++)                                                    \
                PB_MASKSTORE(out + j * kc + p * WIDTH + PB_LANES * v, fill,                       \
                             PB_GATHER(src + (j + PB_LANES * v) * ld + p, index, mask));          \
        }                                                                                         \
    }
#define PB_PACKERS(PACK_A, PACK_B, TARGET)                                                        \
    __attribute__((target(TARGET))) static void PACK_A(int transA, const float *a, ptrdiff_t lda, ptrdiff_t i0, \
                                                       ptrdiff_t mc, ptrdiff_t p0, ptrdiff_t kc, float alpha, \
                                                       float *out) {                                       \
        /* op(A)[i][p] = a[p][i] lies along A's rows; op(A) = A across them. */                   \
        if (transA) {                                                                             \
            PB_PACK_ROWS(PB_MR, (a + p0 * lda + i0), lda, kc, mc, out)                            \
        } else {                                                                                  \
            PB_PACK_GATHERED(PB_MR, (a + i0 * lda + p0), lda, kc, mc, out)                        \
        }                                                                                         \
        if (alpha != 1.0f)                                                                        \
            for (ptrdiff_t q = 0; q < (mc + PB_MR - 1) / PB_MR * PB_MR * kc; q++) out[q] = alpha * out[q]; \
    }                                                                                             \
    __attribute__((target(TARGET))) static void PACK_B(int transB, const float *b, ptrdiff_t ldb, ptrdiff_t p0, \
                                                       ptrdiff_t kc, ptrdiff_t j0, ptrdiff_t nc, float *out) { \
        /* op(B) = B lies along B's rows; op(B)[p][j] = b[j][p] across them. */                   \
        if (!transB) {                                                                            \
            PB_PACK_ROWS(PB_NR, (b + p0 * ldb + j0), ldb, kc, nc, out)                            \
        } else {                                                                                  \
            PB_PACK_GATHERED(PB_NR, (b + j0 * ldb + p0), ldb, kc, nc, out)                        \
        }                                                                                         \
    }

#endif
